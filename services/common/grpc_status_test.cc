#include "services/common/grpc_status.h"

#include "gtest/gtest.h"

namespace autopack {
namespace {

TEST(GrpcStatusTest, EveryCodeRoundTripsWithItsMessage) {
  for (int code = 0; code <= 16; ++code) {
    const auto absl_code = static_cast<absl::StatusCode>(code);
    const absl::Status original(absl_code, code == 0 ? "" : "tiers[1].phases[0]: bad");
    const grpc::Status converted = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(converted.error_code()), code);
    if (code != 0) {
      EXPECT_EQ(converted.error_message(), "tiers[1].phases[0]: bad");
    }
    EXPECT_EQ(FromGrpcStatus(converted), original) << "code " << code;
  }
}

TEST(GrpcStatusTest, GrpcCodesMapToTheSameAbslCodes) {
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "cap")).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ToGrpcStatus(absl::DeadlineExceededError("slow")).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace autopack
