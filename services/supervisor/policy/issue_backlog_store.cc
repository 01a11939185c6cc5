#include "services/supervisor/policy/issue_backlog_store.h"

namespace autopack::policy {

absl::StatusOr<BacklogEntry> InMemoryIssueBacklogStore::Update(
    absl::string_view project_id, absl::string_view fingerprint,
    const std::function<absl::Status(BacklogEntry&)>& mutate) {
  absl::MutexLock lock(&mu_);
  const auto key = std::make_pair(std::string(project_id), std::string(fingerprint));
  BacklogEntry entry;
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    entry = it->second;
  } else {
    entry.project_id = key.first;
    entry.fingerprint = key.second;
  }
  absl::Status status = mutate(entry);
  if (!status.ok()) return status;
  entries_[key] = entry;
  return entry;
}

absl::StatusOr<std::vector<BacklogEntry>> InMemoryIssueBacklogStore::List(
    absl::string_view project_id) const {
  absl::MutexLock lock(&mu_);
  std::vector<BacklogEntry> out;
  for (const auto& [key, entry] : entries_) {
    if (key.first == project_id) out.push_back(entry);
  }
  return out;
}

}  // namespace autopack::policy
