#include "services/gitadapter/gitadapter_service.h"

#include "services/common/grpc_status.h"

namespace autopack::gitadapter {

grpc::Status GitAdapterServiceImpl::OpenWorkspace(grpc::ServerContext*, const v1::OpenWorkspaceRequest* request,
                                                 v1::OpenWorkspaceResponse* response) {
  return ToGrpcResponse(core_->OpenWorkspace(*request), response);
}

grpc::Status GitAdapterServiceImpl::ReadFiles(grpc::ServerContext*, const v1::ReadFilesRequest* request,
                                             v1::ReadFilesResponse* response) {
  return ToGrpcResponse(core_->ReadFiles(*request), response);
}

grpc::Status GitAdapterServiceImpl::ApplyPatch(grpc::ServerContext*, const v1::ApplyPatchRequest* request,
                                              v1::ApplyPatchResponse* response) {
  return ToGrpcResponse(core_->ApplyPatch(*request), response);
}

grpc::Status GitAdapterServiceImpl::Rollback(grpc::ServerContext*, const v1::RollbackRequest* request,
                                            v1::RollbackResponse* response) {
  return ToGrpcResponse(core_->Rollback(*request), response);
}

grpc::Status GitAdapterServiceImpl::RunChecks(grpc::ServerContext*, const v1::RunChecksRequest* request,
                                             v1::RunChecksResponse* response) {
  return ToGrpcResponse(core_->RunChecks(*request), response);
}

grpc::Status GitAdapterServiceImpl::GetDiff(grpc::ServerContext*, const v1::GetDiffRequest* request,
                                           v1::GetDiffResponse* response) {
  return ToGrpcResponse(core_->GetDiff(*request), response);
}

grpc::Status GitAdapterServiceImpl::TagSnapshot(grpc::ServerContext*, const v1::TagSnapshotRequest* request,
                                               v1::TagSnapshotResponse* response) {
  return ToGrpcResponse(core_->TagSnapshot(*request), response);
}

grpc::Status GitAdapterServiceImpl::CloseWorkspace(grpc::ServerContext*, const v1::CloseWorkspaceRequest* request,
                                                  v1::CloseWorkspaceResponse* response) {
  return ToGrpcResponse(core_->CloseWorkspace(*request), response);
}

}  // namespace autopack::gitadapter
