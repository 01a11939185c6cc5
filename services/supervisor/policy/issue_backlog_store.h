// Persistence of a project's issue backlog (DESIGN.md §3, "Issues"). The
// ProjectBacklog decides how issues age; a store only keeps entries and makes
// each read-modify-write atomic, so several supervisors (one PostgreSQL) can
// record issues of the same project at once without losing an update.
//
// Implementations: InMemoryIssueBacklogStore (below); the SQLite and PostgreSQL
// stores in services/supervisor/store/.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_POLICY_ISSUE_BACKLOG_STORE_H_
#define AUTOPACK_SERVICES_SUPERVISOR_POLICY_ISSUE_BACKLOG_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autopack/v1/common.pb.h"

namespace autopack::policy {

// One distinct issue (by fingerprint) of one project.
struct BacklogEntry {
  std::string project_id;
  std::string fingerprint;
  // The latest occurrence.
  v1::Issue issue;
  // The most severe severity ever seen (a major issue stays major).
  v1::Severity worst_severity = v1::SEVERITY_UNSPECIFIED;
  // Occurrences across all runs.
  int64_t occurrences = 0;
  // Distinct run ids and distinct tier ids it was seen in, first-seen order.
  // Their sizes are the issue's age; see ProjectBacklog.
  std::vector<std::string> run_ids;
  std::vector<std::string> tier_ids;
  std::string first_run_id;
  std::string last_run_id;
  bool needs_cleanup = false;
  absl::Time first_seen = absl::UnixEpoch();
  absl::Time last_seen = absl::UnixEpoch();
};

// Thread-safe.
class IssueBacklogStore {
 public:
  virtual ~IssueBacklogStore() = default;

  // Atomically reads the entry for (project_id, fingerprint), lets `mutate`
  // change it, and writes it back; returns what was written. A new entry is
  // passed with only project_id and fingerprint set. If `mutate` fails,
  // nothing is written and its status is returned.
  virtual absl::StatusOr<BacklogEntry> Update(
      absl::string_view project_id, absl::string_view fingerprint,
      const std::function<absl::Status(BacklogEntry&)>& mutate) = 0;

  // Every entry of the project, in no particular order.
  virtual absl::StatusOr<std::vector<BacklogEntry>> List(absl::string_view project_id) const = 0;
};

class InMemoryIssueBacklogStore : public IssueBacklogStore {
 public:
  absl::StatusOr<BacklogEntry> Update(
      absl::string_view project_id, absl::string_view fingerprint,
      const std::function<absl::Status(BacklogEntry&)>& mutate) override;
  absl::StatusOr<std::vector<BacklogEntry>> List(absl::string_view project_id) const override;

 private:
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, BacklogEntry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace autopack::policy

#endif  // AUTOPACK_SERVICES_SUPERVISOR_POLICY_ISSUE_BACKLOG_STORE_H_
