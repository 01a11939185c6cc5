#include "services/supervisor/policy/issue_tracking.h"

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::policy {
namespace {

using ::testing::SizeIs;

v1::Issue Minor(const std::string& message, const std::string& path = "src/a.py") {
  v1::Issue issue;
  issue.set_severity(v1::SEVERITY_MINOR);
  issue.set_category("style");
  issue.set_path(path);
  issue.set_message(message);
  return issue;
}

v1::Issue Major(const std::string& message) {
  v1::Issue issue = Minor(message);
  issue.set_severity(v1::SEVERITY_MAJOR);
  issue.set_category("security");
  return issue;
}

TEST(RunIssueIndexTest, CountsOccurrencesPerRunAndPhase) {
  RunIssueIndex index;
  EXPECT_EQ(index.Record("t1", "p1", Minor("line 1: long line")).run_occurrences, 1);
  EXPECT_EQ(index.Record("t1", "p1", Minor("line 9: long line")).phase_occurrences, 2);
  RunIssueIndex::Recorded third = index.Record("t1", "p2", Minor("line 3: long line"));
  EXPECT_EQ(third.run_occurrences, 3);
  EXPECT_EQ(third.phase_occurrences, 1);
  index.Record("t2", "p3", Major("secret added"));
  // A later minor occurrence of a major issue keeps it major.
  v1::Issue downgraded = Major("secret added");
  downgraded.set_severity(v1::SEVERITY_MINOR);
  index.Record("t2", "p3", downgraded);

  std::vector<v1::TrackedIssue> all = index.Issues();
  ASSERT_THAT(all, SizeIs(2));
  EXPECT_EQ(all[0].occurrences(), 3);
  EXPECT_EQ(all[0].tiers_seen(), 1);
  EXPECT_EQ(all[0].issue().fingerprint(), third.fingerprint);
  EXPECT_EQ(all[1].issue().severity(), v1::SEVERITY_MAJOR);
  std::vector<v1::TrackedIssue> p1 = index.Issues("p1");
  ASSERT_THAT(p1, SizeIs(1));
  EXPECT_EQ(p1[0].occurrences(), 2);
}

class ProjectBacklogTest : public ::testing::Test {
 protected:
  BacklogEntry Record(const std::string& run, const std::string& tier, const v1::Issue& issue) {
    auto entry = backlog_.Record("proj", run, tier, issue, absl::FromUnixSeconds(1));
    EXPECT_THAT(entry, IsOk());
    return entry.ok() ? *entry : BacklogEntry();
  }
  InMemoryIssueBacklogStore store_;
  ProjectBacklog backlog_{&store_};
};

TEST_F(ProjectBacklogTest, SameIssueFiveTimesInOneRunAgesOnce) {
  BacklogEntry entry;
  for (int i = 0; i < 5; ++i) entry = Record("run1", "t1", Minor("line " + std::to_string(i)));
  EXPECT_EQ(entry.occurrences, 5);
  EXPECT_EQ(entry.run_ids.size(), 1u);
  EXPECT_EQ(entry.tier_ids.size(), 1u);
  EXPECT_FALSE(entry.needs_cleanup);
}

TEST_F(ProjectBacklogTest, MinorIssueNeedsCleanupAtThreeRuns) {
  EXPECT_FALSE(Record("run1", "t1", Minor("todo left")).needs_cleanup);
  EXPECT_FALSE(Record("run1", "t1", Minor("todo left")).needs_cleanup);
  EXPECT_FALSE(Record("run2", "t1", Minor("todo left")).needs_cleanup);
  BacklogEntry third = Record("run3", "t1", Minor("todo left"));
  EXPECT_TRUE(third.needs_cleanup);
  EXPECT_EQ(third.run_ids.size(), 3u);
  EXPECT_EQ(third.first_run_id, "run1");
  EXPECT_EQ(third.last_run_id, "run3");
}

TEST_F(ProjectBacklogTest, MinorIssueNeedsCleanupAtTwoTiers) {
  EXPECT_FALSE(Record("run1", "t1", Minor("todo left")).needs_cleanup);
  EXPECT_TRUE(Record("run1", "t2", Minor("todo left")).needs_cleanup);
}

TEST_F(ProjectBacklogTest, MajorIssuesNeverAgeIntoAcceptance) {
  BacklogEntry entry;
  for (const char* run : {"r1", "r2", "r3", "r4"}) {
    for (const char* tier : {"t1", "t2"}) entry = Record(run, tier, Major("sql injection"));
  }
  EXPECT_FALSE(entry.needs_cleanup);
  EXPECT_EQ(entry.worst_severity, v1::SEVERITY_MAJOR);
  // Seen as minor later, it stays major and still does not age.
  v1::Issue minor = Major("sql injection");
  minor.set_severity(v1::SEVERITY_MINOR);
  entry = Record("r5", "t3", minor);
  EXPECT_FALSE(entry.needs_cleanup);
  EXPECT_EQ(entry.worst_severity, v1::SEVERITY_MAJOR);
}

TEST_F(ProjectBacklogTest, ListFiltersAndSorts) {
  Record("r1", "t1", Minor("a"));
  Record("r1", "t2", Minor("a"));
  Record("r1", "t1", Minor("b"));
  Record("r1", "t1", Major("c"));
  Record("r2", "t1", Major("c"));
  Record("r3", "t1", Major("c"));
  auto all = backlog_.List("proj", v1::SEVERITY_UNSPECIFIED, false);
  ASSERT_THAT(all, IsOk());
  ASSERT_THAT(*all, SizeIs(3));
  EXPECT_EQ((*all)[0].occurrences(), 3);
  EXPECT_EQ((*all)[0].runs_seen(), 3);
  auto majors = backlog_.List("proj", v1::SEVERITY_MAJOR, false);
  ASSERT_THAT(majors, IsOk());
  ASSERT_THAT(*majors, SizeIs(1));
  auto cleanup = backlog_.List("proj", v1::SEVERITY_UNSPECIFIED, true);
  ASSERT_THAT(cleanup, IsOk());
  ASSERT_THAT(*cleanup, SizeIs(1));
  EXPECT_EQ((*cleanup)[0].tiers_seen(), 2);
  EXPECT_TRUE((*cleanup)[0].needs_cleanup());
  EXPECT_THAT(backlog_.List("other", v1::SEVERITY_UNSPECIFIED, false), IsOkAndHolds(SizeIs(0)));
}

}  // namespace
}  // namespace autopack::policy
