// Must show 2: 64 threads hammer one run's ledger with random reservations,
// settlements above and below the reservation, and releases. A journal that
// recomputes every level from the entries alone checks the invariant at every
// instant (entries reach the journal one at a time, in order, under the
// ledger's lock); the ledger checks its own after every change.
#include <atomic>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"
#include "services/supervisor/policy/budget_ledger.h"

namespace autopack::policy {
namespace {

constexpr int kThreads = 64;
constexpr int kOpsPerThread = 300;
constexpr int kTiers = 4;
constexpr int kPhasesPerTier = 4;

struct Sum {
  int64_t tokens = 0;
  int64_t cost = 0;
  void Add(const Sum& o) {
    tokens += o.tokens;
    cost += o.cost;
  }
};

// Recomputes settled and reserved per level from journal entries only.
class CheckingJournal : public LedgerJournal {
 public:
  explicit CheckingJournal(std::map<std::string, v1::Budget> caps) : caps_(std::move(caps)) {}

  absl::Status Append(const LedgerEntry& e) override {
    absl::MutexLock lock(&mu_);
    if (e.sequence != ++last_sequence_) Fail(absl::StrCat("sequence ", e.sequence));
    const std::string scopes[3] = {"run", "tier:" + e.tier_id, "phase:" + e.phase_id};
    if (e.kind == LedgerEntryKind::kReserve) {
      open_[e.reservation_id] = {e.tokens, e.cost_micro_usd};
      for (const std::string& s : scopes) {
        Level& l = levels_[s];
        l.reserved.Add({e.tokens, e.cost_micro_usd});
        // Admission is strict: a reservation never takes a level over its cap.
        Check(s, l, /*allowed_excess=*/false);
      }
      ++reserves_;
      return absl::OkStatus();
    }
    auto it = open_.find(e.reservation_id);
    if (it == open_.end()) {
      Fail("settle/release of an unknown reservation " + e.reservation_id);
      return absl::OkStatus();
    }
    const Sum held = it->second;
    open_.erase(it);
    const bool settle = e.kind == LedgerEntryKind::kSettle;
    for (const std::string& s : scopes) {
      Level& l = levels_[s];
      l.reserved.Add({-held.tokens, -held.cost});
      if (settle) {
        l.settled.Add({e.tokens, e.cost_micro_usd});
        l.excess.Add({std::max<int64_t>(0, e.tokens - held.tokens),
                      std::max<int64_t>(0, e.cost_micro_usd - held.cost)});
      }
      Check(s, l, /*allowed_excess=*/true);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<LedgerEntry>> ReadRun(absl::string_view) const override {
    return absl::UnimplementedError("not needed");
  }

  std::vector<std::string> failures() const {
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  Sum Settled(const std::string& scope) const {
    absl::MutexLock lock(&mu_);
    auto it = levels_.find(scope);
    return it == levels_.end() ? Sum() : it->second.settled;
  }
  int64_t reserves() const {
    absl::MutexLock lock(&mu_);
    return reserves_;
  }

 private:
  struct Level {
    Sum settled, reserved, excess;
  };

  // settled + reserved <= cap, loosened only by what providers billed above
  // their reservations at this level.
  void Check(const std::string& scope, const Level& l, bool allowed_excess)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const v1::Budget& cap = caps_.at(scope);
    const int64_t tokens = l.settled.tokens + l.reserved.tokens;
    const int64_t cost = l.settled.cost + l.reserved.cost;
    if (l.reserved.tokens < 0 || l.reserved.cost < 0) Fail(scope + ": negative reserved");
    if (cap.max_tokens() > 0 &&
        tokens > cap.max_tokens() + (allowed_excess ? l.excess.tokens : 0)) {
      Fail(absl::StrCat(scope, ": ", tokens, " tokens > cap ", cap.max_tokens()));
    }
    if (cap.max_cost_micro_usd() > 0 &&
        cost > cap.max_cost_micro_usd() + (allowed_excess ? l.excess.cost : 0)) {
      Fail(absl::StrCat(scope, ": ", cost, " micro-USD > cap ", cap.max_cost_micro_usd()));
    }
  }
  void Fail(const std::string& what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (failures_.size() < 20) failures_.push_back(what);
  }

  const std::map<std::string, v1::Budget> caps_;
  mutable absl::Mutex mu_;
  int64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t reserves_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, Sum> open_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Level> levels_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
};

v1::Budget Cap(int64_t tokens, int64_t micro_usd) {
  v1::Budget budget;
  budget.set_max_tokens(tokens);
  budget.set_max_cost_micro_usd(micro_usd);
  return budget;
}

void Hammer(bool with_overshoot) {
  auto config = PolicyConfig::LoadDir("config");
  ASSERT_THAT(config, IsOk());

  BudgetLedger::Options options;
  options.run_id = "hammered";
  options.limits.run = Cap(3500000, 40000000);
  std::map<std::string, v1::Budget> caps = {{"run", options.limits.run}};
  std::vector<std::pair<std::string, std::string>> phases;  // (tier, phase)
  for (int t = 0; t < kTiers; ++t) {
    const std::string tier = absl::StrCat("t", t);
    // Caps in neither, either or both dimensions, at every level.
    const v1::Budget tier_cap = t == 0   ? Cap(0, 0)
                                : t == 1 ? Cap(600000, 0)
                                : t == 2 ? Cap(0, 10000000)
                                         : Cap(900000, 12000000);
    options.limits.tiers.push_back({tier, tier_cap});
    caps["tier:" + tier] = tier_cap;
    for (int p = 0; p < kPhasesPerTier; ++p) {
      const std::string phase = absl::StrCat(tier, "p", p);
      const v1::Budget phase_cap = p == 0   ? Cap(0, 0)
                                   : p == 1 ? Cap(150000, 0)
                                   : p == 2 ? Cap(0, 2000000)
                                            : Cap(300000, 4000000);
      options.limits.phases.push_back({phase, phase_cap});
      caps["phase:" + phase] = phase_cap;
      phases.emplace_back(tier, phase);
    }
  }
  CheckingJournal journal(caps);
  options.journal = &journal;
  std::atomic<int64_t> warnings{0};
  options.on_warning = [&](const v1::BudgetWarning&) { warnings.fetch_add(1); };
  BudgetLedger ledger(*config, options);

  const std::vector<std::string> models = {"openai/gpt-4o-mini", "openai/gpt-4o",
                                           "openai/gpt-4-turbo"};
  const std::vector<std::string> categories = {"docs", "security_auth_change", "tests"};
  std::vector<std::map<std::string, Sum>> settled_by_thread(kThreads);
  std::atomic<int64_t> refused{0}, settles_above{0}, overspent{0}, releases{0};
  std::atomic<int64_t> unexpected{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937_64 rng(1000 + i);
      auto pick = [&rng](int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
      };
      for (int op = 0; op < kOpsPerThread; ++op) {
        const auto& [tier, phase] = phases[pick(0, phases.size() - 1)];
        CallRequest call{tier,
                         phase,
                         pick(0, 1) ? "builder" : "auditor",
                         models[pick(0, models.size() - 1)],
                         categories[pick(0, categories.size() - 1)],
                         pick(500, 4000),
                         pick(200, 2000)};
        absl::StatusOr<Reservation> r = ledger.Reserve(call);
        if (!r.ok()) {
          if (r.status().code() != absl::StatusCode::kResourceExhausted) unexpected++;
          refused++;
          continue;
        }
        if (r->output_limit > call.requested_output_tokens) unexpected++;
        const int64_t action = pick(0, 99);
        if (action < 30) {
          if (!ledger.Release(r->id).ok()) unexpected++;
          releases++;
          continue;
        }
        const bool above = with_overshoot && action >= 65;
        v1::TokenUsage usage;
        const int64_t input = above ? call.estimated_input_tokens + pick(1, 3000)
                                    : pick(0, call.estimated_input_tokens);
        const int64_t cached = pick(0, input / 4);
        usage.set_input_tokens(input - cached);
        usage.set_cached_input_tokens(cached);
        const int64_t output = above ? r->output_limit + pick(1, 2000) : pick(0, r->output_limit);
        const int64_t reasoning = pick(0, output / 3);
        usage.set_output_tokens(output - reasoning);
        usage.set_reasoning_tokens(reasoning);
        absl::StatusOr<int64_t> expected_cost = config->prices.Cost(r->model, usage);
        absl::StatusOr<Settlement> s = ledger.Settle(r->id, "", usage);
        if (!s.ok() || !expected_cost.ok() || s->cost_micro_usd != *expected_cost) {
          unexpected++;
          continue;
        }
        if (s->above_reservation) settles_above++;
        if (s->overspent) overspent++;
        const Sum sum{input + output, *expected_cost};
        for (const std::string& scope : {std::string("run"), "tier:" + tier, "phase:" + phase}) {
          settled_by_thread[i][scope].Add(sum);
        }
        if (op % 50 == 0 && !ledger.CheckInvariant().ok()) unexpected++;
      }
    });
  }
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_THAT(journal.failures(), ::testing::IsEmpty());
  EXPECT_EQ(ledger.invariant_violations(), 0);
  EXPECT_THAT(ledger.CheckInvariant(), IsOk());
  EXPECT_THAT(ledger.OpenReservations(), ::testing::IsEmpty());

