#include "services/gitadapter/working_tree.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "services/common/status_matchers.h"
#include "services/gitadapter/test_repo.h"

namespace autopack::gitadapter {
namespace {

using ::testing::HasSubstr;

const std::vector<TreeEntryInfo> kTracked = {
    {"README.md", kModeFile}, {"bin/run", kModeExecutable}, {"src/lib/a.c", kModeFile},
    {"src/link", kModeSymlink}, {"vendor/sub", kModeSubmodule}};

// What `ls -lR`-like listing of the tree shows: type and path of every entry.
std::string Listing(const std::string& dir) {
  return testing::Trim(testing::Sh(dir, "find . -path ./.git -prune -o -printf '%y %p\\n' | sort"));
}

class WorkingTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::NewTempDir("tree");
    outside_ = testing::NewTempDir("outside");
    ASSERT_THAT(testing::Sh(dir_, "mkdir -p .git/refs bin src/lib vendor/sub && echo hi > README.md && "
                                  "echo run > bin/run && chmod +x bin/run && echo a > src/lib/a.c && "
                                  "ln -s lib/a.c src/link && echo keep > .git/HEAD"),
                IsOk());
    ASSERT_THAT(testing::Sh(outside_, "mkdir lib && echo outside > lib/a.c && echo secret > file"), IsOk());
    clean_ = Listing(dir_);
  }

  std::string dir_, outside_, clean_;
};

TEST_F(WorkingTreeTest, RemovesEverythingButTrackedFilesAndDirectoriesWithoutFollowingLinks) {
  const std::string o = testing::ShellQuote(outside_);
  ASSERT_THAT(testing::Sh(dir_, absl::StrCat(
                                    "echo x > untracked && mkdir -p junk/deep && echo y > junk/deep/z && "
                                    "ln -s ", o, " junk/out && ln -s ", o, "/file notes && mkfifo pipe && "
                                    "ln README.md hardlink && chmod u+s bin/run && "
                                    "mkdir vendor/sub/dropped && echo d > vendor/sub/dropped/f && "
                                    // A tracked directory replaced by a link to a lookalike outside.
                                    "rm -r src/lib && ln -s ", o, "/lib src/lib && "
                                    // A tracked file replaced by a directory.
                                    "rm src/link && mkdir src/link && echo n > src/link/n")),
              IsOk());
  ASSERT_THAT(ScrubWorkingTree(dir_, kTracked), IsOk());
  // Only real directories on tracked paths stay, and regular files that have
  // one link and no special bits: README.md lost its second name, bin/run its
  // setuid bit, so checkout writes fresh copies of both.
  EXPECT_EQ(Listing(dir_), "d .\nd ./bin\nd ./src\nd ./vendor\nd ./vendor/sub");
  EXPECT_THAT(ReadFile(dir_ + "/.git/HEAD"), IsOkAndHolds(std::string("keep\n")));
  EXPECT_EQ(testing::Trim(testing::Sh(outside_, "find . -printf '%y %p\\n' | sort")),
            "d .\nd ./lib\nf ./file\nf ./lib/a.c");
  EXPECT_THAT(ReadFile(outside_ + "/lib/a.c"), IsOkAndHolds(std::string("outside\n")));
}

TEST_F(WorkingTreeTest, LeavesACleanTreeAsItIs) {
  ASSERT_THAT(testing::Sh(dir_, "rm src/link"), IsOk());  // symlinks always go
  const std::string before = Listing(dir_);
  ASSERT_THAT(ScrubWorkingTree(dir_, kTracked), IsOk());
  EXPECT_EQ(Listing(dir_), before);
}

TEST_F(WorkingTreeTest, TakesBackWritePermissionAChecksGaveOthers) {
  ASSERT_THAT(testing::Sh(dir_, "rm src/link && chmod 0777 . src && chmod 2775 src/lib && chmod 0666 README.md && "
                                "chmod 0777 bin/run"),
              IsOk());
  ASSERT_THAT(ScrubWorkingTree(dir_, kTracked), IsOk());
  EXPECT_EQ(testing::Trim(testing::Sh(dir_, "stat -c '%a %n' . src src/lib README.md bin/run")),
            "755 .\n755 src\n755 src/lib\n644 README.md\n755 bin/run");
}

TEST_F(WorkingTreeTest, RefusesAGitThatIsNotADirectory) {
  ASSERT_THAT(testing::Sh(dir_, absl::StrCat("rm -r .git && ln -s ", testing::ShellQuote(outside_), " .git")), IsOk());
  EXPECT_THAT(ScrubWorkingTree(dir_, kTracked),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(".git is not a directory")));
}

TEST_F(WorkingTreeTest, ChownNeverFollowsLinksNorTouchesHardlinkedFiles) {
  if (geteuid() != 0) GTEST_SKIP() << "chown to another uid needs root";
  const std::string o = testing::ShellQuote(outside_);
  ASSERT_THAT(testing::Sh(dir_, absl::StrCat("ln -s ", o, " out && ln -s ", o, "/file out_file && ln ", o,
                                             "/file hardlink")),
              IsOk());
  ASSERT_THAT(ChownWorkingTree(dir_, {".git"}, 64001, 64001), IsOk());
  EXPECT_EQ(testing::Trim(testing::Sh(dir_, "stat -c '%u %n' . README.md bin/run src/lib/a.c out out_file .git "
                                            ".git/HEAD hardlink")),
            "64001 .\n64001 README.md\n64001 bin/run\n64001 src/lib/a.c\n64001 out\n64001 out_file\n0 .git\n"
            "0 .git/HEAD\n0 hardlink");
  EXPECT_EQ(testing::Trim(testing::Sh(outside_, "stat -c '%u' . file lib lib/a.c | sort -u")), "0");
  ASSERT_THAT(ChownWorkingTree(dir_, {".git"}, 0, 0), IsOk());
}

TEST_F(WorkingTreeTest, PathsAreSafeToWriteOnlyThroughRealDirectoriesToPlainFiles) {
  EXPECT_TRUE(PathsAreSafeToWrite(dir_, {"README.md", "src/lib/new.c", "brand/new/dir/file"}));
  ASSERT_THAT(testing::Sh(dir_, absl::StrCat("ln -s ", outside_, "/lib linked && ln -s ", outside_,
                                             "/file link.txt && ln ", dir_, "/README.md hard.md && mkfifo pipe")),
              IsOk());
  EXPECT_FALSE(PathsAreSafeToWrite(dir_, {"linked/a.c"}));  // a symlinked directory on the way
  EXPECT_FALSE(PathsAreSafeToWrite(dir_, {"link.txt"}));    // the file itself a symlink
  EXPECT_FALSE(PathsAreSafeToWrite(dir_, {"README.md"}));   // two links
  EXPECT_FALSE(PathsAreSafeToWrite(dir_, {"pipe"}));
  EXPECT_FALSE(PathsAreSafeToWrite(dir_, {"README.md/x"}));  // a file where a directory belongs
}

}  // namespace
}  // namespace autopack::gitadapter
