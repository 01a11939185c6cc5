#include "services/supervisor/policy/policy_config.h"

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"

namespace autopack::policy {

absl::StatusOr<PolicyConfig> PolicyConfig::FromConfig(
    const ConfigNode& pricing, const ConfigNode& strategy, const ConfigNode& models,
    const absl::optional<ConfigNode>& providers) {
  ASSIGN_OR_RETURN(PriceTable prices, PriceTable::FromConfig(pricing));
  ASSIGN_OR_RETURN(Strategy parsed_strategy, Strategy::FromConfig(strategy));
  std::set<std::string> provider_names;
  if (providers.has_value()) {
    ASSIGN_OR_RETURN(ConfigNode list, providers->Get("providers"));
    ASSIGN_OR_RETURN(auto entries, list.Entries());
    for (const auto& entry : entries) provider_names.insert(entry.first);
  }
  ASSIGN_OR_RETURN(ModelsConfig parsed_models,
                   ModelsConfig::FromConfig(models, prices, parsed_strategy,
                                            providers.has_value() ? &provider_names : nullptr));
  return PolicyConfig{std::move(prices), std::move(parsed_strategy), std::move(parsed_models),
                      std::move(provider_names)};
}

int64_t OutputLimit(const PolicyConfig& config, absl::string_view role, absl::string_view model) {
  const CallLimits& call =
      role == "auditor" ? config.models.auditor_call() : config.models.builder_call();
  return config.prices.ClampOutput(model, call.max_output_tokens);
}

absl::StatusOr<PolicyConfig> PolicyConfig::LoadDir(const std::string& dir) {
  ASSIGN_OR_RETURN(ConfigNode pricing, ConfigNode::LoadFile(absl::StrCat(dir, "/pricing.yaml")));
  ASSIGN_OR_RETURN(ConfigNode strategy,
                   ConfigNode::LoadFile(absl::StrCat(dir, "/strategy.yaml")));
  ASSIGN_OR_RETURN(ConfigNode models, ConfigNode::LoadFile(absl::StrCat(dir, "/models.yaml")));
  absl::optional<ConfigNode> providers;
  absl::StatusOr<ConfigNode> loaded = ConfigNode::LoadFile(absl::StrCat(dir, "/providers.yaml"));
  if (loaded.ok()) {
    providers = *std::move(loaded);
  } else if (!absl::IsNotFound(loaded.status())) {
    return loaded.status();
  }
  return FromConfig(pricing, strategy, models, providers);
}

}  // namespace autopack::policy
