// Worst case of a run before it starts, for the PreviewRun RPC: the models of
// each phase's first attempt and the tokens and cost if every attempt (with
// its escalated builder) used its full call limits, each clamped to its
// model's maximum. Calls no model.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_POLICY_PREVIEW_H_
#define AUTOPACK_SERVICES_SUPERVISOR_POLICY_PREVIEW_H_

#include "absl/status/statusor.h"
#include "autopack/v1/supervisor.pb.h"
#include "services/supervisor/policy/policy_config.h"

namespace autopack::policy {

// INVALID_ARGUMENT naming the field for specs the ledger could not take
// (negative caps, duplicate ids, unspecified complexity).
absl::StatusOr<v1::PreviewRunResponse> PreviewRun(const v1::RunSpec& spec,
                                                  const PolicyConfig& config);

// INVALID_ARGUMENT naming the phase, role, model and numbers when a call some
// attempt of a phase may make (any escalation rung, any fallback) cannot fit
// its model's context window: call_limits' estimated_input_tokens, plus the
// phase's own text at one token per byte, plus the call's output limit. The
// Supervisor refuses such a plan at CreateRun and PreviewRun. Errors of model
// selection are returned as they are.
absl::Status CheckContextWindows(const v1::RunSpec& spec, const PolicyConfig& config);

}  // namespace autopack::policy

#endif  // AUTOPACK_SERVICES_SUPERVISOR_POLICY_PREVIEW_H_
