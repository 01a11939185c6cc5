// How a phase is described to every model (Builder and Auditor alike): id,
// name, description, acceptance criteria and allowed paths.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_PHASE_PROMPT_H_
#define AUTOPACK_SERVICES_COMMON_LLM_PHASE_PROMPT_H_

#include <string>

#include "autopack/v1/common.pb.h"

namespace autopack::llm {

// Markdown sections "## Phase ...", "## Acceptance criteria", "## Allowed paths".
std::string PhasePromptSection(const v1::PhaseSpec& phase);

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_PHASE_PROMPT_H_
