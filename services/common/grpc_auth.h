// The gRPC side of services/common/auth.h: the processor the server bootstrap
// installs to check every call before it reaches a service, and how a
// service adapter learns who is calling.
#ifndef AUTOPACK_SERVICES_COMMON_GRPC_AUTH_H_
#define AUTOPACK_SERVICES_COMMON_GRPC_AUTH_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/server_context.h"
#include "services/common/auth.h"

namespace autopack {

// Runs AccessPolicy::Check on every call, before the service sees it; a
// refused call ends with the policy's UNAUTHENTICATED or PERMISSION_DENIED.
std::shared_ptr<grpc::AuthMetadataProcessor> NewAuthProcessor(
    std::shared_ptr<const AccessPolicy> policy);

// The caller of the call `context` belongs to, as the processor identified it
// (`authenticator` must be the one the server checks with). With a null
// `authenticator` (authentication off): Caller::AuthenticationOff().
//
// Identifies from the call's own metadata rather than from a property the
// processor could leave in the auth context, because gRPC 1.51 shares that
// context between all calls of a connection.
absl::StatusOr<Caller> CallerFromContext(const grpc::ServerContext& context,
                                         const Authenticator* authenticator);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_GRPC_AUTH_H_
