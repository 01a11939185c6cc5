#include "services/supervisor/policy/budget_ledger.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::policy {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kMini[] = "openai/gpt-4o-mini";  // 0.15 in, 0.60 out per 1M
constexpr char k4o[] = "openai/gpt-4o";         // 2.50 in, 10.00 out per 1M

const PolicyConfig& Config() {
  static const PolicyConfig& config = [] {
    auto loaded = PolicyConfig::LoadDir("config");
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status();
      std::abort();
    }
    return *new PolicyConfig(*std::move(loaded));
  }();
  return config;
}

v1::Budget Cap(int64_t tokens, int64_t micro_usd) {
  v1::Budget budget;
  budget.set_max_tokens(tokens);
  budget.set_max_cost_micro_usd(micro_usd);
  return budget;
}

BudgetLedger::Options OneTierOptions(v1::Budget phase_cap, v1::Budget run_cap = v1::Budget()) {
  BudgetLedger::Options options;
  options.run_id = "run1";
  options.limits.run = run_cap;
  options.limits.tiers = {{"t1", v1::Budget()}};
  options.limits.phases = {{"p1", phase_cap}, {"p2", v1::Budget()}};
  return options;
}

CallRequest Call(const std::string& model, int64_t input, int64_t output,
                 const std::string& category = "docs", const std::string& phase = "p1") {
  return CallRequest{"t1", phase, "builder", model, category, input, output};
}

v1::TokenUsage Usage(int64_t input, int64_t cached, int64_t output, int64_t reasoning) {
  v1::TokenUsage usage;
  usage.set_input_tokens(input);
  usage.set_cached_input_tokens(cached);
  usage.set_output_tokens(output);
  usage.set_reasoning_tokens(reasoning);
  return usage;
}

// A call never asks a model for more output than it accepts, whichever model
// the ledger grants it on.
TEST(BudgetLedgerTest, OutputLimitIsClampedToTheGrantedModelsMaximum) {
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 0)));
  auto turbo = ledger.Reserve(Call("openai/gpt-4-turbo", 1000, 16000));
  ASSERT_THAT(turbo, IsOk());
  EXPECT_EQ(turbo->output_limit, 4096);
  EXPECT_EQ(turbo->worst_case_tokens, 1000 + 4096);
  EXPECT_THAT(turbo->adjustment, HasSubstr("the most openai/gpt-4-turbo accepts"));
  auto within = ledger.Reserve(Call(k4o, 1000, 16000));
  ASSERT_THAT(within, IsOk());
  EXPECT_EQ(within->output_limit, 16000);
  EXPECT_EQ(within->adjustment, "");
}

// Anthropic may bill any input token as a cache write (1.25x input), so a
// worst case and the room computed for it use that price.
TEST(BudgetLedgerTest, WorstCasePricesInputAtTheCacheWritePrice) {
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 0)));
  auto sonnet = ledger.Reserve(Call("anthropic/claude-3-5-sonnet-20241022", 1000000, 1000));
  ASSERT_THAT(sonnet, IsOk());
  EXPECT_EQ(sonnet->worst_case_micro_usd, 3750000 + 15000);
  v1::TokenUsage usage = Usage(1000, 0, 10, 0);
  usage.set_cache_write_tokens(2000);
  auto settled = ledger.Settle(sonnet->id, "", usage);
  ASSERT_THAT(settled, IsOk());
  // 1000 x 3.00 + 2000 x 3.75 + 10 x 15.00 per 1M.
  EXPECT_EQ(settled->cost_micro_usd, 3000 + 7500 + 150);
  EXPECT_EQ(settled->tokens, 3010);
}

TEST(BudgetLedgerTest, AnswerWithoutUsageIsChargedItsReservationNeverZero) {
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 0)));
  auto call = ledger.Reserve(Call(k4o, 10000, 2000));
  ASSERT_THAT(call, IsOk());
  v1::TokenUsage usage;
  usage.set_unreported_answers(1);
  auto settled = ledger.Settle(call->id, "", usage);
  ASSERT_THAT(settled, IsOk());
  EXPECT_EQ(settled->cost_micro_usd, call->worst_case_micro_usd);
  EXPECT_EQ(settled->tokens, call->worst_case_tokens);
  auto run = ledger.Totals("run");
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->settled_micro_usd, 45000);
  EXPECT_EQ(run->usage.unreported_answers(), 1);  // flagged in the report
  EXPECT_EQ(run->reserved_micro_usd, 0);
}

