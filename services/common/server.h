// The one gRPC server bootstrap every Autopack process uses: health service,
// server reflection, port 0, optional TLS/mTLS, authentication and per-method
// rights (services/common/auth.h), SERVING only when the caller says the core
// is up, idempotent graceful shutdown.
#ifndef AUTOPACK_SERVICES_COMMON_SERVER_H_
#define AUTOPACK_SERVICES_COMMON_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "services/common/auth.h"

namespace autopack {

struct ServerOptions {
  // Used in log lines.
  std::string service_name;
  // HOST:PORT; port 0 picks a free port (see GrpcServer::port()).
  std::string listen = "127.0.0.1:0";
  // When set, every call but health must come from one of its callers, with
  // the right the service's MethodRights names. Null: no authentication.
  std::shared_ptr<const Authenticator> authenticator;
  // Start() refuses to listen beyond loopback (anything but 127.0.0.0/8, ::1,
  // localhost) without TLS or without an authenticator, unless this is set.
  // Even then, tokens are never accepted in plaintext beyond loopback.
  bool allow_insecure_listen = false;
  // TLS is on when both are set (PEM files).
  std::string tls_cert_file;
  std::string tls_key_file;
  // When set (with TLS), clients must present a certificate signed by this CA.
  std::string tls_client_ca_file;
  // When set (IPV4:PORT), ServeUntilSignal also serves Metrics() on it as
  // Prometheus text at /metrics (services/common/metrics_server.h).
  std::string metrics_listen;
  // In-flight calls get this long to finish on shutdown, then are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
};

// A service to host and the full name health checks know it by, e.g.
// {&impl, autopack::v1::BuilderService::service_full_name()}.
struct HostedService {
  grpc::Service* service;  // not owned; must outlive the server
  std::string name;
  // The right each method needs when the server has an authenticator; every
  // method of the service must have one, or Start() fails.
  MethodRights rights;
};

class GrpcServer {
 public:
  // Binds and starts serving `services` plus health and reflection; every call
// is counted, timed and logged (services/common/rpc_observer.h). Health reports NOT_SERVING until
  // SetServing(true). UNAVAILABLE if the address cannot be bound,
  // INVALID_ARGUMENT for a malformed address, unreadable TLS files or a
  // method without a right, FAILED_PRECONDITION for an insecure listen (see
  // ServerOptions::allow_insecure_listen).
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const ServerOptions& options, const std::vector<HostedService>& services);

  ~GrpcServer();

  // The port actually bound.
  int port() const { return port_; }
  // HOST:PORT with the real port, as written in the "listening on" log line.
  const std::string& address() const { return address_; }

  // Sets the overall health status and that of every registered service.
  void SetServing(bool serving);

  // Reports NOT_SERVING, waits up to the grace period for in-flight calls, then
  // cancels the rest. Safe to call more than once and from any thread.
  void Shutdown();

  // Blocks until Shutdown() has completed.
  void Wait();

 private:
  GrpcServer() = default;

  ServerOptions options_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> service_names_;
  int port_ = 0;
  std::string address_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it creates
// later, so that WaitForShutdownSignal() receives them. Call first in main().
void BlockShutdownSignals();

// Returns the number of the first SIGTERM or SIGINT received.
int WaitForShutdownSignal();

// What every main() does once its core is built: start the server (and the
// metrics endpoint when options.metrics_listen is set, logged as "metrics on
// HOST:PORT"), mark it SERVING, log "listening on HOST:PORT", wait for
// SIGTERM/SIGINT, shut down gracefully. OK on a clean shutdown.
absl::Status ServeUntilSignal(const ServerOptions& options,
                              const std::vector<HostedService>& services);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_SERVER_H_
