// GitAdapter core: applies patches to libgit2 workspaces, commits, rolls back
// and runs checks. Knows nothing of gRPC. Calls on one workspace are
// serialised; calls on different workspaces run in parallel.
//
// Checks (model-written code) can write anything into the working tree, so
// GitAdapter never trusts it: ReadFiles and patch planning read the commit's
// objects, never the files; every checkout first removes whatever is not a
// tracked directory or regular file (ScrubWorkingTree), so no symlink, fifo or
// hardlink a check planted is ever written through or read; and RunChecks
// resets the tree to the branch head afterwards.
#ifndef AUTOPACK_SERVICES_GITADAPTER_GITADAPTER_H_
#define AUTOPACK_SERVICES_GITADAPTER_GITADAPTER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autopack/v1/gitadapter.pb.h"
#include "services/gitadapter/check_runner.h"
#include "services/gitadapter/repository.h"
#include "services/gitadapter/workspace_manager.h"

namespace autopack::gitadapter {

struct GitAdapterOptions {
  // Committer of every commit, author when the request names none, tagger.
  Identity committer{"Autopack", "autopack@localhost"};
  // ReadFiles caps when the request leaves them 0.
  int64_t max_file_bytes = 256 * 1024;
  int64_t max_total_bytes = 2 * 1024 * 1024;
  // RunChecks limits when the request leaves them 0.
  absl::Duration check_timeout = absl::Minutes(10);
  int64_t check_max_output_bytes = 64 * 1024;
  // The most a RunChecks request may ask for: the output tail is held in
  // memory, and a check holds its workspace for as long as it runs.
  absl::Duration check_timeout_ceiling = absl::Hours(2);
  int64_t check_output_ceiling = 1024 * 1024;
};

// The commit trailer that records ApplyPatchRequest.idempotency_key.
inline constexpr char kIdempotencyTrailer[] = "Autopack-Idempotency-Key";

class GitAdapter {
 public:
  // `workspaces` and `checks` are not owned and must outlive the adapter.
  GitAdapter(GitAdapterOptions options, WorkspaceManager* workspaces, CheckRunner* checks);

  absl::StatusOr<v1::OpenWorkspaceResponse> OpenWorkspace(const v1::OpenWorkspaceRequest& request);
  absl::StatusOr<v1::ReadFilesResponse> ReadFiles(const v1::ReadFilesRequest& request);
  // See gitadapter.proto. A rejection is INVALID_ARGUMENT whose message lists
  // "PATH: hunk N: REASON" for every problem; any failure leaves working tree,
  // index and branch as they were.
  absl::StatusOr<v1::ApplyPatchResponse> ApplyPatch(const v1::ApplyPatchRequest& request);
  absl::StatusOr<v1::RollbackResponse> Rollback(const v1::RollbackRequest& request);
  // Runs the check command in the sandbox with .git read-only, then resets
  // the working tree to the branch head (INTERNAL if that fails; the next
  // ApplyPatch or Rollback tries again before writing anything).
  absl::StatusOr<v1::RunChecksResponse> RunChecks(const v1::RunChecksRequest& request);
  absl::StatusOr<v1::GetDiffResponse> GetDiff(const v1::GetDiffRequest& request);
  absl::StatusOr<v1::TagSnapshotResponse> TagSnapshot(const v1::TagSnapshotRequest& request);
  absl::StatusOr<v1::CloseWorkspaceResponse> CloseWorkspace(const v1::CloseWorkspaceRequest& request);

 private:
  GitAdapterOptions options_;
  WorkspaceManager* workspaces_;
  CheckRunner* checks_;
};

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_GITADAPTER_H_