TEST(BudgetLedgerTest, ReserveSettleReleaseAreExact) {
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 0)));
  auto a = ledger.Reserve(Call(k4o, 10000, 2000));
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->model, k4o);
  EXPECT_EQ(a->output_limit, 2000);
  EXPECT_EQ(a->worst_case_tokens, 12000);
  EXPECT_EQ(a->worst_case_micro_usd, 25000 + 20000);
  EXPECT_EQ(a->adjustment, "");
  auto b = ledger.Reserve(Call(kMini, 1000, 1000, "docs", "p2"));
  ASSERT_THAT(b, IsOk());
  auto p1 = ledger.Totals("phase:p1");
  ASSERT_THAT(p1, IsOk());
  EXPECT_EQ(p1->reserved_micro_usd, 45000);

  // 4000 input at 2.5, 1000 cached at 1.25, 500 output + 300 reasoning at 10.
  auto settled = ledger.Settle(a->id, "", Usage(4000, 1000, 500, 300));
  ASSERT_THAT(settled, IsOk());
  EXPECT_EQ(settled->cost_micro_usd, 10000 + 1250 + 8000);
  EXPECT_EQ(settled->tokens, 5800);
  EXPECT_FALSE(settled->above_reservation);
  ASSERT_THAT(ledger.Release(b->id), IsOk());

  auto run = ledger.Totals("run");
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->settled_micro_usd, 19250);
  EXPECT_EQ(run->settled_tokens, 5800);
  EXPECT_EQ(run->reserved_micro_usd, 0);
  EXPECT_EQ(run->reserved_tokens, 0);
  EXPECT_EQ(run->calls, 1);
  EXPECT_THAT(ledger.OpenReservations(), IsEmpty());

  v1::UsageReport report = ledger.Report();
  EXPECT_EQ(report.total().cost_micro_usd(), 19250);
  ASSERT_EQ(report.by_phase_size(), 2);
  EXPECT_EQ(report.by_phase(0).key(), "p1");
  EXPECT_EQ(report.by_phase(0).usage().reasoning_tokens(), 300);
  EXPECT_EQ(report.by_model(0).key(), k4o);
  EXPECT_EQ(report.by_model(0).cost_micro_usd(), 19250);

  EXPECT_THAT(ledger.Settle(a->id, "", Usage(1, 0, 0, 0)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already settled")));
  EXPECT_THAT(ledger.Release("rsv-99"), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(ledger.Reserve(CallRequest{"t9", "p1", "builder", k4o, "docs", 1, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tier 't9'")));
  EXPECT_THAT(ledger.Reserve(Call("openai/unpriced", 1, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no price")));
  EXPECT_THAT(ledger.Reserve(Call(k4o, 1, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("requested_output_tokens")));
}

TEST(BudgetLedgerTest, SettlesWithTheModelThatAnswered) {
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 0)));
  auto a = ledger.Reserve(Call(k4o, 1000, 1000));
  ASSERT_THAT(a, IsOk());
  auto settled = ledger.Settle(a->id, kMini, Usage(1000, 0, 1000, 0));
  ASSERT_THAT(settled, IsOk());
  EXPECT_EQ(settled->cost_micro_usd, 150 + 600);
  v1::UsageReport report = ledger.Report();
  ASSERT_EQ(report.by_model_size(), 2);
  EXPECT_EQ(report.by_model(0).key(), kMini);
  EXPECT_EQ(report.by_model(1).key(), k4o);
  EXPECT_EQ(report.by_model(1).reserved_micro_usd(), 0);
}

// Must show 3: the worst case that does not fit gets a lower output limit, or
// a cheaper model, exactly as the strategy allows, else RESOURCE_EXHAUSTED.
TEST(BudgetLedgerTest, LowersTheOutputLimitToWhatFits) {
  // 10000 input on gpt-4o cost 25000; 75000 remain for output at 10 each.
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 100000)));
  auto r = ledger.Reserve(Call(k4o, 10000, 16000));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->model, k4o);
  EXPECT_EQ(r->output_limit, 7500);
  EXPECT_EQ(r->worst_case_micro_usd, 100000);
  EXPECT_EQ(r->adjustment,
            "output limit lowered from 16000 to 7500 tokens to fit the budget (floor 1024)");
  ASSERT_THAT(ledger.Release(r->id), IsOk());

  // Token caps lower it the same way.
  BudgetLedger tokens(Config(), OneTierOptions(Cap(20000, 0)));
  auto t = tokens.Reserve(Call(k4o, 12000, 16000));
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->output_limit, 8000);
  EXPECT_EQ(t->worst_case_tokens, 20000);
}

TEST(BudgetLedgerTest, StepsDownToACheaperModelWhereTheCategoryAllows) {
  // On gpt-4o even the 1024-token floor needs 25000 + 10240 > 30000.
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 30000)));
  auto r = ledger.Reserve(Call(k4o, 10000, 16000, "docs"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->model, kMini);
  EXPECT_EQ(r->output_limit, 16000);
  EXPECT_EQ(r->worst_case_micro_usd, 1500 + 9600);
  EXPECT_THAT(r->adjustment, HasSubstr("stepped down from openai/gpt-4o to openai/gpt-4o-mini"));
}

