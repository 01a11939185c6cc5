#include "services/gitadapter/gitadapter.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace autopack::gitadapter {
namespace {

absl::Status NotBuiltYet(absl::string_view rpc) {
  return absl::UnimplementedError(absl::StrCat(rpc, " is not built yet: libgit2 workspaces land with the GitAdapter issue (issue 4)"));
}

}  // namespace

absl::StatusOr<v1::OpenWorkspaceResponse> GitAdapter::OpenWorkspace(const v1::OpenWorkspaceRequest&) {
  return NotBuiltYet("OpenWorkspace");
}

absl::StatusOr<v1::ReadFilesResponse> GitAdapter::ReadFiles(const v1::ReadFilesRequest&) {
  return NotBuiltYet("ReadFiles");
}

absl::StatusOr<v1::ApplyPatchResponse> GitAdapter::ApplyPatch(const v1::ApplyPatchRequest&) {
  return NotBuiltYet("ApplyPatch");
}

absl::StatusOr<v1::RollbackResponse> GitAdapter::Rollback(const v1::RollbackRequest&) {
  return NotBuiltYet("Rollback");
}

absl::StatusOr<v1::RunChecksResponse> GitAdapter::RunChecks(const v1::RunChecksRequest&) {
  return NotBuiltYet("RunChecks");
}

absl::StatusOr<v1::GetDiffResponse> GitAdapter::GetDiff(const v1::GetDiffRequest&) {
  return NotBuiltYet("GetDiff");
}

absl::StatusOr<v1::TagSnapshotResponse> GitAdapter::TagSnapshot(const v1::TagSnapshotRequest&) {
  return NotBuiltYet("TagSnapshot");
}

absl::StatusOr<v1::CloseWorkspaceResponse> GitAdapter::CloseWorkspace(const v1::CloseWorkspaceRequest&) {
  return NotBuiltYet("CloseWorkspace");
}

}  // namespace autopack::gitadapter
