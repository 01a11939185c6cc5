// The budget ledger of one run (DESIGN.md §2–3): caps in tokens and micro-USD
// at run, tier and phase level, plus max phases and max wall time.
//
// Protocol, around every LLM call:
//   Reserve(call)          -> the worst case (input estimate + output limit,
//                             priced) is held against every level, or
//                             RESOURCE_EXHAUSTED with the numbers;
//   Settle(id, usage)      -> after the call: the reservation is replaced by the
//                             exact usage and cost the provider reported;
//   Release(id)            -> on every path where the call was not billed.
//
// When the worst case does not fit, Reserve first lowers the output limit to
// what fits (never below the safety profile's min_output_tokens), then, if the
// category and the safety profile allow a step-down, tries each cheaper model
// of the escalation ladder (most expensive first) the same way.
//
// Invariant, at every level, under any concurrency:
//     settled + reserved <= cap + overspent
// where `overspent` is zero unless a provider billed more than was reserved.
// The run loop makes that impossible by construction (the output limit is sent
// as the provider's max tokens; the input estimate is an upper bound), so
// normally settled + reserved <= cap. If a provider overshoots anyway, the
// settlement is still recorded exactly (it was billed): the part that does not
// fit under the cap is added to `overspent`, and a level with overspent > 0
// accepts no further reservation. Every admission is checked strictly: a
// reservation never takes a level above its cap.
//
// Warnings (v1::BudgetWarning) fire once per level and dimension when
// settled + reserved first reaches 75% and 90% of a cap.
//
// Every change is appended to the LedgerJournal (when given) before it takes
// effect; Restore() rebuilds the ledger from those entries after a restart.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_POLICY_BUDGET_LEDGER_H_
#define AUTOPACK_SERVICES_SUPERVISOR_POLICY_BUDGET_LEDGER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autopack/v1/common.pb.h"
#include "autopack/v1/supervisor.pb.h"
#include "services/supervisor/policy/ledger_journal.h"
#include "services/supervisor/policy/policy_config.h"

namespace autopack::policy {

// Status payload type URL that marks a Reserve error as a token or cost cap
// the call does not fit under (not max_phases or max_wall_time).
inline constexpr char kCapShortfallPayload[] = "type.autopack/budget.cap_shortfall";

// True for Reserve's RESOURCE_EXHAUSTED of a token or cost cap: the run may
// pause there and go on once a caller raises the cap.
bool IsCapShortfall(const absl::Status& status);

struct ScopeLimit {
  std::string id;
  v1::Budget cap;  // zero fields: no cap in that dimension
};

struct RunLimits {
  v1::Budget run;
  std::vector<ScopeLimit> tiers;   // spec order
  std::vector<ScopeLimit> phases;  // spec order; ids unique within the run
  int32_t max_phases = 0;                               // 0: no cap
  absl::Duration max_wall_time = absl::ZeroDuration();  // zero: no cap

  // Caps of a spec. A phase without a token cap takes its category's
  // phase_token_cap. INVALID_ARGUMENT naming the field for negative caps and
  // duplicate tier or phase ids.
  static absl::StatusOr<RunLimits> FromSpec(const v1::RunSpec& spec, const Strategy& strategy);
};

struct CallRequest {
  std::string tier_id;
  std::string phase_id;
  std::string role;  // "builder" or "auditor"
  std::string model;
  // The phase's task category (strategy.yaml); decides whether a step-down is allowed.
  std::string category;
  // An upper bound of the prompt's tokens.
  int64_t estimated_input_tokens = 0;
  int64_t requested_output_tokens = 0;
};

struct Reservation {
  std::string id;
  // May be cheaper than the requested model (step-down).
  std::string model;
  // Pass to the provider as its max output tokens; may be lower than asked.
  int64_t output_limit = 0;
  int64_t worst_case_tokens = 0;
  int64_t worst_case_micro_usd = 0;
  // Empty when granted as asked; else what was changed and why.
  std::string adjustment;
};

struct Settlement {
  int64_t tokens = 0;
  int64_t cost_micro_usd = 0;
  // True when the provider billed more than was reserved.
  bool above_reservation = false;
  // True when that excess did not fit under a cap (see the invariant above).
  bool overspent = false;
};

// Where one level (run, tier or phase) or one model stands.
struct LevelTotals {
  std::string scope;  // "run", "tier:<id>", "phase:<id>", or the model name
  v1::Budget cap;
  int64_t settled_tokens = 0;
  int64_t settled_micro_usd = 0;
  int64_t reserved_tokens = 0;
  int64_t reserved_micro_usd = 0;
  int64_t overspent_tokens = 0;
  int64_t overspent_micro_usd = 0;
  int32_t calls = 0;
  v1::TokenUsage usage;
};

class BudgetLedger {
 public:
  struct Options {
    std::string run_id;
    RunLimits limits;
    v1::SafetyProfile safety_profile = v1::SAFETY_PROFILE_NORMAL;
    // Start of the run, for max_wall_time.
    absl::Time started_at = absl::UnixEpoch();
    std::function<absl::Time()> clock = [] { return absl::Now(); };
    // Optional; must outlive the ledger.
    LedgerJournal* journal = nullptr;
    // Optional; called outside the ledger's lock.
    std::function<void(const v1::BudgetWarning&)> on_warning;
  };

