// The one place where absl::Status and grpc::Status are converted. Codes map
// one-to-one (both follow google.rpc.Code). Messages going out are cut to
// kMaxStatusMessageBytes: they travel in an HTTP/2 trailer, and a message that
// quotes a huge caller-sent field whole stalls the caller's channel. Payloads
// of an absl::Status travel as the details of a google.rpc.Status-shaped
// trailer (v1::RpcStatus), one Any per payload under its type URL, and come
// back as the same payloads.
#ifndef AUTOPACK_SERVICES_COMMON_GRPC_STATUS_H_
#define AUTOPACK_SERVICES_COMMON_GRPC_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace autopack {

inline constexpr size_t kMaxStatusMessageBytes = 4096;

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// The deadline by which a server's provider calls for `context` must be done:
// the caller's deadline less a margin (a tenth of the time left, at most 2 s)
// for the answer, and its billed usage, to travel back before the caller gives
// up. InfiniteFuture when the caller set none.
absl::Time ProviderDeadline(const grpc::ServerContext& context);

// What every unary adapter method returns: the core's value moved into the
// response, or its error converted.
template <typename T>
grpc::Status ToGrpcResponse(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(result).value();
  return grpc::Status::OK;
}

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_GRPC_STATUS_H_
