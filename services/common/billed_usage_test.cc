#include "services/common/billed_usage.h"

#include "gtest/gtest.h"
#include "services/common/grpc_status.h"

namespace autopack {
namespace {

TEST(BilledUsageTest, AddsUpAndSurvivesTheTripThroughAGrpcStatus) {
  absl::Status status = absl::DeadlineExceededError("provider 'openai': timed out");
  EXPECT_FALSE(HasBilledUsage(status));
  v1::TokenUsage first;
  first.set_input_tokens(100);
  first.set_output_tokens(7);
  v1::TokenUsage second;
  second.set_input_tokens(50);
  second.set_cache_write_tokens(20);
  second.set_unreported_answers(1);
  AddBilledUsage(first, &status);
  AddBilledUsage(second, &status);

  const grpc::Status wire = ToGrpcStatus(status);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_FALSE(wire.error_details().empty());  // the google.rpc.Status-shaped trailer
  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(back.message(), status.message());
  ASSERT_TRUE(HasBilledUsage(back));
  const v1::TokenUsage usage = BilledUsageOf(back);
  EXPECT_EQ(usage.input_tokens(), 150);
  EXPECT_EQ(usage.output_tokens(), 7);
  EXPECT_EQ(usage.cache_write_tokens(), 20);
  EXPECT_EQ(usage.unreported_answers(), 1);
}

TEST(BilledUsageTest, NothingOnOkAndNoDetailsWithoutPayload) {
  absl::Status ok;
  AddBilledUsage(v1::TokenUsage(), &ok);
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(ToGrpcStatus(absl::InternalError("x")).error_details().empty());
  EXPECT_FALSE(HasBilledUsage(FromGrpcStatus(grpc::Status(grpc::StatusCode::INTERNAL, "x"))));
}

}  // namespace
}  // namespace autopack
