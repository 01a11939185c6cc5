// gRPC adapter of the Supervisor core.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_SUPERVISOR_SERVICE_H_
#define AUTOPACK_SERVICES_SUPERVISOR_SUPERVISOR_SERVICE_H_

#include "autopack/v1/supervisor.grpc.pb.h"
#include "services/common/stream_quota.h"
#include "services/common/auth.h"
#include "services/supervisor/supervisor.h"

namespace autopack::supervisor {

class SupervisorServiceImpl final : public v1::SupervisorService::Service {
 public:
  // `authenticator` is the server's (null when authentication is off): each
  // call hands the core the caller it identifies. Neither is owned. A caller
  // may hold at most `max_watch_streams_per_caller` WatchRun streams.
  SupervisorServiceImpl(Supervisor* core, const Authenticator* authenticator,
                        int max_watch_streams_per_caller = 16)
      : core_(core), authenticator_(authenticator), watch_quota_(max_watch_streams_per_caller) {}

  // The right each RPC needs (see services/common/auth.h).
  static MethodRights Rights();

  grpc::Status CreateRun(grpc::ServerContext* context, const v1::CreateRunRequest* request,
                        v1::CreateRunResponse* response) override;
  grpc::Status GetRun(grpc::ServerContext* context, const v1::GetRunRequest* request,
                     v1::Run* response) override;
  grpc::Status ListRuns(grpc::ServerContext* context, const v1::ListRunsRequest* request,
                       v1::ListRunsResponse* response) override;
  grpc::Status CancelRun(grpc::ServerContext* context, const v1::CancelRunRequest* request,
                        v1::Run* response) override;
  grpc::Status RaiseBudget(grpc::ServerContext* context, const v1::RaiseBudgetRequest* request,
                           v1::Run* response) override;
  grpc::Status ListIssues(grpc::ServerContext* context, const v1::ListIssuesRequest* request,
                         v1::ListIssuesResponse* response) override;
  grpc::Status GetUsage(grpc::ServerContext* context, const v1::GetUsageRequest* request,
                       v1::UsageReport* response) override;
  grpc::Status PreviewRun(grpc::ServerContext* context, const v1::PreviewRunRequest* request,
                         v1::PreviewRunResponse* response) override;
  grpc::Status WatchRun(grpc::ServerContext* context, const v1::WatchRunRequest* request,
                        grpc::ServerWriter<v1::RunEvent>* writer) override;

 private:
  Supervisor* core_;
  const Authenticator* authenticator_;
  StreamQuota watch_quota_;
};

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_SUPERVISOR_SERVICE_H_
