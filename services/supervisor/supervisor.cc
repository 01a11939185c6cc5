#include "services/supervisor/supervisor.h"

#include "absl/strings/str_cat.h"

namespace autopack::supervisor {
namespace {

absl::Status NotBuiltYet(absl::string_view rpc) {
  return absl::UnimplementedError(absl::StrCat(
      rpc, " is not built yet: durable runs land with the orchestration issue (issue 6)"));
}

}  // namespace

absl::StatusOr<v1::CreateRunResponse> Supervisor::CreateRun(const v1::CreateRunRequest&) {
  return NotBuiltYet("CreateRun");
}

absl::StatusOr<v1::Run> Supervisor::GetRun(const v1::GetRunRequest&) {
  return NotBuiltYet("GetRun");
}

absl::StatusOr<v1::ListRunsResponse> Supervisor::ListRuns(const v1::ListRunsRequest&) {
  return NotBuiltYet("ListRuns");
}

absl::StatusOr<v1::Run> Supervisor::CancelRun(const v1::CancelRunRequest&) {
  return NotBuiltYet("CancelRun");
}

absl::StatusOr<v1::ListIssuesResponse> Supervisor::ListIssues(const v1::ListIssuesRequest&) {
  return NotBuiltYet("ListIssues");
}

absl::StatusOr<v1::UsageReport> Supervisor::GetUsage(const v1::GetUsageRequest&) {
  return NotBuiltYet("GetUsage");
}

absl::StatusOr<v1::PreviewRunResponse> Supervisor::PreviewRun(const v1::PreviewRunRequest&) {
  return NotBuiltYet("PreviewRun");
}

absl::Status Supervisor::WatchRun(const v1::WatchRunRequest&,
                                  const std::function<bool(const v1::RunEvent&)>&) {
  return NotBuiltYet("WatchRun");
}

}  // namespace autopack::supervisor
