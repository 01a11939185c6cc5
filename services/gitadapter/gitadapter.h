// GitAdapter core: applies patches to libgit2 workspaces, commits, rolls back and runs checks. Knows nothing of gRPC.
#ifndef AUTOPACK_SERVICES_GITADAPTER_GITADAPTER_H_
#define AUTOPACK_SERVICES_GITADAPTER_GITADAPTER_H_

#include "absl/status/statusor.h"
#include "autopack/v1/gitadapter.pb.h"

namespace autopack::gitadapter {

class GitAdapter {
 public:
  absl::StatusOr<v1::OpenWorkspaceResponse> OpenWorkspace(const v1::OpenWorkspaceRequest& request);
  absl::StatusOr<v1::ReadFilesResponse> ReadFiles(const v1::ReadFilesRequest& request);
  absl::StatusOr<v1::ApplyPatchResponse> ApplyPatch(const v1::ApplyPatchRequest& request);
  absl::StatusOr<v1::RollbackResponse> Rollback(const v1::RollbackRequest& request);
  absl::StatusOr<v1::RunChecksResponse> RunChecks(const v1::RunChecksRequest& request);
  absl::StatusOr<v1::GetDiffResponse> GetDiff(const v1::GetDiffRequest& request);
  absl::StatusOr<v1::TagSnapshotResponse> TagSnapshot(const v1::TagSnapshotRequest& request);
  absl::StatusOr<v1::CloseWorkspaceResponse> CloseWorkspace(const v1::CloseWorkspaceRequest& request);
};

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_GITADAPTER_H_
