// Framing untrusted text (repository files, patches, tool output) inside a
// prompt so the model can tell it from instructions: each block is enclosed
// in markers whose id does not occur in the block, so the text cannot close
// its own frame.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_UNTRUSTED_TEXT_H_
#define AUTOPACK_SERVICES_COMMON_LLM_UNTRUSTED_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace autopack::llm {

// The sentence a system prompt includes so the frames mean something.
extern const char kUntrustedDataRule[];

// "<<<BEGIN DATA id label>>>\ncontent\n<<<END DATA id>>>\n". Deterministic
// for a given input, so retried requests are identical.
std::string FrameUntrusted(absl::string_view label, absl::string_view content);

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_UNTRUSTED_TEXT_H_
