#include "services/supervisor/policy/model_selector.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace autopack::policy {
namespace {

std::string ComplexityName(v1::Complexity complexity) {
  switch (complexity) {
    case v1::COMPLEXITY_LOW:
      return "low";
    case v1::COMPLEXITY_MEDIUM:
      return "medium";
    case v1::COMPLEXITY_HIGH:
      return "high";
    default:
      return "unspecified";
  }
}

// Moves `model` `steps` rungs up the ladder. A model off the ladder enters it
// at the first rung that costs more.
std::string Escalate(const ModelsConfig& models, const std::string& model, int steps) {
  const std::vector<std::string>& ladder = models.ladder();
  const auto on = std::find(ladder.begin(), ladder.end(), model);
  int rung;
  if (on != ladder.end()) {
    rung = static_cast<int>(on - ladder.begin()) + steps;
  } else {
    rung = 0;
    while (rung < static_cast<int>(ladder.size()) &&
           models.ReferencePrice(ladder[rung]) <= models.ReferencePrice(model)) {
      ++rung;
    }
    if (rung == static_cast<int>(ladder.size())) return model;  // already above the ladder
    rung += steps - 1;
  }
  return ladder[std::min(rung, static_cast<int>(ladder.size()) - 1)];
}

absl::StatusOr<std::string> WithFallback(const ModelsConfig& models, const std::string& role,
                                         const std::string& model,
                                         const std::set<std::string>& unavailable,
                                         std::string* rationale) {
  if (unavailable.count(ProviderOf(model)) == 0) return model;
  const std::vector<std::string>& fallbacks = models.FallbacksFor(model);
  for (const std::string& fallback : fallbacks) {
    if (unavailable.count(ProviderOf(fallback)) == 0) {
      absl::StrAppend(rationale, "; provider '", ProviderOf(model), "' is unavailable, so the ",
                      role, " falls back from ", model, " to ", fallback);
      return fallback;
    }
  }
  return absl::UnavailableError(absl::StrCat(
      role, " model ", model, ": provider '", ProviderOf(model), "' is unavailable and ",
      fallbacks.empty() ? std::string("models.yaml lists no fallback for it")
                        : absl::StrCat("so are its fallbacks (", absl::StrJoin(fallbacks, ", "),
                                       ")")));
}

}  // namespace

absl::StatusOr<Selection> ModelSelector::Select(const SelectionRequest& request) const {
  if (request.complexity < v1::COMPLEXITY_LOW || request.complexity > v1::COMPLEXITY_HIGH) {
    return absl::InvalidArgumentError(
        absl::StrCat("complexity must be low, medium or high, got ", request.complexity));
  }
  if (request.failed_attempts < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed_attempts must not be negative, got ", request.failed_attempts));
  }
  const ModelsConfig& models = config_.models;
  Selection selection;
  selection.category = config_.strategy.Resolve(request.category);
  const CategoryStrategy& category = *selection.category.strategy;
  std::string& why = selection.rationale;
  why = selection.category.rationale;

  if (category.high_risk) {
    selection.builder_model = models.high_risk_models().builder;
    selection.auditor_model = models.high_risk_models().auditor;
    absl::StrAppend(&why, ": high-risk categories always get the strongest models (builder ",
                    selection.builder_model, ", auditor ", selection.auditor_model, ")");
  } else {
    const RoleModels& base = models.ForComplexity(request.complexity);
    selection.builder_model = base.builder;
    selection.auditor_model = base.auditor;
    absl::StrAppend(&why, ", complexity ", ComplexityName(request.complexity), ": builder ",
                    base.builder, ", auditor ", base.auditor);
    if (const RoleModels* over = models.OverrideFor(category.name)) {
      if (!over->builder.empty()) selection.builder_model = over->builder;
      if (!over->auditor.empty()) selection.auditor_model = over->auditor;
      absl::StrAppend(&why, "; the '", category.name, "' override makes it builder ",
                      selection.builder_model, ", auditor ", selection.auditor_model);
    }
  }

  const int steps = request.failed_attempts / models.escalate_after_failed_attempts();
  if (steps > 0) {
    const std::string escalated = Escalate(models, selection.builder_model, steps);
    if (escalated != selection.builder_model) {
      absl::StrAppend(&why, "; after ", request.failed_attempts, " failed attempt",
                      request.failed_attempts == 1 ? "" : "s", " the builder escalates from ",
                      selection.builder_model, " to ", escalated);
      selection.escalation_steps = steps;
    } else {
      absl::StrAppend(&why, "; after ", request.failed_attempts, " failed attempt",
                      request.failed_attempts == 1 ? "" : "s", " the builder ",
                      selection.builder_model, " is already at the top of the ladder");
    }
    selection.builder_model = escalated;
  }

  auto builder = WithFallback(models, "builder", selection.builder_model,
                              request.unavailable_providers, &why);
  if (!builder.ok()) return builder.status();
  auto auditor = WithFallback(models, "auditor", selection.auditor_model,
                              request.unavailable_providers, &why);
  if (!auditor.ok()) return auditor.status();
  selection.builder_model = *builder;
  selection.auditor_model = *auditor;
  selection.builder_output_limit = OutputLimit(config_, "builder", selection.builder_model);
  selection.auditor_output_limit = OutputLimit(config_, "auditor", selection.auditor_model);
  return selection;
}

}  // namespace autopack::policy
