#include "cli/plan.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/pricing.h"
#include "services/common/status_macros.h"

namespace autopack::cli {
namespace {

absl::Status SetDuration(const ConfigNode& parent, absl::string_view key,
                         google::protobuf::Duration* out) {
  absl::optional<ConfigNode> node = parent.Find(key);
  if (!node.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string text, node->AsString());
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
    return node->Error(absl::StrCat("expected a duration such as 90s or 20m, got \"", text, "\""));
  }
  out->set_seconds(absl::ToInt64Seconds(d));
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d % absl::Seconds(1))));
  return absl::OkStatus();
}

absl::Status SetBudget(const ConfigNode& parent, v1::Budget* out) {
  absl::optional<ConfigNode> budget = parent.Find("budget");
  if (!budget.has_value()) return absl::OkStatus();
  RETURN_IF_ERROR(budget->CheckKeys({"max_tokens", "max_cost_usd"}));
  ASSIGN_OR_RETURN(int64_t tokens, budget->GetInt("max_tokens", 0));
  if (tokens < 0) return budget->Get("max_tokens")->Error("must not be negative");
  out->set_max_tokens(tokens);
  if (absl::optional<ConfigNode> cost = budget->Find("max_cost_usd")) {
    ASSIGN_OR_RETURN(std::string text, cost->AsString());
    absl::StatusOr<int64_t> micro = PriceTable::ParseUsdToMicro(text);
    if (!micro.ok()) return cost->Error(micro.status().message());
    out->set_max_cost_micro_usd(*micro);
  }
  return absl::OkStatus();
}

absl::Status SetStrings(const ConfigNode& parent, absl::string_view key,
                        google::protobuf::RepeatedPtrField<std::string>* out) {
  ASSIGN_OR_RETURN(std::vector<std::string> values, parent.GetStringList(key));
  for (std::string& v : values) *out->Add() = std::move(v);
  return absl::OkStatus();
}

absl::StatusOr<v1::Complexity> ParseComplexity(const ConfigNode& phase) {
  ASSIGN_OR_RETURN(ConfigNode node, phase.Get("complexity"));
  ASSIGN_OR_RETURN(std::string text, node.AsString());
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "low") return v1::COMPLEXITY_LOW;
  if (lower == "medium") return v1::COMPLEXITY_MEDIUM;
  if (lower == "high") return v1::COMPLEXITY_HIGH;
  return node.Error(absl::StrCat("expected low, medium or high, got \"", text, "\""));
}

absl::Status ParsePhase(const ConfigNode& node, v1::PhaseSpec* phase) {
  RETURN_IF_ERROR(node.CheckKeys({"id", "name", "description", "category", "complexity",
                                  "acceptance_criteria", "allowed_paths", "context_paths",
                                  "max_attempts", "budget"}));
  ASSIGN_OR_RETURN(*phase->mutable_phase_id(), node.GetString("id"));
  ASSIGN_OR_RETURN(*phase->mutable_name(), node.GetString("name", phase->phase_id()));
  ASSIGN_OR_RETURN(*phase->mutable_description(), node.GetString("description"));
  ASSIGN_OR_RETURN(*phase->mutable_task_category(), node.GetString("category", ""));
  ASSIGN_OR_RETURN(v1::Complexity complexity, ParseComplexity(node));
  phase->set_complexity(complexity);
  RETURN_IF_ERROR(SetStrings(node, "acceptance_criteria", phase->mutable_acceptance_criteria()));
  RETURN_IF_ERROR(SetStrings(node, "allowed_paths", phase->mutable_allowed_paths()));
  RETURN_IF_ERROR(SetStrings(node, "context_paths", phase->mutable_context_paths()));
  ASSIGN_OR_RETURN(int64_t attempts, node.GetInt("max_attempts", 0));
  phase->set_max_attempts(static_cast<int32_t>(attempts));
  return SetBudget(node, phase->mutable_budget());
}

}  // namespace

