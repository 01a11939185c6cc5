#include "cli/live_view.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace autopack::cli {
namespace {

v1::RunEvent Snapshot() {
  v1::RunEvent e;
  v1::Run* run = e.mutable_snapshot();
  run->set_run_id("r1");
  run->set_state(v1::RUN_STATE_CREATED);
  run->mutable_spec()->mutable_budget()->set_max_cost_micro_usd(3000000);
  run->mutable_spec()->mutable_budget()->set_max_tokens(100000);
  run->mutable_created_at()->set_seconds(1000);
  v1::TierStatus* tier = run->add_tiers();
  tier->set_tier_id("core");
  tier->set_state(v1::TIER_STATE_RUNNING);
  tier->add_phases()->set_phase_id("farewell");
  v1::PhaseStatus* queued = tier->add_phases();
  queued->set_phase_id("cli_main");
  queued->set_state(v1::PHASE_STATE_QUEUED);
  return e;
}

TEST(LiveViewTest, FoldsEventsIntoPerPhaseStateModelsUsageAndBudget) {
  LiveView view;
  view.Apply(Snapshot());
  v1::RunEvent running;
  running.mutable_run_state()->set_to(v1::RUN_STATE_RUNNING);
  running.mutable_time()->set_seconds(1010);
  view.Apply(running);
  v1::RunEvent building;
  building.mutable_phase_state()->set_phase_id("farewell");
  building.mutable_phase_state()->set_to(v1::PHASE_STATE_AUDITING);
  building.mutable_phase_state()->set_attempt(2);
  view.Apply(building);
  v1::RunEvent attempt;
  attempt.mutable_attempt()->set_phase_id("farewell");
  attempt.mutable_attempt()->set_builder_model("openai/gpt-4o-mini");
  attempt.mutable_attempt()->set_auditor_model("openai/gpt-4o");
  view.Apply(attempt);
  v1::RunEvent usage;
  usage.mutable_usage()->set_phase_id("farewell");
  usage.mutable_usage()->mutable_usage()->set_input_tokens(1200);
  usage.mutable_usage()->mutable_usage()->set_output_tokens(300);
  usage.mutable_usage()->set_cost_micro_usd(360);
  usage.mutable_usage()->mutable_run_total()->mutable_usage()->set_input_tokens(1200);
  usage.mutable_usage()->mutable_run_total()->mutable_usage()->set_output_tokens(300);
  usage.mutable_usage()->mutable_run_total()->set_cost_micro_usd(360);
  usage.mutable_usage()->mutable_run_total()->set_calls(1);
  view.Apply(usage);

  const std::string frame = view.Render(absl::FromUnixSeconds(1075));
  EXPECT_TRUE(absl::StrContains(frame, "run r1  RUNNING  elapsed 0:01:05\n")) << frame;
  EXPECT_TRUE(absl::StrContains(frame, "budget used $0.000360 of $3.000000 (0.0%), 1500 tokens of 100000 (1.5%), 1 LLM calls"))
      << frame;
  EXPECT_TRUE(absl::StrContains(frame, "farewell         AUDITING         attempt 2  builder openai/gpt-4o-mini  "
                                       "auditor openai/gpt-4o  1200 in (0 cached) / 300 out  $0.000360\n"))
      << frame;
  EXPECT_TRUE(absl::StrContains(frame, "cli_main         QUEUED           attempt 0\n")) << frame;

  v1::RunEvent done;
  done.mutable_run_state()->set_to(v1::RUN_STATE_DONE_SUCCESS);
  done.mutable_run_state()->set_reason("every phase completed");
  done.mutable_time()->set_seconds(1100);
  view.Apply(done);
  // A finished run's elapsed time stops at its end.
  const std::string last = view.Render(absl::FromUnixSeconds(5000));
  EXPECT_TRUE(absl::StrContains(last, "DONE_SUCCESS  elapsed 0:01:30\n")) << last;
  EXPECT_TRUE(absl::StrContains(last, "every phase completed")) << last;
}

TEST(LiveViewTest, EraseMovesUpOverThePreviousFrame) {
  EXPECT_EQ(LiveView::Erase(""), "");
  EXPECT_EQ(LiveView::Erase("a\nb\nc\n"), "\x1b[3A\r\x1b[J");
}

}  // namespace
}  // namespace autopack::cli
