#include "services/supervisor/policy/models_config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/status_macros.h"

namespace autopack::policy {
namespace {

struct Checker {
  const PriceTable& prices;
  const std::set<std::string>* providers;

  // Reads a model name and checks it is priced and its provider exists.
  absl::StatusOr<std::string> Model(const ConfigNode& node) const {
    ASSIGN_OR_RETURN(std::string model, node.AsString());
    return Check(node, model);
  }
  absl::StatusOr<std::string> Check(const ConfigNode& node, const std::string& model) const {
    if (model.find('/') == std::string::npos) {
      return node.Error(absl::StrCat("model '", model,
                                     "' must be provider/name, e.g. openai/gpt-4o"));
    }
    if (!prices.Has(model)) {
      return node.Error(absl::StrCat("model '", model, "' has no price in pricing.yaml"));
    }
    if (providers != nullptr && providers->count(ProviderOf(model)) == 0) {
      return node.Error(absl::StrCat("provider '", ProviderOf(model), "' of model '", model,
                                     "' is not in providers.yaml"));
    }
    return model;
  }

  // An auditor's answer is a JSON schema's object: a model without structured
  // output would be answered 400 by its provider.
  absl::Status CanAudit(const ConfigNode& node, const std::string& model) const {
    ASSIGN_OR_RETURN(ModelInfo info, prices.Info(model));
    if (!info.structured_output) {
      return node.Error(absl::StrCat("model '", model, "' may review patches but has no "
                                     "structured_output in pricing.yaml"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RoleModels> Roles(const ConfigNode& node, bool partial) const {
    RETURN_IF_ERROR(node.CheckKeys({"builder", "auditor"}));
    RoleModels roles;
    for (auto [key, out] : {std::make_pair("builder", &roles.builder),
                            std::make_pair("auditor", &roles.auditor)}) {
      absl::optional<ConfigNode> child = node.Find(key);
      if (!child.has_value()) {
        if (partial) continue;
        RETURN_IF_ERROR(node.Get(key).status());
      }
      ASSIGN_OR_RETURN(*out, Model(*child));
    }
    if (roles.builder.empty() && roles.auditor.empty()) {
      return node.Error("needs a builder or an auditor model");
    }
    if (!roles.auditor.empty()) RETURN_IF_ERROR(CanAudit(node, roles.auditor));
    return roles;
  }
};

absl::StatusOr<CallLimits> ParseCall(const ConfigNode& limits, absl::string_view role) {
  ASSIGN_OR_RETURN(ConfigNode node, limits.Get(role));
  RETURN_IF_ERROR(node.CheckKeys({"estimated_input_tokens", "max_output_tokens"}));
  CallLimits call;
  for (auto [key, out] : {std::make_pair("estimated_input_tokens", &call.estimated_input_tokens),
                          std::make_pair("max_output_tokens", &call.max_output_tokens)}) {
    ASSIGN_OR_RETURN(ConfigNode field, node.Get(key));
    ASSIGN_OR_RETURN(*out, field.AsInt());
    if (*out <= 0) return field.Error(absl::StrCat("must be positive, got ", *out));
  }
  return call;
}

}  // namespace

std::string ProviderOf(absl::string_view model) {
  return std::string(model.substr(0, model.find('/')));
}

absl::StatusOr<ModelsConfig> ModelsConfig::FromConfig(const ConfigNode& root,
                                                      const PriceTable& prices,
                                                      const Strategy& strategy,
                                                      const std::set<std::string>* providers) {
  RETURN_IF_ERROR(root.CheckKeys({"complexity_models", "category_overrides", "high_risk_models",
                                  "escalation", "fallbacks", "call_limits"}));
  const Checker check{prices, providers};
  ModelsConfig config;

  ASSIGN_OR_RETURN(ConfigNode complexity, root.Get("complexity_models"));
  RETURN_IF_ERROR(complexity.CheckKeys({"low", "medium", "high"}));
  for (auto [key, level] : {std::make_pair("low", v1::COMPLEXITY_LOW),
                            std::make_pair("medium", v1::COMPLEXITY_MEDIUM),
                            std::make_pair("high", v1::COMPLEXITY_HIGH)}) {
    ASSIGN_OR_RETURN(ConfigNode node, complexity.Get(key));
    ASSIGN_OR_RETURN(config.complexity_[level], check.Roles(node, /*partial=*/false));
  }

  if (absl::optional<ConfigNode> overrides = root.Find("category_overrides")) {
    ASSIGN_OR_RETURN(auto entries, overrides->Entries());
    for (const auto& [category, node] : entries) {
      if (!strategy.Has(category)) {
        return node.Error(absl::StrCat("category '", category, "' has no strategy in strategy.yaml"));
      }
      if (strategy.Resolve(category).strategy->high_risk) {
        return node.Error(absl::StrCat("category '", category,
                                       "' is high-risk and always gets high_risk_models"));
      }
      ASSIGN_OR_RETURN(config.overrides_[category], check.Roles(node, /*partial=*/true));
    }
  }

  ASSIGN_OR_RETURN(ConfigNode high_risk, root.Get("high_risk_models"));
  ASSIGN_OR_RETURN(config.high_risk_, check.Roles(high_risk, /*partial=*/false));

  for (const std::string& model : prices.Models()) {
    ASSIGN_OR_RETURN(ModelInfo info, prices.Info(model));
    config.reference_price_[model] =
        info.price.input_micro_usd_per_1m + info.price.output_micro_usd_per_1m;
  }

  ASSIGN_OR_RETURN(ConfigNode escalation, root.Get("escalation"));
  RETURN_IF_ERROR(escalation.CheckKeys({"after_failed_attempts", "ladder"}));
  ASSIGN_OR_RETURN(ConfigNode after, escalation.Get("after_failed_attempts"));
  ASSIGN_OR_RETURN(int64_t after_value, after.AsInt());
  if (after_value < 1 || after_value > 100) {
    return after.Error(absl::StrCat("must be between 1 and 100, got ", after_value));
  }
  config.escalate_after_ = static_cast<int32_t>(after_value);
  ASSIGN_OR_RETURN(ConfigNode ladder, escalation.Get("ladder"));
  ASSIGN_OR_RETURN(std::vector<ConfigNode> rungs, ladder.Items());
  if (rungs.empty()) return ladder.Error("needs at least one model");
  for (const ConfigNode& rung : rungs) {
    ASSIGN_OR_RETURN(std::string model, check.Model(rung));
    if (!config.ladder_.empty() &&
        config.reference_price_[model] <= config.reference_price_[config.ladder_.back()]) {
      return rung.Error(absl::StrCat("the ladder goes cheapest first, but '", model,
                                     "' does not cost more than '", config.ladder_.back(), "'"));
    }
    config.ladder_.push_back(model);
  }

  if (absl::optional<ConfigNode> fallbacks = root.Find("fallbacks")) {
    ASSIGN_OR_RETURN(auto entries, fallbacks->Entries());
    for (const auto& [model, node] : entries) {
      RETURN_IF_ERROR(check.Check(node, model).status());
      ASSIGN_OR_RETURN(std::vector<ConfigNode> items, node.Items());
      std::vector<std::string>& list = config.fallbacks_[model];
      for (const ConfigNode& item : items) {
        ASSIGN_OR_RETURN(std::string fallback, check.Model(item));
        if (ProviderOf(fallback) == ProviderOf(model)) {
          return item.Error(absl::StrCat("fallback '", fallback, "' has the same provider as '",
                                         model, "', so it is unavailable at the same time"));
        }
        list.push_back(fallback);
      }
    }
  }

  // A fallback stands in for its model in either role.
  std::set<std::string> auditors;
  for (const auto& [level, roles] : config.complexity_) auditors.insert(roles.auditor);
  for (const auto& [category, roles] : config.overrides_) {
    if (!roles.auditor.empty()) auditors.insert(roles.auditor);
  }
  auditors.insert(config.high_risk_.auditor);
  if (absl::optional<ConfigNode> fallbacks = root.Find("fallbacks")) {
    ASSIGN_OR_RETURN(auto entries, fallbacks->Entries());
    for (const auto& [model, node] : entries) {
      if (auditors.count(model) == 0) continue;
      for (const std::string& fallback : config.fallbacks_[model]) {
        RETURN_IF_ERROR(check.CanAudit(node, fallback));
      }
    }
  }

  ASSIGN_OR_RETURN(ConfigNode limits, root.Get("call_limits"));
  RETURN_IF_ERROR(limits.CheckKeys({"builder", "auditor"}));
  ASSIGN_OR_RETURN(config.builder_call_, ParseCall(limits, "builder"));
  ASSIGN_OR_RETURN(config.auditor_call_, ParseCall(limits, "auditor"));
  return config;
}

const RoleModels& ModelsConfig::ForComplexity(v1::Complexity complexity) const {
  return complexity_.at(complexity);
}

const RoleModels* ModelsConfig::OverrideFor(absl::string_view category) const {
  auto it = overrides_.find(std::string(category));
  return it == overrides_.end() ? nullptr : &it->second;
}

const std::vector<std::string>& ModelsConfig::FallbacksFor(absl::string_view model) const {
  static const std::vector<std::string>& kNone = *new std::vector<std::string>();
  auto it = fallbacks_.find(std::string(model));
  return it == fallbacks_.end() ? kNone : it->second;
}

int64_t ModelsConfig::ReferencePrice(absl::string_view model) const {
  auto it = reference_price_.find(std::string(model));
  return it == reference_price_.end() ? 0 : it->second;
}

std::vector<std::string> ModelsConfig::CheaperModels(absl::string_view model) const {
  const int64_t price = ReferencePrice(model);
  std::vector<std::string> out;
  for (auto it = ladder_.rbegin(); it != ladder_.rend(); ++it) {
    if (ReferencePrice(*it) < price) out.push_back(*it);
  }
  return out;
}

}  // namespace autopack::policy