  // The run really was contended: calls were granted, refused and settled.
  EXPECT_GT(journal.reserves(), 800);
  EXPECT_GT(refused.load(), 100);
  EXPECT_GT(releases.load(), 200);
  if (with_overshoot) {
    EXPECT_GT(settles_above.load(), 200);
    EXPECT_GT(overspent.load(), 0);
  } else {
    EXPECT_EQ(settles_above.load(), 0);
    EXPECT_EQ(overspent.load(), 0);
  }
  EXPECT_GT(warnings.load(), 0);
  std::cout << "reserves " << journal.reserves() << ", refused " << refused << ", releases "
            << releases << ", settled above " << settles_above << ", overspent " << overspent
            << ", warnings " << warnings << "\n";

  // Settled totals equal the sum of the settled calls, to the micro-dollar, at
  // every level; nothing stays reserved.
  std::map<std::string, Sum> expected;
  for (const auto& by_scope : settled_by_thread) {
    for (const auto& [scope, sum] : by_scope) expected[scope].Add(sum);
  }
  for (const auto& [scope, cap] : caps) {
    SCOPED_TRACE(scope);
    auto totals = ledger.Totals(scope);
    ASSERT_THAT(totals, IsOk());
    EXPECT_EQ(totals->settled_micro_usd, expected[scope].cost);
    EXPECT_EQ(totals->settled_tokens, expected[scope].tokens);
    EXPECT_EQ(journal.Settled(scope).cost, expected[scope].cost);
    EXPECT_EQ(totals->reserved_micro_usd, 0);
    EXPECT_EQ(totals->reserved_tokens, 0);
    if (!with_overshoot) {
      EXPECT_EQ(totals->overspent_micro_usd, 0);
      EXPECT_EQ(totals->overspent_tokens, 0);
    }
  }
  EXPECT_GT(expected["run"].cost, 0);
}

TEST(BudgetLedgerConcurrencyTest, SixtyFourThreadsWithSettlementsAboveAndBelow) {
  Hammer(/*with_overshoot=*/true);
}

// Settlements never exceed their reservation: then settled + reserved <= cap
// holds strictly at every level and instant.
TEST(BudgetLedgerConcurrencyTest, SixtyFourThreadsWithinReservations) {
  Hammer(/*with_overshoot=*/false);
}

}  // namespace
}  // namespace autopack::policy
