#include "services/supervisor/policy/issue_backlog_store.h"

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::policy {
namespace {

using ::testing::SizeIs;

TEST(InMemoryIssueBacklogStoreTest, UpdateCreatesThenModifies) {
  InMemoryIssueBacklogStore store;
  auto bump = [](BacklogEntry& entry) {
    ++entry.occurrences;
    return absl::OkStatus();
  };
  auto first = store.Update("proj", "fp1", bump);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->project_id, "proj");
  EXPECT_EQ(first->fingerprint, "fp1");
  EXPECT_EQ(first->occurrences, 1);
  EXPECT_EQ(store.Update("proj", "fp1", bump)->occurrences, 2);
  ASSERT_THAT(store.Update("other", "fp1", bump), IsOk());
  EXPECT_THAT(store.List("proj"), IsOkAndHolds(SizeIs(1)));
}

TEST(InMemoryIssueBacklogStoreTest, FailedMutationWritesNothing) {
  InMemoryIssueBacklogStore store;
  auto fail = [](BacklogEntry& entry) {
    entry.occurrences = 99;
    return absl::InternalError("boom");
  };
  EXPECT_THAT(store.Update("proj", "fp", fail), StatusHasCode(absl::StatusCode::kInternal));
  EXPECT_THAT(store.List("proj"), IsOkAndHolds(SizeIs(0)));
}

}  // namespace
}  // namespace autopack::policy