TEST(BudgetLedgerTest, HighRiskCategoryIsRefusedWithTheNumbers) {
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 30000)));
  auto r = ledger.Reserve(Call(k4o, 10000, 16000, "security_auth_change"));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted,
                          AllOf(HasSubstr("phase 'p1' builder call on openai/gpt-4o"),
                                HasSubstr("10000 input + 1024 output tokens = 11024 tokens, "
                                          "35240 micro-USD"),
                                HasSubstr("phase:p1 cost cap 30000 micro-USD: settled 0 + "
                                          "reserved 0 leaves 30000"),
                                HasSubstr("not allowed (category 'security_auth_change')"))));
  EXPECT_THAT(ledger.OpenReservations(), IsEmpty());
}

TEST(BudgetLedgerTest, SafetyCriticalNeitherStepsDownNorGoesBelowItsFloor) {
  // 35000 left for output on gpt-4o: 3500 tokens, under safety_critical's 4096.
  BudgetLedger::Options options = OneTierOptions(Cap(0, 60000));
  options.safety_profile = v1::SAFETY_PROFILE_SAFETY_CRITICAL;
  BudgetLedger critical(Config(), options);
  EXPECT_THAT(critical.Reserve(Call(k4o, 10000, 16000, "docs")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("10000 input + 4096 output tokens"),
                             HasSubstr("not allowed (safety profile safety_critical)"))));
  // The normal profile takes the lower limit instead.
  BudgetLedger normal(Config(), OneTierOptions(Cap(0, 60000)));
  auto r = normal.Reserve(Call(k4o, 10000, 16000, "docs"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->model, k4o);
  EXPECT_EQ(r->output_limit, 3500);
}

TEST(BudgetLedgerTest, CheaperModelsRunOutToo) {
  // gpt-4o-mini: 10000 input cost 1500; 400 left buys 666 output < 1024.
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 1900)));
  EXPECT_THAT(ledger.Reserve(Call(k4o, 10000, 16000, "docs")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("no cheaper model fits either (tried openai/gpt-4o-mini)")));
  // A request below the floor is its own floor.
  auto small = ledger.Reserve(Call(k4o, 10000, 500, "docs"));
  ASSERT_THAT(small, IsOk());
  EXPECT_EQ(small->model, kMini);
  EXPECT_EQ(small->output_limit, 500);
}

TEST(BudgetLedgerTest, TierAndRunCapsApplyToo) {
  BudgetLedger::Options options = OneTierOptions(Cap(0, 0), Cap(0, 500000));
  options.limits.tiers = {{"t1", Cap(15000, 0)}};
  BudgetLedger ledger(Config(), options);
  auto a = ledger.Reserve(Call(k4o, 5000, 5000, "docs", "p1"));
  ASSERT_THAT(a, IsOk());
  auto b = ledger.Reserve(Call(k4o, 2000, 8000, "security_auth_change", "p2"));
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->output_limit, 3000);  // tier tokens: 15000 - 10000 - 2000
  EXPECT_THAT(ledger.Reserve(Call(k4o, 100, 8000, "security_auth_change", "p2")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("tier:t1 token cap 15000: settled 0 + reserved 15000 leaves 0")));
}

