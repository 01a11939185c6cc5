// Durable state of the Supervisor: runs with their tier and phase status,
// phase attempts, budget ledger entries, issues and the per-run event log.
//
// Contract shared by every implementation (SQLite, PostgreSQL):
// - Everything a run loop step changes goes through Commit(), which applies it
//   in ONE transaction: either all of it is durable, or none of it is.
// - Every write on a run is fenced by the caller's Lease: if another replica
//   claimed the run since (or the lease expired), the write fails with ABORTED
//   and changes nothing, so a replica that lost a run can never write to it.
// - Lease times come from the database's clock, never the replica's.
// - Errors: NOT_FOUND (unknown run/entry), ALREADY_EXISTS (duplicate key, e.g.
//   a ledger entry reserved twice), ABORTED (lease lost, serialization or lock
//   conflict: retry from a fresh read), FAILED_PRECONDITION (an operation that
//   does not fit the stored state), UNAVAILABLE (the database cannot be
//   reached), INVALID_ARGUMENT (a malformed request such as a bad page token).
// All methods are thread-safe.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_STORE_STORE_H_
#define AUTOPACK_SERVICES_SUPERVISOR_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autopack/v1/auditor.pb.h"
#include "autopack/v1/builder.pb.h"
#include "autopack/v1/common.pb.h"
#include "autopack/v1/gitadapter.pb.h"
#include "autopack/v1/supervisor.pb.h"
#include "services/supervisor/policy/issue_backlog_store.h"
#include "services/supervisor/policy/ledger_journal.h"

namespace autopack::supervisor {

// The right of one replica to drive one run. `epoch` grows with every claim,
// so a stale holder is recognised even if the owner name is reused.
struct Lease {
  std::string run_id;
  std::string owner;
  int64_t epoch = 0;
  absl::Time expires_at;  // database clock
};

// A run as stored. `run` carries spec, state, reason, times, tier and phase
// status (without usage: that comes from the ledger), branch, head, owner
// (lease holder) and created_by (the caller that created it).
struct RunRecord {
  v1::Run run;
  std::string spec_hash;  // hex SHA-256 of the deterministic spec encoding
  bool cancel_requested = false;
  std::string cancel_reason;
  int64_t lease_epoch = 0;
  absl::Time lease_expires_at = absl::UnixEpoch();  // epoch when never leased
  int64_t last_sequence = 0;  // sequence of the run's latest event
};

struct CreateRunResult {
  RunRecord record;
  bool already_existed = false;
};

struct ListRunsQuery {
  std::vector<v1::RunState> states;  // empty: all
  std::string project_id;            // empty: all
  // Only runs this caller created; nullopt: every caller's. ("" selects the
  // runs created without authentication.)
  std::optional<std::string> created_by;
  int page_size = 50;                // 1..500
  std::string page_token;            // from ListRunsPage::next_page_token
};

struct ListRunsPage {
  std::vector<RunRecord> runs;  // newest first
  std::string next_page_token;  // empty on the last page
};

// How far an attempt got; each step's outcome is stored with it, so a
// restarted supervisor resumes after the last durable step.
enum class AttemptStep {
  kStarted = 1,     // models chosen, nothing called yet
  kBuilt = 2,       // `build` holds the Builder's response
  kReviewed = 3,    // `review` holds the Auditor's response
  kApplied = 4,     // `apply` holds the commit
  kChecked = 5,     // `check` holds the check result
  kRolledBack = 6,  // the commit was rolled back to `rolled_back_to`
  kSucceeded = 7,   // the phase completed with this attempt
  kFailed = 8,      // the attempt ended; `feedback` says why
};

struct AttemptRecord {
  std::string phase_id;
  int32_t attempt = 0;  // 1-based
  AttemptStep step = AttemptStep::kStarted;
  std::string builder_model;
  std::string auditor_model;
  std::optional<v1::GeneratePatchResponse> build;
  std::optional<v1::ReviewPatchResponse> review;
  std::optional<v1::ApplyPatchResponse> apply;
  std::optional<v1::CheckResult> check;
  std::string rolled_back_to;
  std::optional<v1::AttemptFeedback> feedback;
};

// Fields of the run row to change; unset fields keep their value.
struct RunChange {
  std::optional<v1::RunState> state;
  std::optional<std::string> state_reason;
  std::optional<absl::Time> started_at;
  std::optional<absl::Time> finished_at;
  std::optional<std::string> branch;
  std::optional<std::string> head_sha;
};

// Everything one step of the run loop makes durable, applied atomically.
struct Transition {
  RunChange run;
  // By tier_id: state. Phases inside are ignored (use `phases`).
  std::vector<v1::TierStatus> tiers;
  // By phase_id: state, attempts, commit_sha, builder_model, auditor_model,
  // selection_rationale, last_error (all written; usage is ignored).
  std::vector<v1::PhaseStatus> phases;
  // Inserted or replaced by (phase_id, attempt).
  std::vector<AttemptRecord> attempts;
  // Budget ledger journal entries (run_id must be the lease's run), as the
  // BudgetLedger numbered them. ALREADY_EXISTS if a sequence is taken or a
  // reservation was already reserved/settled/released: nothing counts twice.
  std::vector<policy::LedgerEntry> ledger;
  // Counted in the run's issue index (by fingerprint). The project backlog
  // is policy::IssueBacklogStore, which every Store also is.
  std::vector<v1::Issue> issues;
  // Appended in order; the store sets run_id, sequence and (if unset) time.
  std::vector<v1::RunEvent> events;
};

struct CommitResult {
  // Sequence numbers given to Transition::events, in order.
  std::vector<int64_t> sequences;
  // Run-index occurrences of each Transition::issues entry after it.
  std::vector<int32_t> issue_occurrences;
};

struct IssueQuery {
  v1::Severity min_severity = v1::SEVERITY_UNSPECIFIED;
  int page_size = 100;  // 1..1000
  std::string page_token;
};

struct IssuePage {
  std::vector<v1::TrackedIssue> issues;  // most frequent first
  std::string next_page_token;
};

// A Store is also the project backlog's persistence (Update is one
// transaction holding the entry's row lock, so replicas never lose updates).
class Store : public policy::IssueBacklogStore {
 public:
  ~Store() override = default;

