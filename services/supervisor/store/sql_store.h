// The Store on any SqlConnection: every query is written once, in SQL both
// SQLite and PostgreSQL accept, with the differences in SqlDialect. The
// database-specific halves (connections, error codes, cross-process
// notification) live in sqlite_store and postgres_store.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_STORE_SQL_STORE_H_
#define AUTOPACK_SERVICES_SUPERVISOR_STORE_SQL_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/supervisor/store/migrations.h"
#include "services/supervisor/store/sql_connection.h"
#include "services/supervisor/store/store.h"

namespace autopack::supervisor {

class SqlStore : public Store {
 public:
  using Connector = std::function<absl::StatusOr<std::unique_ptr<SqlConnection>>()>;

  // Uses at most `pool_size` connections made by `connect`. Call Init() first.
  SqlStore(Connector connect, SqlDialect dialect, int pool_size, StoreOptions options);
  ~SqlStore() override;

  // Connects and applies the embedded migrations.
  absl::StatusOr<MigrationReport> Init();

  absl::StatusOr<CreateRunResult> CreateRun(const v1::RunSpec& spec,
                                            const std::string& created_by,
                                            const std::vector<v1::RunEvent>& events) override;
  absl::StatusOr<RunRecord> GetRun(const std::string& run_id) override;
  absl::StatusOr<ListRunsPage> ListRuns(const ListRunsQuery& query) override;
  absl::Status RequestCancel(const std::string& run_id, const std::string& reason) override;
  absl::Status ResumeRun(const std::string& run_id, const v1::RunSpec& spec,
                         const std::vector<v1::RunEvent>& events) override;
  absl::StatusOr<CommitResult> Commit(const Lease& lease, const Transition& transition) override;
  absl::StatusOr<std::vector<Lease>> ClaimRuns(const std::string& owner, int max_runs,
                                               absl::Duration ttl) override;
  absl::StatusOr<Lease> RenewLease(const Lease& lease, absl::Duration ttl) override;
  absl::Status ReleaseLease(const Lease& lease) override;
  absl::StatusOr<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id,
                                                          const std::string& phase_id) override;
  absl::StatusOr<std::vector<policy::LedgerEntry>> ReadLedger(const std::string& run_id) override;
  absl::StatusOr<std::vector<v1::RunEvent>> ReadEvents(const std::string& run_id,
                                                       int64_t after_sequence,
                                                       int limit) override;
  absl::StatusOr<std::vector<v1::RunEvent>> WaitForEvents(const std::string& run_id,
                                                          int64_t after_sequence,
                                                          absl::Time deadline) override;
  absl::StatusOr<IssuePage> ListRunIssues(const std::string& run_id,
                                          const IssueQuery& query) override;

  // policy::IssueBacklogStore.
  absl::StatusOr<policy::BacklogEntry> Update(
      absl::string_view project_id, absl::string_view fingerprint,
      const std::function<absl::Status(policy::BacklogEntry&)>& mutate) override;
  absl::StatusOr<std::vector<policy::BacklogEntry>> List(
      absl::string_view project_id) const override;

  // Wakes WaitForEvents callers so they re-read. Called after every local
  // commit with events, and by a listener for other processes' commits.
  void NotifyEventsChanged();

 private:
  absl::StatusOr<std::unique_ptr<SqlConnection>> Acquire() const;
  void Return(std::unique_ptr<SqlConnection> connection) const;
  // Runs `body` on a pooled connection, inside a transaction when `write`.
  absl::Status With(bool write,
                    const std::function<absl::Status(SqlConnection&)>& body) const;
  // SQL with the dialect's fragments substituted for NOW_US, ROW_LOCK, CLAIM_LOCK.
  std::string Sql(absl::string_view sql) const;

  absl::StatusOr<RunRecord> ReadRun(SqlConnection& c, const std::string& run_id);
  // Locks the run row; ABORTED unless `lease` still holds the run.
  absl::Status CheckFence(SqlConnection& c, const Lease& lease, int64_t* last_sequence);
  // The error for a lease whose conditional update matched nothing.
  absl::Status LeaseLost(SqlConnection& c, const Lease& lease);
  // Appends `events` numbered after *last_sequence (advanced past them);
  // their sequences go to `sequences` when not null.
  absl::Status AppendEvents(SqlConnection& c, const std::string& run_id,
                            const std::vector<v1::RunEvent>& events, int64_t* last_sequence,
                            std::vector<int64_t>* sequences);
  absl::Status AppendLedger(SqlConnection& c, const std::string& run_id,
                            const policy::LedgerEntry& entry);

  const Connector connect_;
  const SqlDialect dialect_;
  const int pool_size_;
  const StoreOptions options_;

  mutable absl::Mutex pool_mu_;
  mutable std::vector<std::unique_ptr<SqlConnection>> idle_ ABSL_GUARDED_BY(pool_mu_);
  mutable int open_ ABSL_GUARDED_BY(pool_mu_) = 0;

  absl::Mutex events_mu_;
  int64_t events_generation_ ABSL_GUARDED_BY(events_mu_) = 0;
};

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_STORE_SQL_STORE_H_
