#include "services/common/llm/phase_prompt.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace autopack::llm {

std::string PhasePromptSection(const v1::PhaseSpec& phase) {
  std::string text = absl::StrCat("## Phase ", phase.phase_id(), ": ", phase.name(), "\n",
                                  phase.description(), "\n");
  if (phase.acceptance_criteria_size() > 0) {
    absl::StrAppend(&text, "\n## Acceptance criteria\n");
    for (const std::string& criterion : phase.acceptance_criteria()) {
      absl::StrAppend(&text, "- ", criterion, "\n");
    }
  }
  absl::StrAppend(&text, "\n## Allowed paths\n",
                  phase.allowed_paths_size() == 0 ? "any"
                                                  : absl::StrJoin(phase.allowed_paths(), ", "),
                  "\n");
  return text;
}

}  // namespace autopack::llm