  // `config` must outlive the ledger.
  BudgetLedger(const PolicyConfig& config, Options options);

  // Rebuilds a ledger from its journal entries (in sequence order) without
  // journaling them again. Reservations still open are calls that were in
  // flight at the crash: see OpenReservations(). Warnings already due are not
  // repeated. DATA_LOSS when the entries are inconsistent (a gap in sequence,
  // a settle of an unknown or closed reservation, ...).
  static absl::StatusOr<std::unique_ptr<BudgetLedger>> Restore(
      const PolicyConfig& config, Options options, const std::vector<LedgerEntry>& entries);

  // INVALID_ARGUMENT for a malformed call or unknown tier/phase/model;
  // RESOURCE_EXHAUSTED when no allowed variant of the call fits (marked so
  // that IsCapShortfall is true: raising a cap can help), or the run is past
  // max_phases or max_wall_time (unmarked). Journal errors are returned as is
  // and leave the ledger unchanged.
  absl::StatusOr<Reservation> Reserve(const CallRequest& call) ABSL_LOCKS_EXCLUDED(mu_);
  // `model` is the model that answered (empty: the reserved one; a dated
  // snapshot is priced by its family); the cost is priced from it exactly. A
  // usage with unreported_answers > 0 is charged at least the reservation's
  // worst case. NOT_FOUND / FAILED_PRECONDITION for unknown or already closed
  // reservations.
  absl::StatusOr<Settlement> Settle(absl::string_view reservation_id, absl::string_view model,
                                    const v1::TokenUsage& usage) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Release(absl::string_view reservation_id) ABSL_LOCKS_EXCLUDED(mu_);

  // Ids of reservations neither settled nor released.
  std::vector<std::string> OpenReservations() const ABSL_LOCKS_EXCLUDED(mu_);
  // "run", "tier:<id>" or "phase:<id>"; NOT_FOUND otherwise.
  absl::StatusOr<LevelTotals> Totals(absl::string_view scope) const ABSL_LOCKS_EXCLUDED(mu_);
  // Run total, per tier and phase in spec order, per model by cost descending.
  v1::UsageReport Report() const ABSL_LOCKS_EXCLUDED(mu_);
  // INTERNAL naming the level if the invariant does not hold now.
  absl::Status CheckInvariant() const ABSL_LOCKS_EXCLUDED(mu_);
  // Times the ledger found its invariant broken after a change (always 0
  // unless there is a bug); checked after every change.
  int64_t invariant_violations() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Level {
    LevelTotals totals;
    int warned_tokens_percent = 0;
    int warned_cost_percent = 0;
  };
  // The levels a call charges: run, its tier, its phase.
  struct Path {
    Level* levels[3];
  };

  absl::StatusOr<Path> PathFor(absl::string_view tier_id, absl::string_view phase_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Largest output limit of `model` that fits every level of `path`, or -1.
  int64_t MaxOutputThatFits(const Path& path, const ModelPrice& price, int64_t input) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Reservation> Grant(const CallRequest& call, const Path& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string DescribeShortfall(const CallRequest& call, const Path& path, int64_t floor,
                                const std::string& step_down_note) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Append(LedgerEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The settle or release entry that ends an open reservation; NOT_FOUND or
  // FAILED_PRECONDITION when there is none to end.
  absl::StatusOr<LedgerEntry> ClosingEntry(absl::string_view reservation_id,
                                           LedgerEntryKind kind) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies a journaled entry. Returns DATA_LOSS for entries that do not fit
  // the current state (only possible when replaying).
  absl::StatusOr<Settlement> Apply(const LedgerEntry& entry, bool replaying)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CollectWarnings(Level& level, bool emit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckLevel(const Level& level) const;
  void Emit() ABSL_LOCKS_EXCLUDED(mu_);

  const PolicyConfig& config_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::map<std::string, Level> levels_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, LevelTotals> by_model_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, LedgerEntry> open_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> closed_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> phases_started_ ABSL_GUARDED_BY(mu_);
  int64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t invariant_violations_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<v1::BudgetWarning> pending_warnings_ ABSL_GUARDED_BY(mu_);
  absl::Mutex emit_mu_;  // keeps warnings in order
};

}  // namespace autopack::policy

#endif  // AUTOPACK_SERVICES_SUPERVISOR_POLICY_BUDGET_LEDGER_H_
