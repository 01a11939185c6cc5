#include "cli/live_view.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/run_text.h"

namespace autopack::cli {
namespace {

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string Elapsed(absl::Duration d) {
  const int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
}

void AddUsage(v1::UsageLine* line, const v1::UsageEvent& u) {
  v1::TokenUsage* t = line->mutable_usage();
  t->set_input_tokens(t->input_tokens() + u.usage().input_tokens());
  t->set_cached_input_tokens(t->cached_input_tokens() + u.usage().cached_input_tokens());
  t->set_output_tokens(t->output_tokens() + u.usage().output_tokens());
  t->set_reasoning_tokens(t->reasoning_tokens() + u.usage().reasoning_tokens());
  line->set_cost_micro_usd(line->cost_micro_usd() + u.cost_micro_usd());
  line->set_calls(line->calls() + 1);
}

int64_t TotalTokens(const v1::TokenUsage& t) {
  return t.input_tokens() + t.cached_input_tokens() + t.output_tokens() + t.reasoning_tokens();
}

// "of $3.00 (0.3%)" when there is a cap.
std::string OfCap(int64_t used, int64_t cap, const std::string& cap_text) {
  if (cap <= 0) return "";
  return absl::StrFormat(" of %s (%.1f%%)", cap_text, 100.0 * used / cap);
}

}  // namespace

v1::PhaseStatus* LiveView::Phase(const std::string& phase_id) {
  for (v1::TierStatus& tier : *run_.mutable_tiers()) {
    for (v1::PhaseStatus& phase : *tier.mutable_phases()) {
      if (phase.phase_id() == phase_id) return &phase;
    }
  }
  return nullptr;
}

v1::TierStatus* LiveView::Tier(const std::string& tier_id) {
  for (v1::TierStatus& tier : *run_.mutable_tiers()) {
    if (tier.tier_id() == tier_id) return &tier;
  }
  return nullptr;
}

void LiveView::Apply(const v1::RunEvent& event) {
  switch (event.payload_case()) {
    case v1::RunEvent::kSnapshot:
      run_ = event.snapshot();
      break;
    case v1::RunEvent::kRunState:
      run_.set_state(event.run_state().to());
      run_.set_state_reason(event.run_state().reason());
      if (!run_.has_started_at() && event.has_time()) *run_.mutable_started_at() = event.time();
      if (event.has_time() && event.run_state().to() != v1::RUN_STATE_RUNNING &&
          event.run_state().to() != v1::RUN_STATE_CREATED) {
        *run_.mutable_finished_at() = event.time();
      }
      // Resumed after a pause: the clock runs again, under the raised caps.
      if (event.run_state().to() == v1::RUN_STATE_RUNNING) run_.clear_finished_at();
      if (event.run_state().has_budget()) {
        *run_.mutable_spec()->mutable_budget() = event.run_state().budget();
      }
      break;
    case v1::RunEvent::kTierState:
      if (v1::TierStatus* tier = Tier(event.tier_state().tier_id())) tier->set_state(event.tier_state().to());
      break;
    case v1::RunEvent::kPhaseState:
      if (v1::PhaseStatus* phase = Phase(event.phase_state().phase_id())) {
        phase->set_state(event.phase_state().to());
        phase->set_attempts(event.phase_state().attempt());
        phase->set_last_error(event.phase_state().reason());
      }
      break;
    case v1::RunEvent::kAttempt:
      if (v1::PhaseStatus* phase = Phase(event.attempt().phase_id())) {
        phase->set_builder_model(event.attempt().builder_model());
        phase->set_auditor_model(event.attempt().auditor_model());
      }
      break;
    case v1::RunEvent::kUsage:
      if (v1::PhaseStatus* phase = Phase(event.usage().phase_id())) AddUsage(phase->mutable_usage(), event.usage());
      *run_.mutable_usage() = event.usage().run_total();
      break;
    case v1::RunEvent::kBudgetWarning: {
      const v1::BudgetWarning& w = event.budget_warning();
      last_warning_ = absl::StrCat("budget warning: ", w.scope(), " ", w.dimension(), " at ", w.percent(), "%");
      break;
    }
    default:
      break;
  }
}

std::string LiveView::Render(absl::Time now) const {
  const absl::Time start = run_.has_started_at() ? ToTime(run_.started_at())
                           : run_.has_created_at() ? ToTime(run_.created_at())
                                                   : now;
  const absl::Time end = run_.has_finished_at() ? ToTime(run_.finished_at()) : now;
  const v1::Budget& cap = run_.spec().budget();
  const int64_t tokens = TotalTokens(run_.usage().usage());
  std::string out = absl::StrCat("run ", run_.run_id(), "  ", Short(v1::RunState_Name(run_.state()), "RUN_STATE_"),
                                 "  elapsed ", Elapsed(end - start), "\n");
  absl::StrAppend(&out, "  budget used ", Usd(run_.usage().cost_micro_usd()),
                  OfCap(run_.usage().cost_micro_usd(), cap.max_cost_micro_usd(), Usd(cap.max_cost_micro_usd())), ", ",
                  tokens, " tokens", OfCap(tokens, cap.max_tokens(), absl::StrCat(cap.max_tokens())), ", ",
                  run_.usage().calls(), " LLM calls\n");
  for (const v1::TierStatus& tier : run_.tiers()) {
    absl::StrAppend(&out, "  tier ", tier.tier_id(), "  ", Short(v1::TierState_Name(tier.state()), "TIER_STATE_"), "\n");
    for (const v1::PhaseStatus& phase : tier.phases()) {
      absl::StrAppend(&out, absl::StrFormat("    %-16s %-16s attempt %d", phase.phase_id(),
                                            Short(v1::PhaseState_Name(phase.state()), "PHASE_STATE_"),
                                            phase.attempts()));
      if (!phase.builder_model().empty()) {
        absl::StrAppend(&out, "  builder ", phase.builder_model(), "  auditor ", phase.auditor_model());
      }
      if (phase.usage().calls() > 0) {
        absl::StrAppend(&out, "  ", Tokens(phase.usage().usage()), "  ", Usd(phase.usage().cost_micro_usd()));
      }
      absl::StrAppend(&out, "\n");
    }
  }
  if (!run_.state_reason().empty()) absl::StrAppend(&out, "  ", run_.state_reason(), "\n");
  if (!last_warning_.empty()) absl::StrAppend(&out, "  ", last_warning_, "\n");
  return out;
}

std::string LiveView::Erase(const std::string& previous) {
  const int lines = static_cast<int>(std::count(previous.begin(), previous.end(), '\n'));
  // Cursor up to the frame's first line, then clear to the end of the screen.
  return lines == 0 ? "" : absl::StrCat("\x1b[", lines, "A\r\x1b[J");
}

}  // namespace autopack::cli
