#include "services/gitadapter/patch_plan.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::gitadapter {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// A tree held in a map: path -> (mode, content); directories are implied.
class MapTree : public TreeReader {
 public:
  explicit MapTree(std::map<std::string, FileContent> files) : files_(std::move(files)) {}

  absl::StatusOr<std::optional<uint32_t>> EntryMode(const std::string& path) override {
    const auto it = files_.find(path);
    if (it != files_.end()) return std::optional<uint32_t>(it->second.mode);
    const auto below = files_.lower_bound(path + "/");
    if (below != files_.end() && below->first.rfind(path + "/", 0) == 0) {
      return std::optional<uint32_t>(kModeDirectory);
    }
    return std::optional<uint32_t>();
  }

  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    const auto it = files_.find(path);
    if (it == files_.end()) return absl::NotFoundError(path);
    return it->second.content;
  }

 private:
  std::map<std::string, FileContent> files_;
};

MapTree SampleTree() {
  return MapTree({{"src/a.py", {kModeFile, "one\ntwo\nthree\n"}},
                  {"src/b.py", {kModeFile, "b\n"}},
                  {"run.sh", {kModeFile, "echo hi\n"}},
                  {"vendor/lib", {kModeSubmodule, ""}},
                  {"evil", {kModeSymlink, "/etc"}}});
}

absl::StatusOr<PatchPlan> Plan(const std::string& text, MapTree tree,
                               const std::vector<std::string>& allowed = {},
                               const std::vector<std::string>& protected_paths = {}) {
  auto patch = patch::ParsePatch(text);
  if (!patch.ok()) return patch.status();
  return PlanPatch(*patch, allowed, protected_paths, tree);
}

TEST(PatchPlanTest, ModifyAddDeleteRenameAndModeChange) {
  auto plan = Plan(
      "--- a/src/a.py\n+++ b/src/a.py\n@@ -2 +2 @@\n-two\n+TWO\n"
      "--- /dev/null\n+++ b/src/new.py\n@@ -0,0 +1 @@\n+new\n"
      "--- a/src/b.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-b\n"
      "diff --git a/src/a.py b/lib/a.py\nsimilarity index 100%\nrename from src/a.py\nrename to lib/a.py\n"
      "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n",
      SampleTree());
  ASSERT_THAT(plan, IsOk());
  ASSERT_EQ(plan->writes.size(), 5u);
  std::map<std::string, std::optional<FileContent>> writes;
  for (const FileWrite& w : plan->writes) writes[w.path] = w.file;
  EXPECT_EQ(writes["lib/a.py"]->content, "one\nTWO\nthree\n");
  EXPECT_FALSE(writes["src/a.py"].has_value());
  EXPECT_FALSE(writes["src/b.py"].has_value());
  EXPECT_EQ(writes["src/new.py"]->content, "new\n");
  EXPECT_EQ(writes["run.sh"]->mode, kModeExecutable);
  EXPECT_EQ(writes["run.sh"]->content, "echo hi\n");
  ASSERT_EQ(plan->changes.size(), 5u);
  EXPECT_EQ(plan->changes[0].kind(), v1::FileChange::KIND_MODIFIED);
  EXPECT_EQ(plan->changes[1].kind(), v1::FileChange::KIND_ADDED);
  EXPECT_EQ(plan->changes[2].kind(), v1::FileChange::KIND_DELETED);
  EXPECT_EQ(plan->changes[3].kind(), v1::FileChange::KIND_RENAMED);
  EXPECT_EQ(plan->changes[3].old_path(), "src/a.py");
  EXPECT_EQ(plan->changes[4].kind(), v1::FileChange::KIND_MODE_CHANGED);
}

TEST(PatchPlanTest, ReportsRelocatedHunks) {
  auto plan = Plan("--- a/src/a.py\n+++ b/src/a.py\n@@ -12 +12 @@\n-three\n+3\n", SampleTree());
  ASSERT_THAT(plan, IsOk());
  ASSERT_EQ(plan->relocated.size(), 1u);
  EXPECT_EQ(plan->relocated[0].path(), "src/a.py");
  EXPECT_EQ(plan->relocated[0].hunk(), 1);
  EXPECT_EQ(plan->relocated[0].offset(), -9);
}

