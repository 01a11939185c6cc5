#include "services/gitadapter/git_repository.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "services/common/status_matchers.h"
#include "services/gitadapter/test_repo.h"

namespace autopack::gitadapter {
namespace {

using ::testing::HasSubstr;
using testing::Sh;

class GitRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin_ = testing::NewTempDir("origin");
    ASSERT_THAT(testing::MakeRepo(origin_, 40, 2, 7), IsOk());
    clone_ = testing::NewTempDir("clone") + "/ws";
    auto repo = GitRepository::Clone(origin_, clone_, "");
    ASSERT_THAT(repo, IsOk());
    repo_ = std::move(*repo);
    head_ = testing::Trim(Sh(origin_, "git rev-parse HEAD"));
  }

  std::string origin_;
  std::string clone_;
  std::string head_;
  std::unique_ptr<GitRepository> repo_;
};

TEST_F(GitRepositoryTest, ResolvesRevisionsLikeGit) {
  EXPECT_THAT(repo_->ResolveCommit("HEAD"), IsOkAndHolds(head_));
  EXPECT_THAT(repo_->ResolveCommit("origin/main"), IsOkAndHolds(head_));
  EXPECT_THAT(repo_->ResolveCommit("HEAD~1"), IsOkAndHolds(testing::Trim(Sh(origin_, "git rev-parse HEAD~1"))));
  EXPECT_THAT(repo_->ResolveCommit("no-such-branch"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("no-such-branch")));
  EXPECT_THAT(repo_->BranchHead("main"), IsOkAndHolds(std::optional<std::string>(head_)));
  EXPECT_THAT(repo_->BranchHead("autopack/none"), IsOkAndHolds(std::optional<std::string>()));
}

TEST_F(GitRepositoryTest, ListsAndReadsTheTreeWithModes) {
  auto files = repo_->ListFiles(head_);
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ(files->size(), 43u);
  auto tree = repo_->ReadTree(head_);
  ASSERT_THAT(tree, IsOk());
  EXPECT_THAT((*tree)->EntryMode("run.sh"), IsOkAndHolds(std::optional<uint32_t>(kModeExecutable)));
  EXPECT_THAT((*tree)->EntryMode("link_to_pkg0"), IsOkAndHolds(std::optional<uint32_t>(kModeSymlink)));
  EXPECT_THAT((*tree)->EntryMode("src/pkg0"), IsOkAndHolds(std::optional<uint32_t>(kModeDirectory)));
  EXPECT_THAT((*tree)->EntryMode("nope"), IsOkAndHolds(std::optional<uint32_t>()));
  EXPECT_THAT((*tree)->ReadFile("README.md"), IsOkAndHolds(std::string("# sample\n")));
}

