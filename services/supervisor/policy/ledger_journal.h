// Durable record of a run's budget ledger (DESIGN.md §2–3). The BudgetLedger
// appends one entry per reservation, settlement and release, before the change
// becomes visible, so a restarted supervisor rebuilds the exact ledger from the
// journal (BudgetLedger::Restore) without counting anything twice.
//
// Implementations: InMemoryLedgerJournal (below, tests and single-process use);
// the SQLite and PostgreSQL stores in services/supervisor/store/.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_POLICY_LEDGER_JOURNAL_H_
#define AUTOPACK_SERVICES_SUPERVISOR_POLICY_LEDGER_JOURNAL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autopack/v1/common.pb.h"

namespace autopack::policy {

// Stored as its integer value; never renumber.
enum class LedgerEntryKind : int {
  kReserve = 1,  // worst case of a call about to be made
  kSettle = 2,   // what the call actually used; ends the reservation
  kRelease = 3,  // the call was not made or failed unbilled; ends the reservation
};

struct LedgerEntry {
  std::string run_id;
  // Per run, assigned by the ledger: 1, 2, 3, ... without gaps.
  int64_t sequence = 0;
  LedgerEntryKind kind = LedgerEntryKind::kReserve;
  // Unique within the run; a settle or release names the reserve it ends.
  std::string reservation_id;
  std::string tier_id;
  std::string phase_id;
  // "builder" or "auditor".
  std::string role;
  // kReserve: the model reserved for. kSettle: the model that answered.
  std::string model;
  // kReserve: worst-case tokens and micro-USD held. kSettle: actual tokens and
  // exact micro-USD billed. kRelease: zero.
  int64_t tokens = 0;
  int64_t cost_micro_usd = 0;
  // kReserve: the output-token limit granted to the call.
  int64_t output_limit = 0;
  // kSettle: usage exactly as the provider reported it.
  v1::TokenUsage usage;
  absl::Time time = absl::UnixEpoch();
};

// Append-only, per-run journal of ledger entries. Thread-safe.
class LedgerJournal {
 public:
  virtual ~LedgerJournal() = default;

  // Durably stores `entry`; returns only once it survives a crash.
  // ALREADY_EXISTS when (run_id, sequence) is already stored: the ledger never
  // reuses a sequence, so this means a second writer for the run.
  virtual absl::Status Append(const LedgerEntry& entry) = 0;

  // Every entry of the run in sequence order; empty for an unknown run.
  virtual absl::StatusOr<std::vector<LedgerEntry>> ReadRun(absl::string_view run_id) const = 0;
};

class InMemoryLedgerJournal : public LedgerJournal {
 public:
  absl::Status Append(const LedgerEntry& entry) override;
  absl::StatusOr<std::vector<LedgerEntry>> ReadRun(absl::string_view run_id) const override;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::map<int64_t, LedgerEntry>> runs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace autopack::policy

#endif  // AUTOPACK_SERVICES_SUPERVISOR_POLICY_LEDGER_JOURNAL_H_