TEST(PatchPlanTest, RejectionNamesEveryFileAndHunk) {
  auto plan = Plan(
      "--- a/src/a.py\n+++ b/src/a.py\n@@ -1 +1 @@\n-one\n+1\n@@ -3 +3 @@\n-drei\n+3\n"
      "--- a/missing.py\n+++ b/missing.py\n@@ -1 +1 @@\n-x\n+y\n"
      "--- /dev/null\n+++ b/src/b.py\n@@ -0,0 +1 @@\n+dup\n",
      SampleTree());
  EXPECT_THAT(plan, StatusIs(absl::StatusCode::kInvalidArgument,
                             AllOf(HasSubstr("src/a.py: hunk 2: its context and removed lines match nowhere"),
                                   HasSubstr("missing.py: `missing.py` does not exist"),
                                   HasSubstr("src/b.py: the patch adds it but it already exists"))));
}

TEST(PatchPlanTest, RejectsHostileEntries) {
  const struct {
    const char* patch;
    const char* reason;
  } cases[] = {
      {"--- /dev/null\n+++ b/../../etc/passwd\n@@ -0,0 +1 @@\n+root\n", "would leave the repository"},
      {"--- /dev/null\n+++ /abs/path\n@@ -0,0 +1 @@\n+x\n", "absolute paths"},
      {"--- a/.git/config\n+++ b/.git/config\n@@ -1 +1 @@\n-a\n+b\n", "under .git"},
      {"diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc\n",
       "symlink entries"},
      {"--- /dev/null\n+++ b/evil/passwd\n@@ -0,0 +1 @@\n+x\n", "goes through the symlink `evil`"},
      {"--- a/evil\n+++ b/evil\n@@ -1 +1 @@\n-/etc\n+/root\n", "is a symlink in the repository"},
      {"diff --git a/vendor/lib b/vendor/lib\nindex 1..2 160000\n--- a/vendor/lib\n+++ b/vendor/lib\n"
       "@@ -1 +1 @@\n-Subproject commit 1\n+Subproject commit 2\n",
       "submodule entries"},
      {"--- /dev/null\n+++ b/vendor/lib/x.c\n@@ -0,0 +1 @@\n+x\n", "inside the submodule `vendor/lib`"},
      {"diff --git a/x.png b/x.png\nnew file mode 100644\nGIT binary patch\nliteral 1\nAc\n", "binary"},
      {"--- /dev/null\n+++ b/src/a.py/x\n@@ -0,0 +1 @@\n+x\n", "`src/a.py` is a file"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(Plan(c.patch, SampleTree()), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.reason)))
        << c.patch;
  }
}

TEST(PatchPlanTest, EnforcesAllowedPaths) {
  const std::string patch = "--- a/run.sh\n+++ b/run.sh\n@@ -1 +1 @@\n-echo hi\n+echo ho\n";
  EXPECT_THAT(Plan(patch, SampleTree(), {"src/**"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outside the phase's allowed paths (src/**)")));
  EXPECT_THAT(Plan(patch, SampleTree(), {"src/**", "*.sh"}), IsOk());
}

TEST(PatchPlanTest, DeletionMustRemoveTheWholeFile) {
  EXPECT_THAT(Plan("--- a/src/a.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-one\n-two\n", SampleTree()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not remove all of it")));
}

TEST(PatchPlanTest, SameFileTwiceAppliesInSequence) {
  auto plan = Plan(
      "--- a/src/b.py\n+++ b/src/b.py\n@@ -1 +1 @@\n-b\n+c\n"
      "--- a/src/b.py\n+++ b/src/b.py\n@@ -1 +1 @@\n-c\n+d\n",
      SampleTree());
  ASSERT_THAT(plan, IsOk());
  ASSERT_EQ(plan->writes.size(), 1u);
  EXPECT_EQ(plan->writes[0].file->content, "d\n");
}

TEST(PatchPlanTest, ProtectedPathsAreRefusedAlsoWhenTheirNameIsEscaped) {
  // `\143` is git's escape of 'c': the path is tests/conftest.py.
  const std::string escaped =
      "diff --git \"a/tests/\\143onftest.py\" \"b/tests/\\143onftest.py\"\n"
      "--- \"a/tests/\\143onftest.py\"\n+++ \"b/tests/\\143onftest.py\"\n"
      "@@ -1 +1 @@\n-x\n+y\n";
  MapTree tree({{"tests/conftest.py", {kModeFile, "x\n"}}});
  EXPECT_THAT(Plan(escaped, tree, {}, {"conftest.py"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("`tests/conftest.py` is a protected path (matches conftest.py)")));
  EXPECT_THAT(Plan(escaped, tree), IsOk());
}

}  // namespace
}  // namespace autopack::gitadapter
