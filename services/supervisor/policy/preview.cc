#include "services/supervisor/policy/preview.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"
#include "services/supervisor/policy/budget_ledger.h"
#include "services/supervisor/policy/model_selector.h"

namespace autopack::policy {
namespace {

bool Fits(const v1::Budget& cap, int64_t tokens, int64_t cost) {
  return (cap.max_tokens() <= 0 || tokens <= cap.max_tokens()) &&
         (cap.max_cost_micro_usd() <= 0 || cost <= cap.max_cost_micro_usd());
}

std::string Exceeds(const std::string& scope, const v1::Budget& cap, int64_t tokens,
                    int64_t cost) {
  return absl::StrCat(scope, ": worst case ", tokens, " tokens / ", cost,
                      " micro-USD exceeds its cap (", cap.max_tokens(), " tokens / ",
                      cap.max_cost_micro_usd(), " micro-USD; 0 = none)");
}

}  // namespace

absl::Status CheckContextWindows(const v1::RunSpec& spec, const PolicyConfig& config) {
  const ModelSelector selector(config);
  for (int t = 0; t < spec.tiers_size(); ++t) {
    for (int p = 0; p < spec.tiers(t).phases_size(); ++p) {
      const v1::PhaseSpec& phase = spec.tiers(t).phases(p);
      const ResolvedCategory category = config.strategy.Resolve(phase.task_category());
      const int attempts =
          phase.max_attempts() > 0 ? phase.max_attempts() : category.strategy->max_attempts;
      // The phase's own text is counted at one token per byte, as its prompt is.
      const int64_t phase_tokens = static_cast<int64_t>(phase.ByteSizeLong());
      std::set<std::pair<std::string, std::string>> checked;
      for (int failed = 0; failed < attempts; ++failed) {
        ASSIGN_OR_RETURN(Selection selection,
                         selector.Select({phase.task_category(), phase.complexity(), failed, {}}));
        for (const auto& [role, chosen] :
             {std::make_pair(std::string("builder"), selection.builder_model),
              std::make_pair(std::string("auditor"), selection.auditor_model)}) {
          std::vector<std::string> models = {chosen};
          for (const std::string& fallback : config.models.FallbacksFor(chosen)) {
            models.push_back(fallback);
          }
          for (const std::string& model : models) {
            if (!checked.insert({role, model}).second) continue;
            ASSIGN_OR_RETURN(ModelInfo info, config.prices.Info(model));
            const CallLimits& call =
                role == "builder" ? config.models.builder_call() : config.models.auditor_call();
            const int64_t output = OutputLimit(config, role, model);
            const int64_t needed = call.estimated_input_tokens + phase_tokens + output;
            if (needed > info.context_window) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "tiers[", t, "].phases[", p, "] (phase '", phase.phase_id(), "'): a ", role,
                  " call on ", model, " needs up to ", needed, " tokens (",
                  call.estimated_input_tokens, " estimated context + ", phase_tokens,
                  " phase text + ", output, " output) but its context window is ",
                  info.context_window));
            }
          }
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::PreviewRunResponse> PreviewRun(const v1::RunSpec& spec,
                                                  const PolicyConfig& config) {
  ASSIGN_OR_RETURN(RunLimits limits, RunLimits::FromSpec(spec, config.strategy));
  const ModelSelector selector(config);
  const SafetyPolicy& safety = config.strategy.Safety(spec.safety_profile());
  const CallLimits& builder_call = config.models.builder_call();
  const CallLimits& auditor_call = config.models.auditor_call();
  v1::PreviewRunResponse response;
  size_t phase_index = 0;
  int phase_count = 0;
  for (int t = 0; t < spec.tiers_size(); ++t) {
    const v1::TierSpec& tier = spec.tiers(t);
    int64_t tier_tokens = 0, tier_cost = 0;
    for (int p = 0; p < tier.phases_size(); ++p, ++phase_index, ++phase_count) {
      const v1::PhaseSpec& phase = tier.phases(p);
      const std::string field = absl::StrCat("tiers[", t, "].phases[", p, "]");
      v1::PhasePreview* preview = response.add_phases();
      preview->set_tier_id(tier.tier_id());
      preview->set_phase_id(phase.phase_id());
      const ResolvedCategory category = config.strategy.Resolve(phase.task_category());
      const int attempts =
          phase.max_attempts() > 0 ? phase.max_attempts() : category.strategy->max_attempts;
      preview->set_max_attempts(attempts);
      int64_t tokens = 0, cost = 0;
      for (int failed = 0; failed < attempts; ++failed) {
        absl::StatusOr<Selection> selection =
            selector.Select({phase.task_category(), phase.complexity(), failed, {}});
        if (!selection.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ": ", selection.status().message()));
        }
        if (failed == 0) {
          preview->set_builder_model(selection->builder_model);
          preview->set_auditor_model(selection->auditor_model);
          preview->set_rationale(selection->rationale);
        }
        ASSIGN_OR_RETURN(int64_t builder_cost,
                         config.prices.WorstCaseCost(selection->builder_model,
                                                     builder_call.estimated_input_tokens,
                                                     selection->builder_output_limit));
        ASSIGN_OR_RETURN(int64_t auditor_cost,
                         config.prices.WorstCaseCost(selection->auditor_model,
                                                     auditor_call.estimated_input_tokens,
                                                     selection->auditor_output_limit));
        tokens += builder_call.estimated_input_tokens + selection->builder_output_limit +
                  auditor_call.estimated_input_tokens + selection->auditor_output_limit;
        cost += builder_cost + auditor_cost;
      }
      preview->set_worst_case_tokens(tokens);
      preview->set_worst_case_micro_usd(cost);
      const v1::Budget& phase_cap = limits.phases[phase_index].cap;
      preview->set_fits_budget(Fits(phase_cap, tokens, cost) &&
                               Fits(limits.tiers[t].cap, tokens, cost) &&
                               Fits(limits.run, tokens, cost));
      if (!Fits(phase_cap, tokens, cost)) {
        response.add_warnings(absl::StrCat(
            Exceeds("phase " + phase.phase_id(), phase_cap, tokens, cost),
            "; calls will get lower output limits", 
            config.strategy.AllowsStepDown(*category.strategy, spec.safety_profile())
                ? " or cheaper models"
                : "",
            " and the phase may end BUDGET_EXHAUSTED"));
      }
      if (category.defaulted) {
        response.add_warnings(absl::StrCat("phase ", phase.phase_id(), ": ", category.rationale));
      }
      if (category.strategy->high_risk && safety.high_risk_requires_human_review) {
        response.add_warnings(absl::StrCat("phase ", phase.phase_id(), ": high-risk category '",
                                           category.strategy->name, "' requires human review "
                                           "under safety profile ", safety.name));
      } else if (!category.strategy->auto_apply) {
        response.add_warnings(absl::StrCat("phase ", phase.phase_id(), ": category '",
                                           category.strategy->name,
                                           "' is not auto-applied; a person must accept it"));
      }
      tier_tokens += tokens;
      tier_cost += cost;
    }
    if (!Fits(limits.tiers[t].cap, tier_tokens, tier_cost)) {
      response.add_warnings(Exceeds("tier " + tier.tier_id(), limits.tiers[t].cap, tier_tokens,
                                    tier_cost));
    }
    response.set_total_worst_case_tokens(response.total_worst_case_tokens() + tier_tokens);
    response.set_total_worst_case_micro_usd(response.total_worst_case_micro_usd() + tier_cost);
  }
  if (!Fits(limits.run, response.total_worst_case_tokens(),
            response.total_worst_case_micro_usd())) {
    response.add_warnings(Exceeds("run", limits.run, response.total_worst_case_tokens(),
                                  response.total_worst_case_micro_usd()));
  }
  if (limits.max_phases > 0 && phase_count > limits.max_phases) {
    response.add_warnings(absl::StrCat("the spec has ", phase_count, " phases but max_phases is ",
                                       limits.max_phases, "; the run cannot complete"));
  }
  return response;
}

}  // namespace autopack::policy
