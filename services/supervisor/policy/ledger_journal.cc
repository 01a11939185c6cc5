#include "services/supervisor/policy/ledger_journal.h"

#include "absl/strings/str_cat.h"

namespace autopack::policy {

absl::Status InMemoryLedgerJournal::Append(const LedgerEntry& entry) {
  if (entry.run_id.empty()) return absl::InvalidArgumentError("ledger entry without run_id");
  absl::MutexLock lock(&mu_);
  auto& run = runs_[entry.run_id];
  if (!run.emplace(entry.sequence, entry).second) {
    return absl::AlreadyExistsError(absl::StrCat("ledger entry ", entry.sequence, " of run '",
                                                 entry.run_id, "' is already stored"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LedgerEntry>> InMemoryLedgerJournal::ReadRun(
    absl::string_view run_id) const {
  absl::MutexLock lock(&mu_);
  std::vector<LedgerEntry> out;
  auto it = runs_.find(std::string(run_id));
  if (it == runs_.end()) return out;
  for (const auto& [sequence, entry] : it->second) out.push_back(entry);
  return out;
}

}  // namespace autopack::policy
