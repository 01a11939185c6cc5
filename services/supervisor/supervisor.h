// Supervisor core: owns runs, policy, budgets and issue tracking, and drives
// Builder, Auditor and GitAdapter (through Peers). Knows nothing of gRPC
// servers. Runs are claimed from the Store with expiring leases, so several
// replicas on one PostgreSQL never drive the same run at once, and a run whose
// replica died is continued by another once its lease expires.
//
// Runs belong to the caller that created them: every method that names a run
// takes the Caller and answers PERMISSION_DENIED for another caller's run
// unless the caller is admin (or authentication is off).
#ifndef AUTOPACK_SERVICES_SUPERVISOR_SUPERVISOR_H_
#define AUTOPACK_SERVICES_SUPERVISOR_SUPERVISOR_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autopack/v1/supervisor.pb.h"
#include "services/common/auth.h"
#include "services/supervisor/peers.h"
#include "services/supervisor/policy/policy_config.h"
#include "services/supervisor/run_driver.h"
#include "services/supervisor/run_spec.h"
#include "services/supervisor/store/store.h"

namespace autopack::supervisor {

struct SupervisorOptions {
  // Lease owner name; unique per replica.
  std::string replica_id = "supervisor";
  absl::Duration lease_ttl = absl::Seconds(30);
  // How often unclaimed runs are looked for (CreateRun also wakes the loop).
  absl::Duration claim_interval = absl::Seconds(1);
  int max_concurrent_runs = 4;
  DriverOptions driver;
  // PreviewRun's estimate of a prompt, in tokens (no files are read).
  int64_t preview_input_tokens = 24000;
  // Ceilings on what CreateRun and PreviewRun accept.
  RunSpecLimits spec_limits;
};

class Supervisor {
 public:
  // Nothing is owned; everything must outlive the Supervisor.
  Supervisor(Store* store, const policy::PolicyConfig* policy, Peers* peers,
             SupervisorOptions options);
  ~Supervisor();

  // Starts claiming and driving runs.
  void Start();
  // Stops claiming, lets each driver reach a safe point, gives up the leases
  // of unfinished runs so another replica can continue them. Idempotent.
  void Stop();

  // The run is created by `caller`. Retrying with the same run id and spec
  // returns the run only to its creator (or an admin); to others the id is
  // ALREADY_EXISTS.
  absl::StatusOr<v1::CreateRunResponse> CreateRun(const v1::CreateRunRequest& request,
                                                  const Caller& caller);
  absl::StatusOr<v1::Run> GetRun(const v1::GetRunRequest& request, const Caller& caller);
  // Only the caller's own runs, unless it is admin.
  absl::StatusOr<v1::ListRunsResponse> ListRuns(const v1::ListRunsRequest& request,
                                                const Caller& caller);
  absl::StatusOr<v1::Run> CancelRun(const v1::CancelRunRequest& request, const Caller& caller);
  // A run's issues need access to the run; a project's backlog needs admin or
  // a run of the caller's in that project.
  absl::StatusOr<v1::ListIssuesResponse> ListIssues(const v1::ListIssuesRequest& request,
                                                    const Caller& caller);
  absl::StatusOr<v1::UsageReport> GetUsage(const v1::GetUsageRequest& request,
                                           const Caller& caller);
  absl::StatusOr<v1::PreviewRunResponse> PreviewRun(const v1::PreviewRunRequest& request);
  // Raises the caps of a run paused at one (RUN_STATE_PAUSED_BUDGET), stores
  // them with the run's spec and makes the run claimable again: it goes on
  // from the call that did not fit, on the same branch. Caps only go up (a
  // zero field keeps a cap; an absent cap is unlimited already).
  // FAILED_PRECONDITION unless paused; INVALID_ARGUMENT names the field.
  absl::StatusOr<v1::Run> RaiseBudget(const v1::RaiseBudgetRequest& request,
                                      const Caller& caller);

  // Calls `emit` with the run's snapshot (sequence 0), then each event with a
  // sequence above request.after_sequence, in order, until the run has ended
  // and every event was sent, or the watcher is gone: `emit` returns false or
  // `gone` (polled between waits, so an idle abandoned stream ends too)
  // returns true. UNAVAILABLE when the supervisor stops first (the watcher may
  // resume elsewhere with after_sequence).
  absl::Status WatchRun(const v1::WatchRunRequest& request, const Caller& caller,
                        const std::function<bool(const v1::RunEvent&)>& emit,
                        const std::function<bool()>& gone);

 private:
  struct ActiveRun {
    absl::Mutex mu;
    Lease lease ABSL_GUARDED_BY(mu);
    std::thread thread;
    std::atomic<bool> done{false};
    absl::Status result;
  };

  void ClaimLoop();
  void ClaimAndRenew() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Reap(bool all) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<v1::UsageReport> UsageOf(const RunRecord& record);
  // The run, if `caller` may see it: NOT_FOUND, or PERMISSION_DENIED for
  // another caller's run.
  absl::StatusOr<RunRecord> GetRunAs(const std::string& run_id, const Caller& caller);
  absl::StatusOr<v1::Run> RunWithUsage(RunRecord record);
  // Checks a validated spec against the policy (categories, models, caps);
  // errors name the field path.
  absl::Status CheckAgainstPolicy(const v1::RunSpec& spec);

  Store* store_;
  const policy::PolicyConfig* policy_;
  Peers* peers_;
  SupervisorOptions options_;

  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool nudged_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> stopping_{false};
  std::map<std::string, std::unique_ptr<ActiveRun>> active_ ABSL_GUARDED_BY(mu_);
  // Since when each run's drives have ended in a transient peer failure
  // (DriverOptions::peer_failing_since); erased when a drive ends otherwise.
  std::map<std::string, absl::Time> peer_failing_since_ ABSL_GUARDED_BY(mu_);
  std::thread claim_thread_;
};

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_SUPERVISOR_H_
