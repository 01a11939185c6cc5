#include "services/common/grpc_status.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "autopack/v1/common.pb.h"
#include "services/common/text.h"

namespace autopack {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const std::string message =
      ClipForMessage(SanitizeUtf8(status.message()), kMaxStatusMessageBytes);
  v1::RpcStatus details;
  status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
    google::protobuf::Any* any = details.add_details();
    any->set_type_url(std::string(type_url));
    any->set_value(std::string(payload));
  });
  if (details.details_size() == 0) {
    return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
  }
  details.set_code(static_cast<int>(status.code()));
  details.set_message(message);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                      details.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status converted(static_cast<absl::StatusCode>(status.error_code()),
                         status.error_message());
  v1::RpcStatus details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const google::protobuf::Any& any : details.details()) {
      converted.SetPayload(any.type_url(), absl::Cord(any.value()));
    }
  }
  return converted;
}

absl::Time ProviderDeadline(const grpc::ServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  // gRPC's "no deadline" is far in the future; past a year, call it none.
  const absl::Time caller = absl::FromChrono(std::min(
      deadline, std::chrono::system_clock::now() + std::chrono::hours(24 * 365)));
  if (caller - absl::Now() > absl::Hours(24 * 364)) return absl::InfiniteFuture();
  const absl::Duration margin = std::min(absl::Seconds(2), (caller - absl::Now()) / 10);
  return caller - std::max(margin, absl::ZeroDuration());
}

}  // namespace autopack
