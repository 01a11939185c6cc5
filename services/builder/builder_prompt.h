// The Builder's prompt: the phase, its acceptance criteria, the context files
// and what went wrong in earlier attempts, with all repository and tool text
// framed as untrusted data. The model is asked for a summary line and its
// change in the request's edit format (services/builder/edit_formats.h).
#ifndef AUTOPACK_SERVICES_BUILDER_BUILDER_PROMPT_H_
#define AUTOPACK_SERVICES_BUILDER_BUILDER_PROMPT_H_

#include "autopack/v1/builder.pb.h"
#include "services/common/llm/provider.h"

namespace autopack::builder {

// The request's edit format, SEARCH_REPLACE when unset.
v1::EditFormat EffectiveEditFormat(const v1::GeneratePatchRequest& request);

// System and user text plus the output limit; the model is left for the caller.
llm::CompletionRequest BuildPatchPrompt(const v1::GeneratePatchRequest& request);

}  // namespace autopack::builder

#endif  // AUTOPACK_SERVICES_BUILDER_BUILDER_PROMPT_H_
