#include "services/supervisor/supervisor_service.h"

#include <optional>
#include <string>

#include "services/common/grpc_status.h"

namespace autopack::supervisor {
namespace {

// Who a stream counts against: the peer's address without its port, so that
// opening more connections does not earn more streams.
std::string CallerKey(const grpc::ServerContext& context) {
  const std::string peer = context.peer();
  const size_t colon = peer.rfind(':');
  return colon == std::string::npos || peer.compare(0, 5, "unix:") == 0 ? peer : peer.substr(0, colon);
}

}  // namespace

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
  std::optional<StreamQuota::Slot> slot;
  if (absl::Status s = watch_quota_.Acquire(CallerKey(*context), &slot); !s.ok()) return ToGrpcStatus(s);
  return ToGrpcStatus(core_->WatchRun(
      *request, [&](const v1::RunEvent& event) { return !context->IsCancelled() && writer->Write(event); },
      [&] { return context->IsCancelled(); }));
}

}  // namespace autopack::supervisor
