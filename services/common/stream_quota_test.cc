#include "services/common/stream_quota.h"

#include <optional>

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack {
namespace {

using ::testing::HasSubstr;

TEST(StreamQuotaTest, CountsPerCallerAndFreesOnRelease) {
  StreamQuota quota(2);
  std::optional<StreamQuota::Slot> a, b, c, other;
  ASSERT_THAT(quota.Acquire("alice", &a), IsOk());
  ASSERT_THAT(quota.Acquire("alice", &b), IsOk());
  EXPECT_THAT(quota.Acquire("alice", &c),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("already has 2 streams open")));
  EXPECT_FALSE(c.has_value());
  EXPECT_THAT(quota.Acquire("bob", &other), IsOk());
  a.reset();
  EXPECT_EQ(quota.open("alice"), 1);
  EXPECT_THAT(quota.Acquire("alice", &c), IsOk());
  b.reset();
  c.reset();
  other.reset();
  EXPECT_EQ(quota.open("alice"), 0);
  EXPECT_EQ(quota.open("bob"), 0);
}

}  // namespace
}  // namespace autopack
