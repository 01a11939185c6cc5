#include "services/supervisor/supervisor_service.h"

#include <optional>
#include <string>

#include "services/common/grpc_auth.h"
#include "services/common/grpc_status.h"

namespace autopack::supervisor {
namespace {

// Who a stream counts against: the caller's name, or without authentication
// the peer's address without its port, so that opening more connections does
// not earn more streams.
std::string StreamOwner(const grpc::ServerContext& context, const Caller& caller) {
  if (!caller.name.empty()) return "caller:" + caller.name;
  const std::string peer = context.peer();
  const size_t colon = peer.rfind(':');
  return colon == std::string::npos || peer.compare(0, 5, "unix:") == 0 ? peer : peer.substr(0, colon);
}

// Answers with `call(caller)` once the call's caller is known.
template <typename Response, typename Call>
grpc::Status AsCaller(const grpc::ServerContext& context, const Authenticator* authenticator,
                      Response* response, Call call) {
  absl::StatusOr<Caller> caller = CallerFromContext(context, authenticator);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ToGrpcResponse(call(*caller), response);
}

}  // namespace

MethodRights SupervisorServiceImpl::Rights() {
  return {{"CreateRun", Right::kSubmit}, {"PreviewRun", Right::kSubmit},
          {"GetRun", Right::kRead},      {"ListRuns", Right::kRead},
          {"WatchRun", Right::kRead},    {"GetUsage", Right::kRead},
          {"ListIssues", Right::kRead},  {"CancelRun", Right::kCancel},
          // More spend on a run is a submitter's decision; Supervisor::RaiseBudget
          // also holds it to the run's creator (or admin).
          {"RaiseBudget", Right::kSubmit}};
}

grpc::Status SupervisorServiceImpl::CreateRun(grpc::ServerContext* context,
                                              const v1::CreateRunRequest* request,
                                              v1::CreateRunResponse* response) {
  return AsCaller(*context, authenticator_, response,
                  [&](const Caller& caller) { return core_->CreateRun(*request, caller); });
}

grpc::Status SupervisorServiceImpl::GetRun(grpc::ServerContext* context,
                                           const v1::GetRunRequest* request, v1::Run* response) {
  return AsCaller(*context, authenticator_, response,
                  [&](const Caller& caller) { return core_->GetRun(*request, caller); });
}

grpc::Status SupervisorServiceImpl::ListRuns(grpc::ServerContext* context,
                                             const v1::ListRunsRequest* request,
                                             v1::ListRunsResponse* response) {
  return AsCaller(*context, authenticator_, response,
                  [&](const Caller& caller) { return core_->ListRuns(*request, caller); });
}

grpc::Status SupervisorServiceImpl::CancelRun(grpc::ServerContext* context,
                                              const v1::CancelRunRequest* request,
                                              v1::Run* response) {
  return AsCaller(*context, authenticator_, response,
                  [&](const Caller& caller) { return core_->CancelRun(*request, caller); });
}

grpc::Status SupervisorServiceImpl::RaiseBudget(grpc::ServerContext* context,
                                                const v1::RaiseBudgetRequest* request,
                                                v1::Run* response) {
  return AsCaller(*context, authenticator_, response,
                  [&](const Caller& caller) { return core_->RaiseBudget(*request, caller); });
}

grpc::Status SupervisorServiceImpl::ListIssues(grpc::ServerContext* context,
                                               const v1::ListIssuesRequest* request,
                                               v1::ListIssuesResponse* response) {
  return AsCaller(*context, authenticator_, response,
                  [&](const Caller& caller) { return core_->ListIssues(*request, caller); });
}

grpc::Status SupervisorServiceImpl::GetUsage(grpc::ServerContext* context,
                                             const v1::GetUsageRequest* request,
                                             v1::UsageReport* response) {
  return AsCaller(*context, authenticator_, response,
                  [&](const Caller& caller) { return core_->GetUsage(*request, caller); });
}

grpc::Status SupervisorServiceImpl::PreviewRun(grpc::ServerContext*,
                                               const v1::PreviewRunRequest* request,
                                               v1::PreviewRunResponse* response) {
  return ToGrpcResponse(core_->PreviewRun(*request), response);
}

grpc::Status SupervisorServiceImpl::WatchRun(grpc::ServerContext* context,
                                             const v1::WatchRunRequest* request,
                                             grpc::ServerWriter<v1::RunEvent>* writer) {
  absl::StatusOr<Caller> caller = CallerFromContext(*context, authenticator_);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  std::optional<StreamQuota::Slot> slot;
  if (absl::Status s = watch_quota_.Acquire(StreamOwner(*context, *caller), &slot); !s.ok()) {
    return ToGrpcStatus(s);
  }
  return ToGrpcStatus(core_->WatchRun(
      *request, *caller,
      [&](const v1::RunEvent& event) { return !context->IsCancelled() && writer->Write(event); },
      [&] { return context->IsCancelled(); }));
}

}  // namespace autopack::supervisor