TEST(BudgetLedgerTest, OvershootIsRecordedExactlyAndBlocksTheLevel) {
  BudgetLedger ledger(Config(), OneTierOptions(Cap(0, 100000), Cap(0, 1000000)));
  auto a = ledger.Reserve(Call(k4o, 1000, 1000));  // 12500
  ASSERT_THAT(a, IsOk());
  // Above the reservation but within the cap: absorbed.
  auto fits = ledger.Settle(a->id, "", Usage(2000, 0, 1000, 0));
  ASSERT_THAT(fits, IsOk());
  EXPECT_TRUE(fits->above_reservation);
  EXPECT_FALSE(fits->overspent);
  EXPECT_EQ(fits->cost_micro_usd, 15000);

  auto b = ledger.Reserve(Call(k4o, 10000, 16000));  // lowered to fit 85000
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->worst_case_micro_usd, 85000);
  // The provider bills 20000 more than reserved: recorded exactly.
  auto over = ledger.Settle(b->id, "", Usage(10000, 0, 8000, 0));
  ASSERT_THAT(over, IsOk());
  EXPECT_TRUE(over->overspent);
  EXPECT_EQ(over->cost_micro_usd, 105000);
  auto p1 = ledger.Totals("phase:p1");
  ASSERT_THAT(p1, IsOk());
  EXPECT_EQ(p1->settled_micro_usd, 120000);
  EXPECT_EQ(p1->overspent_micro_usd, 20000);
  EXPECT_THAT(ledger.CheckInvariant(), IsOk());
  EXPECT_EQ(ledger.invariant_violations(), 0);
  EXPECT_THAT(ledger.Reserve(Call(kMini, 1, 1)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("phase:p1 is over its cap (overspent 0 tokens, 20000 micro-USD")));
  // Other phases go on; the run level still had room.
  EXPECT_THAT(ledger.Reserve(Call(kMini, 1, 1, "docs", "p2")), IsOk());
}

TEST(BudgetLedgerTest, WarnsOnceAt75And90Percent) {
  std::vector<std::string> warnings;
  BudgetLedger::Options options = OneTierOptions(Cap(10000, 0));
  options.on_warning = [&](const v1::BudgetWarning& w) {
    warnings.push_back(absl::StrCat(w.scope(), " ", w.dimension(), " ", w.percent(), " ",
                                    w.used(), "/", w.cap()));
  };
  BudgetLedger ledger(Config(), options);
  auto a = ledger.Reserve(Call(kMini, 7000, 500));
  ASSERT_THAT(a, IsOk());
  EXPECT_THAT(warnings, ElementsAre("phase:p1 tokens 75 7500/10000"));
  ASSERT_THAT(ledger.Release(a->id), IsOk());
  auto b = ledger.Reserve(Call(kMini, 9000, 500));
  ASSERT_THAT(b, IsOk());
  EXPECT_THAT(warnings,
              ElementsAre("phase:p1 tokens 75 7500/10000", "phase:p1 tokens 90 9500/10000"));
  auto c = ledger.Reserve(Call(kMini, 100, 100));
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(warnings.size(), 2u);
}

TEST(BudgetLedgerTest, MaxPhasesAndMaxWallTime) {
  absl::Time now = absl::FromUnixSeconds(1000);
  BudgetLedger::Options options = OneTierOptions(Cap(0, 0));
  options.limits.max_phases = 1;
  options.limits.max_wall_time = absl::Minutes(10);
  options.started_at = now;
  options.clock = [&now] { return now; };
  BudgetLedger ledger(Config(), options);
  ASSERT_THAT(ledger.Reserve(Call(kMini, 1, 1, "docs", "p1")), IsOk());
  ASSERT_THAT(ledger.Reserve(Call(kMini, 1, 1, "docs", "p1")), IsOk());
  EXPECT_THAT(ledger.Reserve(Call(kMini, 1, 1, "docs", "p2")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("has started 1 phases, its max_phases; phase 'p2'")));
  now += absl::Minutes(11);
  EXPECT_THAT(ledger.Reserve(Call(kMini, 1, 1, "docs", "p1")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("has run 11m, past its max wall time of 10m")));
}

