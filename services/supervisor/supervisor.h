// Supervisor core: owns runs, policy, budgets and issue tracking, and drives
// Builder, Auditor and GitAdapter. Knows nothing of gRPC servers.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_SUPERVISOR_H_
#define AUTOPACK_SERVICES_SUPERVISOR_SUPERVISOR_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "autopack/v1/supervisor.pb.h"

namespace autopack::supervisor {

class Supervisor {
 public:
  absl::StatusOr<v1::CreateRunResponse> CreateRun(const v1::CreateRunRequest& request);
  absl::StatusOr<v1::Run> GetRun(const v1::GetRunRequest& request);
  absl::StatusOr<v1::ListRunsResponse> ListRuns(const v1::ListRunsRequest& request);
  absl::StatusOr<v1::Run> CancelRun(const v1::CancelRunRequest& request);
  absl::StatusOr<v1::ListIssuesResponse> ListIssues(const v1::ListIssuesRequest& request);
  absl::StatusOr<v1::UsageReport> GetUsage(const v1::GetUsageRequest& request);
  absl::StatusOr<v1::PreviewRunResponse> PreviewRun(const v1::PreviewRunRequest& request);

  // Calls `emit` with the run's snapshot, then each event in order, until the
  // run ends or `emit` returns false (watcher gone).
  absl::Status WatchRun(const v1::WatchRunRequest& request,
                        const std::function<bool(const v1::RunEvent&)>& emit);
};

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_SUPERVISOR_H_
