#include "services/supervisor/supervisor_service.h"

#include "services/common/grpc_status.h"

namespace autopack::supervisor {

grpc::Status SupervisorServiceImpl::CreateRun(grpc::ServerContext*, const v1::CreateRunRequest* request,
                                              v1::CreateRunResponse* response) {
  return ToGrpcResponse(core_->CreateRun(*request), response);
}

grpc::Status SupervisorServiceImpl::GetRun(grpc::ServerContext*, const v1::GetRunRequest* request,
                                           v1::Run* response) {
  return ToGrpcResponse(core_->GetRun(*request), response);
}

grpc::Status SupervisorServiceImpl::ListRuns(grpc::ServerContext*, const v1::ListRunsRequest* request,
                                             v1::ListRunsResponse* response) {
  return ToGrpcResponse(core_->ListRuns(*request), response);
}

grpc::Status SupervisorServiceImpl::CancelRun(grpc::ServerContext*, const v1::CancelRunRequest* request,
                                              v1::Run* response) {
  return ToGrpcResponse(core_->CancelRun(*request), response);
}

grpc::Status SupervisorServiceImpl::ListIssues(grpc::ServerContext*, const v1::ListIssuesRequest* request,
                                               v1::ListIssuesResponse* response) {
  return ToGrpcResponse(core_->ListIssues(*request), response);
}

grpc::Status SupervisorServiceImpl::GetUsage(grpc::ServerContext*, const v1::GetUsageRequest* request,
                                             v1::UsageReport* response) {
  return ToGrpcResponse(core_->GetUsage(*request), response);
}

grpc::Status SupervisorServiceImpl::PreviewRun(grpc::ServerContext*, const v1::PreviewRunRequest* request,
                                               v1::PreviewRunResponse* response) {
  return ToGrpcResponse(core_->PreviewRun(*request), response);
}

grpc::Status SupervisorServiceImpl::WatchRun(grpc::ServerContext* context,
                                             const v1::WatchRunRequest* request,
                                             grpc::ServerWriter<v1::RunEvent>* writer) {
  return ToGrpcStatus(core_->WatchRun(*request, [&](const v1::RunEvent& event) {
    return !context->IsCancelled() && writer->Write(event);
  }));
}

}  // namespace autopack::supervisor
