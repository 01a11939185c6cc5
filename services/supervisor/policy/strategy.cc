#include "services/supervisor/policy/strategy.h"

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"

namespace autopack::policy {
namespace {

absl::StatusOr<int64_t> NonNegativeInt(const ConfigNode& map, absl::string_view key,
                                       int64_t min_value) {
  ASSIGN_OR_RETURN(ConfigNode node, map.Get(key));
  ASSIGN_OR_RETURN(int64_t value, node.AsInt());
  if (value < min_value) {
    return node.Error(absl::StrCat("must be at least ", min_value, ", got ", value));
  }
  return value;
}

absl::StatusOr<SafetyPolicy> ParseSafety(const ConfigNode& profiles, absl::string_view name) {
  ASSIGN_OR_RETURN(ConfigNode node, profiles.Get(name));
  RETURN_IF_ERROR(node.CheckKeys(
      {"allow_model_step_down", "min_output_tokens", "high_risk_requires_human_review"}));
  SafetyPolicy policy;
  policy.name = std::string(name);
  ASSIGN_OR_RETURN(policy.allow_model_step_down, node.GetBool("allow_model_step_down", false));
  ASSIGN_OR_RETURN(policy.min_output_tokens, NonNegativeInt(node, "min_output_tokens", 1));
  ASSIGN_OR_RETURN(policy.high_risk_requires_human_review,
                   node.GetBool("high_risk_requires_human_review", false));
  return policy;
}

}  // namespace

absl::StatusOr<Strategy> Strategy::FromConfig(const ConfigNode& root) {
  RETURN_IF_ERROR(
      root.CheckKeys({"default_category", "categories", "safety_profiles", "protected_paths"}));
  Strategy strategy;

  ASSIGN_OR_RETURN(ConfigNode paths, root.Get("protected_paths"));
  ASSIGN_OR_RETURN(auto path_entries, paths.Entries());
  for (const auto& [profile, list] : path_entries) {
    ASSIGN_OR_RETURN(strategy.protected_paths_[profile], list.AsStringList());
  }
  for (absl::string_view required : {"normal", "strict"}) {
    if (strategy.protected_paths_.count(std::string(required)) == 0) {
      return paths.Error(absl::StrCat("check profile '", required, "' has no entry"));
    }
  }

  ASSIGN_OR_RETURN(ConfigNode categories, root.Get("categories"));
  ASSIGN_OR_RETURN(auto category_entries, categories.Entries());
  if (category_entries.empty()) return categories.Error("no categories defined");
  for (const auto& [name, node] : category_entries) {
    RETURN_IF_ERROR(node.CheckKeys({"high_risk", "max_attempts", "check_profile", "auto_apply",
                                    "auditor_profile", "phase_token_cap",
                                    "allow_model_step_down"}));
    CategoryStrategy category;
    category.name = name;
    ASSIGN_OR_RETURN(category.high_risk, node.GetBool("high_risk", false));
    ASSIGN_OR_RETURN(int64_t attempts, NonNegativeInt(node, "max_attempts", 1));
    if (attempts > 100) {
      ASSIGN_OR_RETURN(ConfigNode at, node.Get("max_attempts"));
      return at.Error(absl::StrCat("at most 100 attempts, got ", attempts));
    }
    category.max_attempts = static_cast<int32_t>(attempts);
    ASSIGN_OR_RETURN(ConfigNode check, node.Get("check_profile"));
    ASSIGN_OR_RETURN(category.check_profile, check.AsString());
    if (strategy.protected_paths_.count(category.check_profile) == 0) {
      return check.Error(absl::StrCat("unknown check profile '", category.check_profile,
                                      "' (no entry under protected_paths)"));
    }
    ASSIGN_OR_RETURN(category.auto_apply, node.GetBool("auto_apply", true));
    ASSIGN_OR_RETURN(ConfigNode auditor, node.Get("auditor_profile"));
    ASSIGN_OR_RETURN(category.auditor_profile, auditor.AsString());
    if (category.auditor_profile.empty()) return auditor.Error("must not be empty");
    ASSIGN_OR_RETURN(category.phase_token_cap, NonNegativeInt(node, "phase_token_cap", 0));
    ASSIGN_OR_RETURN(category.allow_model_step_down,
                     node.GetBool("allow_model_step_down", !category.high_risk));
    strategy.categories_[name] = category;
  }

  ASSIGN_OR_RETURN(ConfigNode default_node, root.Get("default_category"));
  ASSIGN_OR_RETURN(strategy.default_category_, default_node.AsString());
  if (strategy.categories_.count(strategy.default_category_) == 0) {
    return default_node.Error(absl::StrCat("category '", strategy.default_category_,
                                           "' has no strategy under categories"));
  }

  ASSIGN_OR_RETURN(ConfigNode profiles, root.Get("safety_profiles"));
  RETURN_IF_ERROR(profiles.CheckKeys({"normal", "safety_critical"}));
  ASSIGN_OR_RETURN(strategy.normal_, ParseSafety(profiles, "normal"));
  ASSIGN_OR_RETURN(strategy.safety_critical_, ParseSafety(profiles, "safety_critical"));
  return strategy;
}

absl::StatusOr<Strategy> Strategy::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return FromConfig(root);
}

bool Strategy::Has(absl::string_view category) const {
  return categories_.count(std::string(category)) > 0;
}

ResolvedCategory Strategy::Resolve(absl::string_view category) const {
  ResolvedCategory resolved;
  auto it = categories_.find(std::string(category));
  if (it != categories_.end()) {
    resolved.strategy = &it->second;
    resolved.rationale = absl::StrCat("category '", category, "'",
                                      it->second.high_risk ? " (high-risk)" : "");
    return resolved;
  }
  const CategoryStrategy& fallback = categories_.at(default_category_);
  resolved.strategy = &fallback;
  resolved.defaulted = true;
  resolved.rationale =
      category.empty()
          ? absl::StrCat("no category given; using the default '", default_category_, "'")
          : absl::StrCat("category '", category, "' is not in strategy.yaml; using the default '",
                         default_category_, "'");
  if (fallback.high_risk) absl::StrAppend(&resolved.rationale, " (high-risk)");
  return resolved;
}

std::vector<std::string> Strategy::Categories() const {
  std::vector<std::string> out;
  for (const auto& entry : categories_) out.push_back(entry.first);
  return out;
}

const SafetyPolicy& Strategy::Safety(v1::SafetyProfile profile) const {
  return profile == v1::SAFETY_PROFILE_SAFETY_CRITICAL ? safety_critical_ : normal_;
}

bool Strategy::AllowsStepDown(const CategoryStrategy& category,
                              v1::SafetyProfile profile) const {
  return category.allow_model_step_down && Safety(profile).allow_model_step_down;
}

const std::vector<std::string>& Strategy::ProtectedPaths(absl::string_view check_profile) const {
  static const std::vector<std::string>& kNone = *new std::vector<std::string>();
  auto it = protected_paths_.find(std::string(check_profile));
  return it == protected_paths_.end() ? kNone : it->second;
}

}  // namespace autopack::policy
