// Token-usage arithmetic, and the usage a provider billed for a call that then
// failed, carried on the error
// itself (an absl::Status payload, which grpc_status.h turns into a typed
// detail of the gRPC status and back), so every billed answer reaches the
// Supervisor's ledger even when the call's result is an error.
#ifndef AUTOPACK_SERVICES_COMMON_BILLED_USAGE_H_
#define AUTOPACK_SERVICES_COMMON_BILLED_USAGE_H_

#include "absl/status/status.h"
#include "autopack/v1/common.pb.h"

namespace autopack {

// The payload's type URL: the Any type URL of autopack.v1.TokenUsage.
inline constexpr char kBilledUsageTypeUrl[] = "type.googleapis.com/autopack.v1.TokenUsage";

// Adds every count of `add` to `total`.
void AddTokenUsage(const v1::TokenUsage& add, v1::TokenUsage* total);

// Adds `usage` to what `status` (an error) already carries. No-op on OK.
void AddBilledUsage(const v1::TokenUsage& usage, absl::Status* status);
// What `status` carries; all zero when nothing (or OK).
v1::TokenUsage BilledUsageOf(const absl::Status& status);
// True when `status` carries a usage, even an all-zero one.
bool HasBilledUsage(const absl::Status& status);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_BILLED_USAGE_H_
