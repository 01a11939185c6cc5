// Issue tracking (DESIGN.md §3, "Issues"): the per-run index of
// distinct issues, and the project backlog where minor issues age.
//
// Aging: a minor issue's age is the number of distinct runs and of distinct
// tier ids it was seen in (so the same issue seen 5 times in one run ages
// once). At 3 runs or 2 tiers it becomes `needs_cleanup`. A major issue never
// ages into acceptance: it keeps blocking and is never marked needs_cleanup,
// and once seen as major an entry stays major.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_POLICY_ISSUE_TRACKING_H_
#define AUTOPACK_SERVICES_SUPERVISOR_POLICY_ISSUE_TRACKING_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autopack/v1/common.pb.h"
#include "autopack/v1/supervisor.pb.h"
#include "services/supervisor/policy/issue_backlog_store.h"

namespace autopack::policy {

inline constexpr int kCleanupAfterRuns = 3;
inline constexpr int kCleanupAfterTiers = 2;

// Distinct issues of one run, with occurrence counts per run and per phase.
// Thread-safe. Rebuilt after a restart by recording the run's stored issues again.
class RunIssueIndex {
 public:
  struct Recorded {
    std::string fingerprint;
    int32_t run_occurrences = 0;
    int32_t phase_occurrences = 0;
  };
  // Sets issue.fingerprint if empty.
  Recorded Record(absl::string_view tier_id, absl::string_view phase_id, v1::Issue issue);
  // Most frequent first; `phase_id` empty for the whole run.
  std::vector<v1::TrackedIssue> Issues(absl::string_view phase_id = "") const;

 private:
  struct Entry {
    v1::Issue latest;
    int32_t occurrences = 0;
    std::map<std::string, int32_t> by_phase;
    std::map<std::string, bool> tiers;
    int64_t first_order = 0;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  int64_t order_ ABSL_GUARDED_BY(mu_) = 0;
};

// A project's backlog over a store.
class ProjectBacklog {
 public:
  // `store` must outlive the backlog.
  explicit ProjectBacklog(IssueBacklogStore* store) : store_(store) {}

  // Records one occurrence of `issue` in a run's tier; ages it as above.
  absl::StatusOr<BacklogEntry> Record(absl::string_view project_id, absl::string_view run_id,
                                      absl::string_view tier_id, v1::Issue issue, absl::Time now);
  // The backlog, most frequent first, filtered as ListIssues asks.
  absl::StatusOr<std::vector<v1::TrackedIssue>> List(absl::string_view project_id,
                                                     v1::Severity min_severity,
                                                     bool needs_cleanup_only) const;

 private:
  IssueBacklogStore* store_;
};

}  // namespace autopack::policy

#endif  // AUTOPACK_SERVICES_SUPERVISOR_POLICY_ISSUE_TRACKING_H_
