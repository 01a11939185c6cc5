#include "services/gitadapter/workspace_manager.h"

#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "services/common/status_matchers.h"
#include "services/gitadapter/test_repo.h"

namespace autopack::gitadapter {
namespace {

using ::testing::HasSubstr;

class WorkspaceManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin_ = testing::NewTempDir("origin");
    ASSERT_THAT(testing::MakeRepo(origin_, 20, 2, 3), IsOk());
    root_ = testing::NewTempDir("root");
  }
  WorkspaceManager Manager() { return WorkspaceManager({root_, root_ + "/creds"}); }
  v1::OpenWorkspaceRequest Request(const std::string& run) {
    v1::OpenWorkspaceRequest request;
    request.set_run_id(run);
    request.set_repo_url(origin_);
    return request;
  }

  std::string origin_;
  std::string root_;
};

TEST_F(WorkspaceManagerTest, CreatesReopensAndSurvivesARestart) {
  v1::OpenWorkspaceRequest request = Request("run1");
  request.set_base_ref("HEAD~1");
  std::string head;
  {
    WorkspaceManager manager = Manager();
    auto opened = manager.Open(request);
    ASSERT_THAT(opened, IsOk());
    EXPECT_TRUE(opened->created());
    EXPECT_EQ(opened->workspace_id(), "run1");
    EXPECT_EQ(opened->branch(), "autopack/run1");
    EXPECT_EQ(opened->base_sha(), testing::Trim(testing::Sh(origin_, "git rev-parse HEAD~1")));
    EXPECT_EQ(opened->head_sha(), opened->base_sha());
    EXPECT_EQ(testing::Trim(testing::Sh(root_ + "/run1/repo", "git symbolic-ref HEAD")), "refs/heads/autopack/run1");
    EXPECT_EQ(testing::Trim(testing::Sh(root_, "stat -c %a run1")), "700");
    auto again = manager.Open(request);
    ASSERT_THAT(again, IsOk());
    EXPECT_FALSE(again->created());
    head = opened->head_sha();
  }
  // A new manager on the same root: the service restarted.
  WorkspaceManager restarted = Manager();
  auto workspace = restarted.Get("run1");
  ASSERT_THAT(workspace, IsOk());
  EXPECT_EQ((*workspace)->info.run_id, "run1");
  EXPECT_EQ((*workspace)->info.base_sha, head);
  v1::OpenWorkspaceRequest reopen;
  reopen.set_workspace_id("run1");
  auto reopened = restarted.Open(reopen);
  ASSERT_THAT(reopened, IsOk());
  EXPECT_FALSE(reopened->created());
  EXPECT_EQ(reopened->head_sha(), head);
}

TEST_F(WorkspaceManagerTest, RefusesConflictsAndBadInput) {
  WorkspaceManager manager = Manager();
  ASSERT_THAT(manager.Open(Request("run1")), IsOk());
  v1::OpenWorkspaceRequest other = Request("run2");
  other.set_workspace_id("run1");
  EXPECT_THAT(manager.Open(other), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("belongs to run \"run1\"")));
  EXPECT_THAT(manager.Open(Request("../escape")), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_id")));
  v1::OpenWorkspaceRequest bad_ref = Request("run3");
  bad_ref.set_base_ref("no-such-ref");
  EXPECT_THAT(manager.Open(bad_ref), StatusIs(absl::StatusCode::kNotFound, HasSubstr("no-such-ref")));
  EXPECT_THAT(manager.Get("run3"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("run3")));
  v1::OpenWorkspaceRequest no_url;
  no_url.set_run_id("run4");
  EXPECT_THAT(manager.Open(no_url), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("repo_url")));
  v1::OpenWorkspaceRequest missing_env = Request("run5");
  missing_env.set_credentials_env("AUTOPACK_NO_SUCH_TOKEN");
  EXPECT_THAT(manager.Open(missing_env),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AUTOPACK_NO_SUCH_TOKEN")));
  v1::OpenWorkspaceRequest escaping_file = Request("run6");
  escaping_file.set_credentials_file("../../etc/shadow");
  EXPECT_THAT(manager.Open(escaping_file), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("credentials_file")));
}

TEST_F(WorkspaceManagerTest, CredentialsFromAFileAreAcceptedForLocalClones) {
  ASSERT_THAT(testing::Sh(root_, "mkdir -p creds && echo secret-token > creds/token"), IsOk());
  v1::OpenWorkspaceRequest request = Request("run7");
  request.set_credentials_file("token");
  EXPECT_THAT(Manager().Open(request), IsOk());
}

TEST_F(WorkspaceManagerTest, CloseForgetsAndOptionallyDeletes) {
  WorkspaceManager manager = Manager();
  ASSERT_THAT(manager.Open(Request("keep")), IsOk());
  ASSERT_THAT(manager.Open(Request("drop")), IsOk());
  ASSERT_THAT(manager.Close("keep", false), IsOk());
  EXPECT_THAT(manager.Get("keep"), StatusHasCode(absl::StatusCode::kNotFound));
  struct stat st;
  EXPECT_EQ(stat((root_ + "/keep/repo/.git").c_str(), &st), 0);
  auto reopened = manager.Open(Request("keep"));
  ASSERT_THAT(reopened, IsOk());
  EXPECT_FALSE(reopened->created());
  ASSERT_THAT(manager.Close("drop", true), IsOk());
  EXPECT_NE(stat((root_ + "/drop").c_str(), &st), 0);
  EXPECT_THAT(manager.Close("drop", true), StatusHasCode(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace autopack::gitadapter