TEST_F(GitRepositoryTest, WritesTheSameTreeAsGitAndChecksItOut) {
  auto tree = repo_->WriteTree(head_, {{"README.md", FileContent{kModeFile, "# changed\n"}},
                                       {"run.sh", std::nullopt},
                                       {"new/dir/tool.sh", FileContent{kModeExecutable, "echo\n"}}});
  ASSERT_THAT(tree, IsOk());
  const std::string scratch = testing::NewTempDir("scratch");
  ASSERT_THAT(Sh(scratch, absl::StrCat("git clone -q ", origin_, " w && cd w && echo '# changed' > README.md && "
                                       "git rm -q run.sh && mkdir -p new/dir && echo echo > new/dir/tool.sh && "
                                       "chmod +x new/dir/tool.sh && git add -A")),
              IsOk());
  EXPECT_EQ(*tree, testing::Trim(Sh(scratch + "/w", "git write-tree")));
  // Writing a tree moved nothing.
  EXPECT_EQ(testing::Trim(Sh(clone_, "git status --porcelain")), "");

  auto commit = repo_->CreateCommit(*tree, head_, "msg\n", {"Ann", "ann@example.com"}, {"Bot", "bot@example.com"});
  ASSERT_THAT(commit, IsOk());
  ASSERT_THAT(repo_->CheckoutBranch("autopack/r1", *commit), IsOk());
  EXPECT_EQ(testing::Trim(Sh(clone_, "git symbolic-ref HEAD")), "refs/heads/autopack/r1");
  EXPECT_EQ(testing::Trim(Sh(clone_, "git rev-parse HEAD")), *commit);
  EXPECT_EQ(testing::Trim(Sh(clone_, "git status --porcelain")), "");
  EXPECT_EQ(testing::Trim(Sh(clone_, "git log -1 --format='%an <%ae> / %cn'")), "Ann <ann@example.com> / Bot");
  EXPECT_THAT(ReadFile(clone_ + "/README.md"), IsOkAndHolds(std::string("# changed\n")));
  EXPECT_EQ(testing::Trim(Sh(clone_, "test -e run.sh && echo present || echo gone")), "gone");
  EXPECT_EQ(testing::Trim(Sh(clone_, "test -x new/dir/tool.sh && echo x")), "x");

  auto info = repo_->GetCommit(*commit);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->message, "msg\n");
  EXPECT_EQ(info->tree_sha, *tree);
  EXPECT_THAT(info->parents, ::testing::ElementsAre(head_));
  EXPECT_THAT(repo_->IsAncestor(head_, *commit), IsOkAndHolds(true));
  EXPECT_THAT(repo_->IsAncestor(*commit, head_), IsOkAndHolds(false));
  EXPECT_THAT(repo_->IsAncestor(*commit, *commit), IsOkAndHolds(true));

  auto diff = repo_->Diff(head_, *commit);
  ASSERT_THAT(diff, IsOk());
  EXPECT_THAT(diff->patch, HasSubstr("+# changed"));
  ASSERT_EQ(diff->files.size(), 3u);

  // Back to the base: the added file disappears from the working tree.
  ASSERT_THAT(repo_->CheckoutBranch("autopack/r1", head_), IsOk());
  EXPECT_EQ(testing::Trim(Sh(clone_, "test -e new/dir/tool.sh && echo present || echo gone")), "gone");
  EXPECT_EQ(testing::Trim(Sh(clone_, "git status --porcelain")), "");
}

TEST_F(GitRepositoryTest, RejectsUnusableIdentities) {
  auto tree = repo_->WriteTree(head_, {});
  ASSERT_THAT(tree, IsOk());
  EXPECT_THAT(repo_->CreateCommit(*tree, head_, "m", {"<evil>", "a@b"}, {"Bot", "bot@x"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("author")));
}

TEST_F(GitRepositoryTest, TagsAreIdempotentAndNeverMoved) {
  EXPECT_THAT(repo_->CreateTag("autopack/r1/tier1", head_, "", {}), IsOkAndHolds(std::string("refs/tags/autopack/r1/tier1")));
  EXPECT_THAT(repo_->CreateTag("autopack/r1/tier1", head_, "", {}), IsOk());
  const std::string parent = testing::Trim(Sh(origin_, "git rev-parse HEAD~1"));
  EXPECT_THAT(repo_->CreateTag("autopack/r1/tier1", parent, "", {}), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already exists")));
  EXPECT_THAT(repo_->CreateTag("annotated", head_, "snapshot\n", {"Bot", "bot@example.com"}), IsOk());
  EXPECT_EQ(testing::Trim(Sh(clone_, "git cat-file -t refs/tags/annotated")), "tag");
  EXPECT_EQ(testing::Trim(Sh(clone_, "git rev-parse 'annotated^{commit}'")), head_);
  EXPECT_THAT(repo_->CreateTag("bad..name", head_, "", {}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad..name")));
}

TEST(GitRepositoryCloneTest, FailsForMissingRepositoriesAndOpensExistingOnes) {
  const std::string dir = testing::NewTempDir("missing");
  EXPECT_FALSE(GitRepository::Clone(dir + "/nothing", dir + "/ws", "").ok());
  EXPECT_THAT(GitRepository::Open(dir + "/nothing"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("nothing")));
  const std::string origin = testing::NewTempDir("origin");
  ASSERT_THAT(testing::MakeRepo(origin, 3, 0, 1), IsOk());
  ASSERT_THAT(GitRepository::Clone(absl::StrCat("file://", origin), dir + "/ws2", ""), IsOk());
  EXPECT_THAT(GitRepository::Open(dir + "/ws2"), IsOk());
}

}  // namespace
}  // namespace autopack::gitadapter
