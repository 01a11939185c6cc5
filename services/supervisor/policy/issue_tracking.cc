#include "services/supervisor/policy/issue_tracking.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/issue_fingerprint.h"
#include "services/common/status_macros.h"

namespace autopack::policy {
namespace {

void AddUnique(std::vector<std::string>& list, absl::string_view value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.emplace_back(value);
}

void SortByOccurrences(std::vector<v1::TrackedIssue>& issues) {
  std::stable_sort(issues.begin(), issues.end(),
                   [](const v1::TrackedIssue& a, const v1::TrackedIssue& b) {
                     return a.occurrences() > b.occurrences();
                   });
}

}  // namespace


RunIssueIndex::Recorded RunIssueIndex::Record(absl::string_view tier_id,
                                              absl::string_view phase_id, v1::Issue issue) {
  if (issue.fingerprint().empty()) {
    issue.set_fingerprint(IssueFingerprint(issue.category(), issue.path(), issue.message()));
  }
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[issue.fingerprint()];
  if (entry.occurrences == 0) entry.first_order = ++order_;
  const v1::Severity worst = entry.occurrences == 0
                                ? issue.severity()
                                : std::max(entry.latest.severity(), issue.severity());
  entry.latest = issue;
  entry.latest.set_severity(worst);
  ++entry.occurrences;
  const int32_t in_phase = ++entry.by_phase[std::string(phase_id)];
  entry.tiers[std::string(tier_id)] = true;
  return Recorded{issue.fingerprint(), entry.occurrences, in_phase};
}

std::vector<v1::TrackedIssue> RunIssueIndex::Issues(absl::string_view phase_id) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<int64_t, v1::TrackedIssue>> ordered;
  for (const auto& [fingerprint, entry] : entries_) {
    int32_t occurrences = entry.occurrences;
    if (!phase_id.empty()) {
      auto it = entry.by_phase.find(std::string(phase_id));
      if (it == entry.by_phase.end()) continue;
      occurrences = it->second;
    }
    v1::TrackedIssue tracked;
    *tracked.mutable_issue() = entry.latest;
    tracked.set_occurrences(occurrences);
    tracked.set_runs_seen(1);
    tracked.set_tiers_seen(static_cast<int32_t>(entry.tiers.size()));
    ordered.emplace_back(entry.first_order, std::move(tracked));
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<v1::TrackedIssue> out;
  for (auto& item : ordered) out.push_back(std::move(item.second));
  SortByOccurrences(out);
  return out;
}

absl::StatusOr<BacklogEntry> ProjectBacklog::Record(absl::string_view project_id,
                                                    absl::string_view run_id,
                                                    absl::string_view tier_id, v1::Issue issue,
                                                    absl::Time now) {
  if (project_id.empty() || run_id.empty()) {
    return absl::InvalidArgumentError("project_id and run_id must be set to record an issue");
  }
  if (issue.fingerprint().empty()) {
    issue.set_fingerprint(IssueFingerprint(issue.category(), issue.path(), issue.message()));
  }
  return store_->Update(project_id, issue.fingerprint(), [&](BacklogEntry& entry) {
    if (entry.occurrences == 0) {
      entry.first_run_id = std::string(run_id);
      entry.first_seen = now;
    }
    ++entry.occurrences;
    entry.issue = issue;
    entry.worst_severity = std::max(entry.worst_severity, issue.severity());
    entry.last_run_id = std::string(run_id);
    entry.last_seen = now;
    AddUnique(entry.run_ids, run_id);
    AddUnique(entry.tier_ids, tier_id);
    entry.needs_cleanup = entry.worst_severity == v1::SEVERITY_MINOR &&
                          (static_cast<int>(entry.run_ids.size()) >= kCleanupAfterRuns ||
                           static_cast<int>(entry.tier_ids.size()) >= kCleanupAfterTiers);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<v1::TrackedIssue>> ProjectBacklog::List(
    absl::string_view project_id, v1::Severity min_severity, bool needs_cleanup_only) const {
  ASSIGN_OR_RETURN(std::vector<BacklogEntry> entries, store_->List(project_id));
  std::vector<v1::TrackedIssue> out;
  for (const BacklogEntry& entry : entries) {
    if (entry.worst_severity < min_severity) continue;
    if (needs_cleanup_only && !entry.needs_cleanup) continue;
    v1::TrackedIssue tracked;
    *tracked.mutable_issue() = entry.issue;
    tracked.mutable_issue()->set_severity(entry.worst_severity);
    tracked.set_occurrences(static_cast<int32_t>(entry.occurrences));
    tracked.set_runs_seen(static_cast<int32_t>(entry.run_ids.size()));
    tracked.set_tiers_seen(static_cast<int32_t>(entry.tier_ids.size()));
    tracked.set_needs_cleanup(entry.needs_cleanup);
    tracked.set_first_run_id(entry.first_run_id);
    tracked.set_last_run_id(entry.last_run_id);
    out.push_back(std::move(tracked));
  }
  SortByOccurrences(out);
  return out;
}

}  // namespace autopack::policy
