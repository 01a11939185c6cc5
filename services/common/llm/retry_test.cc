#include "services/common/llm/retry.h"

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace autopack::llm {
namespace {

TEST(RetryTest, WhichStatusesAreRetried) {
  for (int status : {408, 409, 429, 500, 502, 503, 504, 529}) {
    EXPECT_TRUE(IsRetryableHttpStatus(status)) << status;
  }
  for (int status : {200, 400, 401, 403, 404, 413, 422}) {
    EXPECT_FALSE(IsRetryableHttpStatus(status)) << status;
  }
  EXPECT_TRUE(IsRetryableTransportError(absl::UnavailableError("reset")));
  EXPECT_TRUE(IsRetryableTransportError(absl::DeadlineExceededError("slow")));
  EXPECT_FALSE(IsRetryableTransportError(absl::InternalError("bug")));
}

TEST(RetryTest, BackoffIsCappedExponentialWithJitter) {
  RetryPolicy policy;
  absl::BitGen gen;
  for (int i = 0; i < 200; ++i) {
    const absl::Duration first = BackoffDelay(policy, 0, gen);
    EXPECT_GE(first, absl::Milliseconds(250));
    EXPECT_LE(first, absl::Milliseconds(500));
    const absl::Duration third = BackoffDelay(policy, 2, gen);
    EXPECT_GE(third, absl::Seconds(1));
    EXPECT_LE(third, absl::Seconds(2));
    const absl::Duration late = BackoffDelay(policy, 40, gen);
    EXPECT_GE(late, absl::Seconds(4));
    EXPECT_LE(late, absl::Seconds(8));
  }
}

TEST(RetryTest, RetryAfterSecondsOrHttpDate) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);  // Tue, 14 Nov 2023 22:13:20 GMT
  EXPECT_EQ(ParseRetryAfter("1", now), absl::Seconds(1));
  EXPECT_EQ(ParseRetryAfter(" 120 ", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("", now), absl::nullopt);
  EXPECT_EQ(ParseRetryAfter("-3", now), absl::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), absl::nullopt);
}

TEST(RetryTest, FinalStatusSaysWhatTheCallerShouldDo) {
  EXPECT_TRUE(absl::IsResourceExhausted(StatusForHttpError(429, "x")));
  EXPECT_TRUE(absl::IsFailedPrecondition(StatusForHttpError(401, "x")));
  EXPECT_TRUE(absl::IsFailedPrecondition(StatusForHttpError(403, "x")));
  EXPECT_TRUE(absl::IsInvalidArgument(StatusForHttpError(400, "x")));
  EXPECT_TRUE(absl::IsInvalidArgument(StatusForHttpError(404, "x")));
  EXPECT_TRUE(absl::IsDeadlineExceeded(StatusForHttpError(408, "x")));
  EXPECT_TRUE(absl::IsUnavailable(StatusForHttpError(409, "x")));
  EXPECT_TRUE(absl::IsUnavailable(StatusForHttpError(503, "x")));
  EXPECT_EQ(StatusForHttpError(500, "what happened").message(), "what happened");
}

}  // namespace
}  // namespace autopack::llm
