// How Autopack processes connect to each other: target, TLS, bearer token,
// deadline.
#ifndef AUTOPACK_SERVICES_COMMON_CLIENT_H_
#define AUTOPACK_SERVICES_COMMON_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace autopack {

struct ClientOptions {
  // gRPC target, e.g. "127.0.0.1:50052" or "dns:///builder:50052".
  std::string target;
  // TLS is on when this CA bundle (PEM) is set.
  std::string tls_ca_file;
  // Client certificate and key for mTLS (both or neither).
  std::string tls_cert_file;
  std::string tls_key_file;
  // Overrides the name checked against the server certificate (tests, IPs).
  std::string tls_server_name;
  // Sent as "authorization: Bearer <token>" on every call when set. Without
  // TLS it is only sent to loopback servers (gRPC's local credentials): a
  // non-loopback target then fails with UNAVAILABLE rather than leak it.
  std::string bearer_token;
  // Deadline applied to each call made with ApplyDeadline().
  absl::Duration deadline = absl::Seconds(30);
};

// A channel per the options. INVALID_ARGUMENT for an empty target or a
// half-specified client certificate, NOT_FOUND for a missing PEM file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateClientChannel(const ClientOptions& options);

// The token in `path` (surrounding whitespace dropped), for options read
// from a flag naming a file, so tokens stay out of argv and shell history.
// NOT_FOUND for a missing file, INVALID_ARGUMENT for an empty one.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Sets the call's deadline to now + options.deadline.
void ApplyDeadline(const ClientOptions& options, grpc::ClientContext* context);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_CLIENT_H_
