// gRPC adapter of the GitAdapter core.
#ifndef AUTOPACK_SERVICES_GITADAPTER_GITADAPTER_SERVICE_H_
#define AUTOPACK_SERVICES_GITADAPTER_GITADAPTER_SERVICE_H_

#include "autopack/v1/gitadapter.grpc.pb.h"
#include "services/gitadapter/gitadapter.h"

namespace autopack::gitadapter {

class GitAdapterServiceImpl final : public v1::GitAdapterService::Service {
 public:
  explicit GitAdapterServiceImpl(GitAdapter* core) : core_(core) {}

  grpc::Status OpenWorkspace(grpc::ServerContext* context, const v1::OpenWorkspaceRequest* request,
                            v1::OpenWorkspaceResponse* response) override;
  grpc::Status ReadFiles(grpc::ServerContext* context, const v1::ReadFilesRequest* request,
                        v1::ReadFilesResponse* response) override;
  grpc::Status ApplyPatch(grpc::ServerContext* context, const v1::ApplyPatchRequest* request,
                         v1::ApplyPatchResponse* response) override;
  grpc::Status Rollback(grpc::ServerContext* context, const v1::RollbackRequest* request,
                       v1::RollbackResponse* response) override;
  grpc::Status RunChecks(grpc::ServerContext* context, const v1::RunChecksRequest* request,
                        v1::RunChecksResponse* response) override;
  grpc::Status GetDiff(grpc::ServerContext* context, const v1::GetDiffRequest* request,
                      v1::GetDiffResponse* response) override;
  grpc::Status TagSnapshot(grpc::ServerContext* context, const v1::TagSnapshotRequest* request,
                          v1::TagSnapshotResponse* response) override;
  grpc::Status CloseWorkspace(grpc::ServerContext* context, const v1::CloseWorkspaceRequest* request,
                             v1::CloseWorkspaceResponse* response) override;

 private:
  GitAdapter* core_;  // not owned
};

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_GITADAPTER_SERVICE_H_
