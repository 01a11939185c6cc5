// All of the supervisor's policy files, loaded and cross-checked together:
// pricing.yaml, strategy.yaml, models.yaml and (when present) providers.yaml.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_POLICY_POLICY_CONFIG_H_
#define AUTOPACK_SERVICES_SUPERVISOR_POLICY_POLICY_CONFIG_H_

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "services/common/config.h"
#include "services/common/pricing.h"
#include "services/supervisor/policy/models_config.h"
#include "services/supervisor/policy/strategy.h"

namespace autopack::policy {

struct PolicyConfig {
  PriceTable prices;
  Strategy strategy;
  ModelsConfig models;
  // Keys of providers.yaml; empty when that file was not given.
  std::set<std::string> providers;

  // Loads DIR/pricing.yaml, DIR/strategy.yaml, DIR/models.yaml and, if it
  // exists, DIR/providers.yaml. Errors name file, line and key.
  static absl::StatusOr<PolicyConfig> LoadDir(const std::string& dir);
  // The same from parsed documents; `providers` may be absent.
  static absl::StatusOr<PolicyConfig> FromConfig(const ConfigNode& pricing,
                                                 const ConfigNode& strategy,
                                                 const ConfigNode& models,
                                                 const absl::optional<ConfigNode>& providers);
};

// The output limit of a call of `role` ("builder" or "auditor") on `model`:
// models.yaml's call_limits for the role, clamped to the model's
// max_output_tokens in the catalog, so every request is one its provider
// accepts. Every place that chooses a limit asks this.
int64_t OutputLimit(const PolicyConfig& config, absl::string_view role, absl::string_view model);

}  // namespace autopack::policy

#endif  // AUTOPACK_SERVICES_SUPERVISOR_POLICY_POLICY_CONFIG_H_
