#include "services/common/grpc_status.h"

#include <string>

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

TEST(GrpcStatusTest, LongMessagesAreCutOnACharacterBoundary) {
  std::string message(kMaxStatusMessageBytes - 1, 'x');
  message += "\xe2\x82\xac";  // a 3-byte character across the limit
  message += std::string(100000, 'y');
  const grpc::Status converted = ToGrpcStatus(absl::InvalidArgumentError(message));
  EXPECT_LT(converted.error_message().size(), kMaxStatusMessageBytes + 64);
  EXPECT_EQ(converted.error_message().substr(kMaxStatusMessageBytes - 1, 4), "... ");
  EXPECT_NE(converted.error_message().find("100003 more bytes"), std::string::npos);
}

}  // namespace
}  // namespace autopack