  // Stores a new run in CREATED, its tiers PENDING and phases QUEUED, created
  // by `created_by` (a caller name; empty without authentication), and
  // appends `events` (sequence 1, 2, ...) in the same transaction.
  // spec.run_id must be set. If the id exists: with the same spec (same hash),
  // returns it with already_existed (whoever created it: the caller decides
  // what another caller may see); with a different one, ALREADY_EXISTS.
  virtual absl::StatusOr<CreateRunResult> CreateRun(
      const v1::RunSpec& spec, const std::string& created_by,
      const std::vector<v1::RunEvent>& events) = 0;

  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<RunRecord> GetRun(const std::string& run_id) = 0;

  // Newest first (by creation time, then run id), keyset-paginated.
  virtual absl::StatusOr<ListRunsPage> ListRuns(const ListRunsQuery& query) = 0;

  // Marks the run for cancellation at its next safe point (the lease holder
  // sees it in RunRecord and commits the CANCELLED transition). Unfenced: any
  // caller may ask. FAILED_PRECONDITION if the run already ended.
  virtual absl::Status RequestCancel(const std::string& run_id,
                                     const std::string& reason) = 0;

  // Resumes a run paused at a budget cap: stores `spec` (the run's spec with
  // raised caps; its run_id must be run_id) as the run's spec, sets it
  // RUNNING (claimable again) and appends `events`, in one transaction.
  // Unfenced: a paused run has no driver. FAILED_PRECONDITION unless the run
  // is RUN_STATE_PAUSED_BUDGET, so of concurrent resumes one wins. The spec
  // hash stays that of the created spec (CreateRun retries still match).
  virtual absl::Status ResumeRun(const std::string& run_id, const v1::RunSpec& spec,
                                 const std::vector<v1::RunEvent>& events) = 0;

  // Applies `transition` to lease.run_id atomically, fenced by `lease`:
  // ABORTED (and nothing written) if the lease is no longer held.
  virtual absl::StatusOr<CommitResult> Commit(const Lease& lease,
                                              const Transition& transition) = 0;

  // Claims up to `max_runs` runs in CREATED or RUNNING (or PAUSED_BUDGET with
  // a cancel requested, to be ended) whose lease is absent or expired, oldest first, for `owner` until now + `ttl` (database clock).
  // Concurrent claimers (any number of replicas) never get the same run.
  virtual absl::StatusOr<std::vector<Lease>> ClaimRuns(const std::string& owner,
                                                       int max_runs,
                                                       absl::Duration ttl) = 0;

  // Extends a held lease to now + `ttl`. ABORTED if it was lost (another
  // claim since). An expired lease nobody re-claimed can still be renewed.
  virtual absl::StatusOr<Lease> RenewLease(const Lease& lease, absl::Duration ttl) = 0;

  // Gives the run up (it becomes claimable at once). ABORTED if already lost.
  virtual absl::Status ReleaseLease(const Lease& lease) = 0;

  // Attempts of one phase, by attempt number; empty phase_id: all phases.
  virtual absl::StatusOr<std::vector<AttemptRecord>> ListAttempts(
      const std::string& run_id, const std::string& phase_id) = 0;

  // The run's ledger journal in sequence order (for BudgetLedger::Restore).
  virtual absl::StatusOr<std::vector<policy::LedgerEntry>> ReadLedger(
      const std::string& run_id) = 0;

  // Events of a run with sequence > after_sequence, in order, at most `limit`.
  virtual absl::StatusOr<std::vector<v1::RunEvent>> ReadEvents(const std::string& run_id,
                                                               int64_t after_sequence,
                                                               int limit = 1000) = 0;

  // Like ReadEvents, but if there is none yet, blocks until one is committed
  // (by this process or, on PostgreSQL, any replica) or `deadline` passes;
  // returns an empty list on timeout.
  virtual absl::StatusOr<std::vector<v1::RunEvent>> WaitForEvents(
      const std::string& run_id, int64_t after_sequence, absl::Time deadline) = 0;

  // The run's distinct issues (occurrences within the run).
  virtual absl::StatusOr<IssuePage> ListRunIssues(const std::string& run_id,
                                                  const IssueQuery& query) = 0;

};

struct StoreOptions {
  // WaitForEvents re-reads at least this often, to see commits of other
  // processes that cannot notify this one (SQLite; PostgreSQL uses
  // LISTEN/NOTIFY and polls only as a safety net).
  absl::Duration event_poll_interval = absl::Seconds(1);
};

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_STORE_STORE_H_