TEST(BudgetLedgerTest, RestoreRebuildsTheSameLedgerWithoutCountingTwice) {
  InMemoryLedgerJournal journal;
  BudgetLedger::Options options = OneTierOptions(Cap(0, 200000));
  options.journal = &journal;
  BudgetLedger ledger(Config(), options);
  auto a = ledger.Reserve(Call(k4o, 1000, 1000));
  auto b = ledger.Reserve(Call(kMini, 1000, 1000, "docs", "p2"));
  auto c = ledger.Reserve(Call(k4o, 2000, 1000));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(ledger.Settle(a->id, "", Usage(900, 50, 700, 100)), IsOk());
  ASSERT_THAT(ledger.Release(b->id), IsOk());

  auto entries = journal.ReadRun("run1");
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 5u);
  auto restored = BudgetLedger::Restore(Config(), options, *entries);
  ASSERT_THAT(restored, IsOk());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals((*restored)->Report(),
                                                                 ledger.Report()))
      << (*restored)->Report().DebugString() << ledger.Report().DebugString();
  EXPECT_THAT((*restored)->OpenReservations(), ElementsAre(c->id));
  // The restarted supervisor releases the call that died with it and goes on
  // appending after the last entry.
  ASSERT_THAT((*restored)->Release(c->id), IsOk());
  ASSERT_THAT((*restored)->Reserve(Call(kMini, 1, 1)), IsOk());
  EXPECT_EQ(journal.ReadRun("run1")->size(), 7u);
  EXPECT_EQ((*restored)->Totals("run")->settled_micro_usd,
            ledger.Totals("run")->settled_micro_usd);

  // A journal that settles the same reservation twice is refused.
  std::vector<LedgerEntry> doubled = *entries;
  doubled.push_back(doubled[3]);
  doubled.back().sequence = 6;
  EXPECT_THAT(BudgetLedger::Restore(Config(), options, doubled),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("is not open")));
  std::vector<LedgerEntry> gap = *entries;
  gap.erase(gap.begin() + 1);
  EXPECT_THAT(BudgetLedger::Restore(Config(), options, gap),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("expected entry 2, found entry 3")));
}

TEST(BudgetLedgerTest, JournalFailureLeavesTheLedgerUnchanged) {
  InMemoryLedgerJournal journal;
  BudgetLedger::Options options = OneTierOptions(Cap(0, 0));
  options.journal = &journal;
  BudgetLedger ledger(Config(), options);
  // Another writer took sequence 1.
  LedgerEntry foreign;
  foreign.run_id = "run1";
  foreign.sequence = 1;
  ASSERT_THAT(journal.Append(foreign), IsOk());
  EXPECT_THAT(ledger.Reserve(Call(kMini, 1, 1)), StatusHasCode(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(ledger.OpenReservations(), IsEmpty());
  EXPECT_EQ(ledger.Totals("run")->reserved_tokens, 0);
}

TEST(RunLimitsTest, FromSpec) {
  v1::RunSpec spec;
  *spec.mutable_budget() = Cap(1000000, 5000000);
  spec.set_max_phases(3);
  spec.mutable_max_wall_time()->set_seconds(3600);
  v1::TierSpec* tier = spec.add_tiers();
  tier->set_tier_id("t1");
  v1::PhaseSpec* docs = tier->add_phases();
  docs->set_phase_id("p1");
  docs->set_task_category("docs");
  v1::PhaseSpec* own = tier->add_phases();
  own->set_phase_id("p2");
  own->set_task_category("docs");
  *own->mutable_budget() = Cap(5000, 7000);
  auto limits = RunLimits::FromSpec(spec, Config().strategy);
  ASSERT_THAT(limits, IsOk());
  EXPECT_EQ(limits->max_phases, 3);
  EXPECT_EQ(limits->max_wall_time, absl::Hours(1));
  ASSERT_EQ(limits->phases.size(), 2u);
  EXPECT_EQ(limits->phases[0].cap.max_tokens(), 80000);  // docs' phase_token_cap
  EXPECT_EQ(limits->phases[1].cap.max_tokens(), 5000);
  EXPECT_EQ(limits->phases[1].cap.max_cost_micro_usd(), 7000);

  own->mutable_budget()->set_max_cost_micro_usd(-1);
  EXPECT_THAT(RunLimits::FromSpec(spec, Config().strategy),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tiers[0].phases[1].budget.max_cost_micro_usd must not be "
                                 "negative, got -1")));
  own->mutable_budget()->set_max_cost_micro_usd(0);
  own->set_phase_id("p1");
  EXPECT_THAT(RunLimits::FromSpec(spec, Config().strategy),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tiers[0].phases[1].phase_id 'p1' is used twice")));
}

}  // namespace
}  // namespace autopack::policy
