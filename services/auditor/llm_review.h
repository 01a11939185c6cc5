// The model's part of a review: its prompt (patch, context and check output
// framed as untrusted data), the JSON schema its answer must follow, and the
// validation of that answer into issues.
#ifndef AUTOPACK_SERVICES_AUDITOR_LLM_REVIEW_H_
#define AUTOPACK_SERVICES_AUDITOR_LLM_REVIEW_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "autopack/v1/auditor.pb.h"
#include "services/common/llm/provider.h"

namespace autopack::auditor {

// The structured-output schema: {summary, approve, issues[{severity:
// minor|major, category, path, line, message, suggestion}]}, every field
// required and nothing else allowed (what OpenAI's strict mode demands).
const nlohmann::json& ReviewSchema();

// System and user text, the schema and the output limit. `focus` is the
// profile's text; `static_issues` are shown so the model need not repeat them.
llm::CompletionRequest BuildReviewPrompt(const v1::ReviewPatchRequest& request,
                                         const std::string& focus,
                                         const std::vector<v1::Issue>& static_issues);

struct ModelReview {
  std::string summary;
  std::vector<v1::Issue> issues;  // source LLM, fingerprinted
};

// Validates the model's JSON against ReviewSchema(). INVALID_ARGUMENT naming
// the field at fault ("issues[1].severity: ...").
absl::StatusOr<ModelReview> ParseModelReview(const std::string& text);

}  // namespace autopack::auditor

#endif  // AUTOPACK_SERVICES_AUDITOR_LLM_REVIEW_H_
