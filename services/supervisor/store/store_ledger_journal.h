// The budget ledger's journal (policy::LedgerJournal) for one run, kept in
// the Store and fenced by the run's lease: once another replica claims the
// run, Append fails with ABORTED, so a replica that lost a run can never
// reserve or settle budget for it again.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_STORE_STORE_LEDGER_JOURNAL_H_
#define AUTOPACK_SERVICES_SUPERVISOR_STORE_STORE_LEDGER_JOURNAL_H_

#include <string>
#include <vector>

#include "services/supervisor/policy/ledger_journal.h"
#include "services/supervisor/store/store.h"

namespace autopack::supervisor {

class StoreLedgerJournal : public policy::LedgerJournal {
 public:
  // `store` must outlive the journal. Renewing the lease does not change
  // what fences (owner and epoch), so a copy taken at claim time stays valid.
  StoreLedgerJournal(Store* store, Lease lease) : store_(store), lease_(std::move(lease)) {}

  // Commits the entry on its own. INVALID_ARGUMENT for another run's entry;
  // ALREADY_EXISTS for a taken sequence or a reservation already ended.
  absl::Status Append(const policy::LedgerEntry& entry) override;

  // Any run's entries, in sequence order; empty for an unknown run.
  absl::StatusOr<std::vector<policy::LedgerEntry>> ReadRun(
      absl::string_view run_id) const override;

 private:
  Store* const store_;
  const Lease lease_;
};

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_STORE_STORE_LEDGER_JOURNAL_H_
