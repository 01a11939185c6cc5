#include "services/supervisor/store/store_ledger_journal.h"

namespace autopack::supervisor {

absl::Status StoreLedgerJournal::Append(const policy::LedgerEntry& entry) {
  Transition transition;
  transition.ledger.push_back(entry);
  return store_->Commit(lease_, transition).status();
}

absl::StatusOr<std::vector<policy::LedgerEntry>> StoreLedgerJournal::ReadRun(
    absl::string_view run_id) const {
  return store_->ReadLedger(std::string(run_id));
}

}  // namespace autopack::supervisor
