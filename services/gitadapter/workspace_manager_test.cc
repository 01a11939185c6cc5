#include "services/gitadapter/workspace_manager.h"

#include <stdlib.h>
#include <unistd.h>

#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "services/common/status_macros.h"
#include "services/common/status_matchers.h"
#include "services/gitadapter/git_repository.h"
#include "services/gitadapter/test_repo.h"

namespace autopack::gitadapter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class WorkspaceManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin_ = testing::NewTempDir("origin");
    ASSERT_THAT(testing::MakeRepo(origin_, 20, 2, 3), IsOk());
    root_ = testing::NewTempDir("root");
  }
  WorkspaceManager Manager() { return WorkspaceManager({root_, root_ + "/creds", {origin_}, {"GIT_TOKEN"}}); }
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
}

// An https origin served by the real repository on disk: the clone hook sees
// the URL and the token GitAdapter would send.
class HttpsOriginTest : public WorkspaceManagerTest {
 protected:
  WorkspaceManager Manager() {
    WorkspaceManagerOptions options{root_, root_ + "/creds", {}, {"GIT_TOKEN"}};
    options.clone = [this](const std::string& url, const std::string& dir,
                           const std::string& token) -> absl::StatusOr<std::unique_ptr<Repository>> {
      seen_url_ = url;
      seen_token_ = token;
      ASSIGN_OR_RETURN(std::unique_ptr<GitRepository> repo, GitRepository::Clone(origin_, dir, ""));
      return std::unique_ptr<Repository>(std::move(repo));
    };
    return WorkspaceManager(std::move(options));
  }
  v1::OpenWorkspaceRequest Request(const std::string& run) {
    v1::OpenWorkspaceRequest request = WorkspaceManagerTest::Request(run);
    request.set_repo_url("https://git.example.com/o/r.git");
    return request;
  }
  std::string seen_url_, seen_token_;
};

TEST_F(HttpsOriginTest, CredentialErrorsNameTheField) {
  WorkspaceManager manager = Manager();
  setenv("GIT_TOKEN", "", 1);
  v1::OpenWorkspaceRequest missing_env = Request("run5");
  missing_env.set_credentials_env("GIT_TOKEN");
  EXPECT_THAT(manager.Open(missing_env), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("GIT_TOKEN")));
  v1::OpenWorkspaceRequest escaping_file = Request("run6");
  escaping_file.set_credentials_file("../../etc/shadow");
  EXPECT_THAT(manager.Open(escaping_file), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("credentials_file")));
  EXPECT_TRUE(seen_url_.empty());
}

TEST_F(HttpsOriginTest, CredentialsFromAFileOrAnAllowedVariableReachTheClone) {
  ASSERT_THAT(testing::Sh(root_, "mkdir -p creds && echo secret-token > creds/token"), IsOk());
  v1::OpenWorkspaceRequest request = Request("run7");
  request.set_credentials_file("token");
  EXPECT_THAT(Manager().Open(request), IsOk());
  EXPECT_EQ(seen_url_, "https://git.example.com/o/r.git");
  EXPECT_EQ(seen_token_, "secret-token");
  setenv("GIT_TOKEN", " env-token\n", 1);
  v1::OpenWorkspaceRequest from_env = Request("run8");
  from_env.set_credentials_env("GIT_TOKEN");
  EXPECT_THAT(Manager().Open(from_env), IsOk());
  EXPECT_EQ(seen_token_, "env-token");
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

TEST_F(WorkspaceManagerTest, LocalRepositoriesOnlyFromUnderTheLocalRoots) {
  WorkspaceManager manager = Manager();
  const std::string elsewhere = testing::NewTempDir("elsewhere");
  ASSERT_THAT(testing::MakeRepo(elsewhere, 2, 1, 1), IsOk());
  v1::OpenWorkspaceRequest request = Request("r1");
  request.set_repo_url(elsewhere);
  EXPECT_THAT(manager.Open(request),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("--local_repo_roots")));
  // ".." and symlinks are judged by where they lead.
  request.set_repo_url(origin_ + "/../" + elsewhere.substr(elsewhere.rfind('/') + 1));
  EXPECT_THAT(manager.Open(request), StatusHasCode(absl::StatusCode::kPermissionDenied));
  ASSERT_EQ(symlink(elsewhere.c_str(), (origin_ + "/link").c_str()), 0);
  request.set_repo_url("file://" + origin_ + "/link");
  EXPECT_THAT(manager.Open(request), StatusHasCode(absl::StatusCode::kPermissionDenied));
  request.set_repo_url(origin_ + "/missing");
  EXPECT_THAT(manager.Open(request), StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not exist")));
  request.set_repo_url("file://" + origin_);
  EXPECT_THAT(manager.Open(request), IsOk());
}

TEST_F(WorkspaceManagerTest, AnotherWorkspaceCannotBeCloned) {
  WorkspaceManager manager = Manager();
  ASSERT_THAT(manager.Open(Request("r1")), IsOk());
  WorkspaceManager wide({root_, "", {"/"}});
  v1::OpenWorkspaceRequest request = Request("r2");
  request.set_repo_url(root_ + "/r1/repo");
  EXPECT_THAT(wide.Open(request), StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("workspace")));
}

TEST_F(WorkspaceManagerTest, CredentialsOnlyFromTheAllowlistAndOnlyOverHttpsOrSsh) {
  WorkspaceManager manager = Manager();
  v1::OpenWorkspaceRequest request = Request("r1");
  request.set_repo_url("https://git.example.com/o/r.git");
  request.set_credentials_env("OPENAI_API_KEY");
  EXPECT_THAT(manager.Open(request),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("--credentials_env_allowlist")));
  request.set_repo_url("http://git.example.com/o/r.git");
  request.set_credentials_env("GIT_TOKEN");
  EXPECT_THAT(manager.Open(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("only sent over https:// or ssh://")));
  request.set_repo_url(origin_);
  EXPECT_THAT(manager.Open(request), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("takes no credentials")));
  request.clear_credentials_env();
  request.set_repo_url("https://x-access-token:sk-test-1@git.example.com/o/r.git");
  absl::StatusOr<v1::OpenWorkspaceResponse> refused = manager.Open(request);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must not carry a password")));
  EXPECT_THAT(std::string(refused.status().message()), Not(HasSubstr("sk-test-1")));
  request.set_repo_url("ext::sh -c touch% /tmp/pwned");
  EXPECT_THAT(manager.Open(request), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not supported")));
}

}  // namespace
}  // namespace autopack::gitadapter
