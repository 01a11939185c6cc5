// What the shared server bootstrap records about every RPC it serves: the
// counter autopack_rpc_server_calls_total and the histogram
// autopack_rpc_server_latency_seconds, both by method and code, and one log
// line per call with its method, code, latency and the run and phase ids
// the Supervisor sends as x-autopack-run-id / x-autopack-phase-id metadata
// (so every service's lines of a run can be found by its id). Health checks,
// which probes send every few seconds, log at debug level only.
#ifndef AUTOPACK_SERVICES_COMMON_RPC_OBSERVER_H_
#define AUTOPACK_SERVICES_COMMON_RPC_OBSERVER_H_

#include <memory>

#include "grpcpp/support/server_interceptor.h"

namespace autopack {

// For grpc::ServerBuilder::experimental().SetInterceptorCreators.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewRpcObserverFactory();

// The longest run or phase id taken from metadata into a log line; callers
// choose these bytes, and a log line is no place for a megabyte of them.
inline constexpr size_t kMaxLoggedIdBytes = 128;

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_RPC_OBSERVER_H_