absl::StatusOr<v1::RunSpec> RunSpecFromPlan(const ConfigNode& plan) {
  RETURN_IF_ERROR(plan.CheckKeys({"run_id", "project_id", "repo", "base_ref", "check_command",
                                  "check_timeout", "safety_profile", "max_phases",
                                  "max_wall_time", "budget", "on_budget_exhausted", "tiers",
                                  "labels"}));
  v1::RunSpec spec;
  ASSIGN_OR_RETURN(*spec.mutable_run_id(), plan.GetString("run_id", ""));
  ASSIGN_OR_RETURN(*spec.mutable_project_id(), plan.GetString("project_id", ""));
  ASSIGN_OR_RETURN(*spec.mutable_repo_url(), plan.GetString("repo", ""));
  ASSIGN_OR_RETURN(*spec.mutable_base_ref(), plan.GetString("base_ref", ""));
  ASSIGN_OR_RETURN(*spec.mutable_check_command(), plan.GetString("check_command"));
  RETURN_IF_ERROR(SetDuration(plan, "check_timeout", spec.mutable_check_timeout()));
  RETURN_IF_ERROR(SetDuration(plan, "max_wall_time", spec.mutable_max_wall_time()));
  ASSIGN_OR_RETURN(int64_t max_phases, plan.GetInt("max_phases", 0));
  spec.set_max_phases(static_cast<int32_t>(max_phases));
  if (absl::optional<ConfigNode> profile = plan.Find("safety_profile")) {
    ASSIGN_OR_RETURN(std::string text, profile->AsString());
    if (text == "normal") {
      spec.set_safety_profile(v1::SAFETY_PROFILE_NORMAL);
    } else if (text == "safety_critical") {
      spec.set_safety_profile(v1::SAFETY_PROFILE_SAFETY_CRITICAL);
    } else {
      return profile->Error(
          absl::StrCat("expected normal or safety_critical, got \"", text, "\""));
    }
  }
  RETURN_IF_ERROR(SetBudget(plan, spec.mutable_budget()));
  if (absl::optional<ConfigNode> action = plan.Find("on_budget_exhausted")) {
    ASSIGN_OR_RETURN(std::string text, action->AsString());
    if (text == "PAUSE") {
      spec.set_on_budget_exhausted(v1::BUDGET_EXHAUSTED_ACTION_PAUSE);
    } else if (text == "FAIL") {
      spec.set_on_budget_exhausted(v1::BUDGET_EXHAUSTED_ACTION_FAIL);
    } else {
      return action->Error(absl::StrCat("expected PAUSE or FAIL, got \"", text, "\""));
    }
  }
  if (absl::optional<ConfigNode> labels = plan.Find("labels")) {
    ASSIGN_OR_RETURN(auto entries, labels->Entries());
    for (const auto& [key, value] : entries) {
      ASSIGN_OR_RETURN((*spec.mutable_labels())[key], value.AsString());
    }
  }
  ASSIGN_OR_RETURN(ConfigNode tiers, plan.Get("tiers"));
  ASSIGN_OR_RETURN(std::vector<ConfigNode> tier_nodes, tiers.Items());
  for (const ConfigNode& tier_node : tier_nodes) {
    RETURN_IF_ERROR(tier_node.CheckKeys({"id", "name", "budget", "phases"}));
    v1::TierSpec* tier = spec.add_tiers();
    ASSIGN_OR_RETURN(*tier->mutable_tier_id(), tier_node.GetString("id"));
    ASSIGN_OR_RETURN(*tier->mutable_name(), tier_node.GetString("name", tier->tier_id()));
    RETURN_IF_ERROR(SetBudget(tier_node, tier->mutable_budget()));
    ASSIGN_OR_RETURN(ConfigNode phases, tier_node.Get("phases"));
    ASSIGN_OR_RETURN(std::vector<ConfigNode> phase_nodes, phases.Items());
    for (const ConfigNode& phase_node : phase_nodes) {
      RETURN_IF_ERROR(ParsePhase(phase_node, tier->add_phases()));
    }
  }
  return spec;
}

absl::StatusOr<v1::RunSpec> LoadPlanFile(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigNode plan, ConfigNode::LoadFile(path));
  return RunSpecFromPlan(plan);
}

}  // namespace autopack::cli
