#include "services/common/rpc_observer.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/logging.h"
#include "services/common/metrics.h"

namespace autopack {
namespace {

using grpc::experimental::InterceptionHookPoints;

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK: return "OK";
    case grpc::CANCELLED: return "CANCELLED";
    case grpc::UNKNOWN: return "UNKNOWN";
    case grpc::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND: return "NOT_FOUND";
    case grpc::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::ABORTED: return "ABORTED";
    case grpc::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::INTERNAL: return "INTERNAL";
    case grpc::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::DATA_LOSS: return "DATA_LOSS";
    case grpc::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

Counter& Calls() {
  static Counter& c = Metrics().GetCounter("autopack_rpc_server_calls_total",
                                           "RPCs served, by method and status code", {"method", "code"});
  return c;
}

Histogram& Latency() {
  static Histogram& h = Metrics().GetHistogram(
      "autopack_rpc_server_latency_seconds", "Time from a call's start to its status, by method and code",
      {"method", "code"});
  return h;
}

class RpcObserver : public grpc::experimental::Interceptor {
 public:
  explicit RpcObserver(grpc::experimental::ServerRpcInfo* info)
      : method_(absl::StripPrefix(info->method(), "/")), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      for (const auto& [key, value] : *methods->GetRecvInitialMetadata()) {
        if (key == "x-autopack-run-id") run_id_.assign(value.data(), std::min(value.size(), kMaxLoggedIdBytes));
        if (key == "x-autopack-phase-id") phase_id_.assign(value.data(), std::min(value.size(), kMaxLoggedIdBytes));
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const absl::Duration latency = absl::Now() - start_;
      const char* code = CodeName(status.error_code());
      Calls().Add({method_, code});
      Latency().Observe({method_, code}, absl::ToDoubleSeconds(latency));
      const std::string ms = absl::StrCat(absl::ToDoubleMilliseconds(latency));
      const LogLevel level = absl::StartsWith(method_, "grpc.health.") ? LogLevel::kDebug
                             : status.ok()                             ? LogLevel::kInfo
                                                                       : LogLevel::kWarning;
      Log(level, "rpc",
          {{"rpc", method_}, {"code", code}, {"latency_ms", ms}, {"run_id", run_id_}, {"phase_id", phase_id_}});
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  const absl::Time start_;
  std::string run_id_, phase_id_;
};

class RpcObserverFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcObserver(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewRpcObserverFactory() {
  return std::make_unique<RpcObserverFactory>();
}

}  // namespace autopack
