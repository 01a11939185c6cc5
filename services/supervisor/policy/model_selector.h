// Chooses the builder and auditor models of one attempt of a phase
// (DESIGN.md §3) and says why in a sentence a person can read.
//
// Order of rules: high-risk category -> high_risk_models; else the category's
// override (per role) or the complexity's models. Then escalation: after every
// `after_failed_attempts` failed attempts the builder moves one rung up the
// ladder (the auditor keeps its model: failures are the builder's to fix).
// Last, a model whose provider is unavailable is replaced by its first
// fallback whose provider is available. Each role's output limit is then
// clamped to its model's maximum.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_POLICY_MODEL_SELECTOR_H_
#define AUTOPACK_SERVICES_SUPERVISOR_POLICY_MODEL_SELECTOR_H_

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "autopack/v1/common.pb.h"
#include "services/supervisor/policy/policy_config.h"
#include "services/supervisor/policy/strategy.h"

namespace autopack::policy {

struct SelectionRequest {
  // Task category from the phase spec; unknown -> strategy's default.
  std::string category;
  v1::Complexity complexity = v1::COMPLEXITY_UNSPECIFIED;
  // Failed attempts of this phase so far (0 for the first attempt).
  int failed_attempts = 0;
  // Providers currently answering UNAVAILABLE (e.g. "openai").
  std::set<std::string> unavailable_providers;
};

struct Selection {
  std::string builder_model;
  std::string auditor_model;
  // Output limits of each role's call on its model (policy::OutputLimit).
  int64_t builder_output_limit = 0;
  int64_t auditor_output_limit = 0;
  ResolvedCategory category;
  // Ladder rungs the builder moved up.
  int escalation_steps = 0;
  std::string rationale;
};

class ModelSelector {
 public:
  // `config` must outlive the selector.
  explicit ModelSelector(const PolicyConfig& config) : config_(config) {}

  // INVALID_ARGUMENT for an unspecified complexity or negative attempts;
  // UNAVAILABLE when a chosen model and all its fallbacks are unavailable.
  absl::StatusOr<Selection> Select(const SelectionRequest& request) const;

 private:
  const PolicyConfig& config_;
};

}  // namespace autopack::policy

#endif  // AUTOPACK_SERVICES_SUPERVISOR_POLICY_MODEL_SELECTOR_H_
