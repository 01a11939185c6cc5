#include "services/common/llm/idempotency_cache.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::llm {
namespace {

using ::testing::HasSubstr;

class IdempotencyCacheTest : public ::testing::Test {
 protected:
  IdempotencyCache<int>::Options Options(size_t max_entries) {
    IdempotencyCache<int>::Options options;
    options.max_entries = max_entries;
    options.ttl = absl::Minutes(10);
    options.now = [this] { return now_; };
    return options;
  }
  std::function<absl::StatusOr<int>()> Counting(int value) {
    return [this, value]() -> absl::StatusOr<int> {
      ++calls_;
      return value;
    };
  }
  absl::Time now_ = absl::FromUnixSeconds(1000);
  std::atomic<int> calls_{0};
};

TEST_F(IdempotencyCacheTest, SameKeySameAnswerWithoutRecomputing) {
  IdempotencyCache<int> cache(Options(10));
  EXPECT_THAT(cache.GetOrCompute("k", "req", Counting(1)), IsOkAndHolds(1));
  EXPECT_THAT(cache.GetOrCompute("k", "req", Counting(2)), IsOkAndHolds(1));
  EXPECT_EQ(calls_, 1);
  EXPECT_THAT(cache.GetOrCompute("other", "req", Counting(3)), IsOkAndHolds(3));
  EXPECT_EQ(calls_, 2);
}

TEST_F(IdempotencyCacheTest, EmptyKeyAlwaysComputes) {
  IdempotencyCache<int> cache(Options(10));
  EXPECT_THAT(cache.GetOrCompute("", "req", Counting(1)), IsOkAndHolds(1));
  EXPECT_THAT(cache.GetOrCompute("", "req", Counting(2)), IsOkAndHolds(2));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(IdempotencyCacheTest, ErrorsAreNotStored) {
  IdempotencyCache<int> cache(Options(10));
  EXPECT_THAT(cache.GetOrCompute("k", "req", [] { return absl::StatusOr<int>(absl::UnavailableError("down")); }),
              StatusHasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(cache.GetOrCompute("k", "req", Counting(7)), IsOkAndHolds(7));
}

// A failure the provider billed is kept with its usage: asking the key again
// settles it rather than paying the provider a second time.
TEST_F(IdempotencyCacheTest, BilledErrorsAreStoredWithTheirUsage) {
  IdempotencyCache<int> cache(Options(10));
  const auto billed_failure = [this]() -> absl::StatusOr<int> {
    ++calls_;
    absl::Status status = absl::UnavailableError("bad answers");
    v1::TokenUsage usage;
    usage.set_input_tokens(12);
    AddBilledUsage(usage, &status);
    return status;
  };
  EXPECT_THAT(cache.GetOrCompute("k", "req", billed_failure),
              StatusHasCode(absl::StatusCode::kUnavailable));
  const absl::StatusOr<int> again = cache.GetOrCompute("k", "req", Counting(7));
  EXPECT_THAT(again, StatusHasCode(absl::StatusCode::kUnavailable));
  EXPECT_EQ(BilledUsageOf(again.status()).input_tokens(), 12);
  EXPECT_EQ(calls_, 1);
}

TEST_F(IdempotencyCacheTest, AKeyReusedForAnotherRequestIsRejected) {
  IdempotencyCache<int> cache(Options(10));
  ASSERT_THAT(cache.GetOrCompute("k", "req", Counting(1)), IsOk());
  EXPECT_THAT(cache.GetOrCompute("k", "different", Counting(2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"k\"")));
}

TEST_F(IdempotencyCacheTest, EntriesExpireAndTheOldestAreEvicted) {
  IdempotencyCache<int> cache(Options(2));
  ASSERT_THAT(cache.GetOrCompute("a", "r", Counting(1)), IsOk());
  ASSERT_THAT(cache.GetOrCompute("b", "r", Counting(2)), IsOk());
  ASSERT_THAT(cache.GetOrCompute("c", "r", Counting(3)), IsOk());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_THAT(cache.GetOrCompute("a", "r", Counting(10)), IsOkAndHolds(10));  // evicted
  EXPECT_THAT(cache.GetOrCompute("c", "r", Counting(11)), IsOkAndHolds(3));
  now_ += absl::Minutes(11);
  EXPECT_THAT(cache.GetOrCompute("c", "r", Counting(12)), IsOkAndHolds(12));  // expired
}

TEST_F(IdempotencyCacheTest, ConcurrentCallsWithOneKeyComputeOnce) {
  IdempotencyCache<int> cache(Options(10));
  absl::Notification started, release;
  std::thread first([&] {
    EXPECT_THAT(cache.GetOrCompute("k", "r",
                                   [&]() -> absl::StatusOr<int> {
                                     ++calls_;
                                     started.Notify();
                                     release.WaitForNotification();
                                     return 5;
                                   }),
                IsOkAndHolds(5));
  });
  started.WaitForNotification();
  std::thread second([&] { EXPECT_THAT(cache.GetOrCompute("k", "r", Counting(6)), IsOkAndHolds(5)); });
  release.Notify();
  first.join();
  second.join();
  EXPECT_EQ(calls_, 1);
}

}  // namespace
}  // namespace autopack::llm
