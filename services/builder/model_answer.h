// What the Builder does with a model's answer beyond the edit itself:
// splitting off the summary, and refusing added lines that are not code (a
// placeholder for elided code, a merge-conflict marker).
#ifndef AUTOPACK_SERVICES_BUILDER_MODEL_ANSWER_H_
#define AUTOPACK_SERVICES_BUILDER_MODEL_ANSWER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/common/patch/patch.h"

namespace autopack::builder {

// INVALID_ARGUMENT naming file and line for an added line that is a
// placeholder ("...", "// ... existing code ...") or a merge-conflict marker.
absl::Status ValidateAddedLines(const patch::Patch& patch);

struct ModelAnswer {
  std::string summary;
  std::string diff;  // "" when the answer has none
};

// Splits a model's unified-diff answer into its summary ("Summary: ..." line,
// else the first line of prose) and its diff (the first ```diff / ```patch /
// ``` fence that holds one, else everything from the first diff header on).
ModelAnswer SplitModelAnswer(absl::string_view answer);

// The "Summary: ..." line of an answer, else its first line of prose.
std::string AnswerSummary(absl::string_view answer);

}  // namespace autopack::builder

#endif  // AUTOPACK_SERVICES_BUILDER_MODEL_ANSWER_H_
