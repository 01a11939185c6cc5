#include "services/supervisor/usage.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace autopack::supervisor {
namespace {

LedgerEntry Settled(const std::string& key, const std::string& tier, const std::string& phase,
                    const std::string& model, int64_t in, int64_t out, int64_t cost) {
  LedgerEntry e;
  e.key = key;
  e.tier_id = tier;
  e.phase_id = phase;
  e.model = model;
  e.state = LedgerState::kSettled;
  e.usage.set_input_tokens(in);
  e.usage.set_output_tokens(out);
  e.cost_micro_usd = cost;
  return e;
}

TEST(UsageTest, SumsSettledCountsReservedIgnoresReleased) {
  v1::RunSpec spec;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    run_id: "r" budget { max_cost_micro_usd: 1000 }
    tiers { tier_id: "t1" phases { phase_id: "p1" } phases { phase_id: "p2" } }
    tiers { tier_id: "t2" budget { max_tokens: 50 } phases { phase_id: "p3" } }
  )pb", &spec));
  std::vector<LedgerEntry> entries = {
      Settled("a", "t1", "p1", "openai/gpt-4o", 100, 10, 30),
      Settled("b", "t1", "p1", "openai/gpt-4o-mini", 50, 5, 7),
      Settled("c", "t1", "p2", "openai/gpt-4o", 20, 2, 11),
  };
  LedgerEntry open;
  open.key = "d";
  open.tier_id = "t2";
  open.phase_id = "p3";
  open.model = "openai/gpt-4o";
  open.state = LedgerState::kReserved;
  open.reserved_micro_usd = 400;
  open.reserved_tokens = 900;
  entries.push_back(open);
  LedgerEntry released = open;
  released.key = "e";
  released.state = LedgerState::kReleased;
  entries.push_back(released);

  const v1::UsageReport report = BuildUsageReport(spec, entries);
  EXPECT_EQ(report.total().cost_micro_usd(), 48);
  EXPECT_EQ(report.total().calls(), 3);
  EXPECT_EQ(report.total().usage().input_tokens(), 170);
  EXPECT_EQ(report.total().reserved_micro_usd(), 400);
  EXPECT_EQ(report.total().reserved_tokens(), 900);
  EXPECT_EQ(report.total().cap().max_cost_micro_usd(), 1000);
  ASSERT_EQ(report.by_tier_size(), 2);
  EXPECT_EQ(report.by_tier(0).cost_micro_usd(), 48);
  EXPECT_EQ(report.by_tier(1).reserved_micro_usd(), 400);
  EXPECT_EQ(report.by_tier(1).cap().max_tokens(), 50);
  ASSERT_EQ(report.by_phase_size(), 3);
  EXPECT_EQ(report.by_phase(0).cost_micro_usd(), 37);
  EXPECT_EQ(report.by_phase(2).calls(), 0);
  ASSERT_EQ(report.by_model_size(), 2);
  EXPECT_EQ(report.by_model(0).key(), "openai/gpt-4o");
  EXPECT_EQ(report.by_model(0).cost_micro_usd(), 41);

  v1::Run run;
  run.add_tiers()->set_tier_id("t1");
  run.mutable_tiers(0)->add_phases()->set_phase_id("p2");
  AttachUsage(report, &run);
  EXPECT_EQ(run.usage().cost_micro_usd(), 48);
  EXPECT_EQ(run.tiers(0).usage().cost_micro_usd(), 48);
  EXPECT_EQ(run.tiers(0).phases(0).usage().cost_micro_usd(), 11);
}

}  // namespace
}  // namespace autopack::supervisor
