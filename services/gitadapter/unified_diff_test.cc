#include "services/gitadapter/unified_diff.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::gitadapter {
namespace {

using ::testing::HasSubstr;

TEST(UnifiedDiffTest, ParsesGitModifyWithHunks) {
  auto patch = ParseUnifiedDiff(
      "diff --git a/src/x.py b/src/x.py\n"
      "index 1111111..2222222 100644\n"
      "--- a/src/x.py\n"
      "+++ b/src/x.py\n"
      "@@ -1,3 +1,3 @@ def f():\n"
      " a\n"
      "-b\n"
      "+B\n"
      " c\n"
      "@@ -10 +10,2 @@\n"
      " j\n"
      "+k\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files.size(), 1u);
  const FilePatch& f = patch->files[0];
  EXPECT_EQ(f.old_path, "src/x.py");
  EXPECT_EQ(f.new_path, "src/x.py");
  EXPECT_EQ(f.old_mode, 0100644u);
  EXPECT_FALSE(f.added || f.deleted || f.renamed());
  ASSERT_EQ(f.hunks.size(), 2u);
  EXPECT_EQ(f.hunks[0].old_start, 1);
  EXPECT_EQ(f.hunks[0].lines.size(), 4u);
  EXPECT_EQ(f.hunks[0].lines[1].kind, '-');
  EXPECT_EQ(f.hunks[0].lines[1].text, "b\n");
  EXPECT_EQ(f.hunks[1].number, 2);
  EXPECT_EQ(f.hunks[1].old_count, 1);
}

TEST(UnifiedDiffTest, AddDeleteRenameModeWithGitHeaders) {
  auto patch = ParseUnifiedDiff(
      "diff --git a/new.txt b/new.txt\n"
      "new file mode 100755\n"
      "index 0000000..e69de29\n"
      "diff --git a/gone.txt b/gone.txt\n"
      "deleted file mode 100644\n"
      "--- a/gone.txt\n"
      "+++ /dev/null\n"
      "@@ -1 +0,0 @@\n"
      "-bye\n"
      "diff --git a/old name.txt b/new name.txt\n"
      "similarity index 100%\n"
      "rename from old name.txt\n"
      "rename to new name.txt\n"
      "diff --git a/run.sh b/run.sh\n"
      "old mode 100644\n"
      "new mode 100755\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files.size(), 4u);
  EXPECT_TRUE(patch->files[0].added);
  EXPECT_EQ(patch->files[0].new_path, "new.txt");
  EXPECT_EQ(patch->files[0].new_mode, 0100755u);
  EXPECT_TRUE(patch->files[1].deleted);
  EXPECT_EQ(patch->files[1].old_path, "gone.txt");
  EXPECT_TRUE(patch->files[2].renamed());
  EXPECT_EQ(patch->files[2].old_path, "old name.txt");
  EXPECT_EQ(patch->files[2].new_path, "new name.txt");
  EXPECT_EQ(patch->files[3].old_mode, 0100644u);
  EXPECT_EQ(patch->files[3].new_mode, 0100755u);
  EXPECT_EQ(patch->files[3].new_path, "run.sh");
}

TEST(UnifiedDiffTest, HeaderlessGitDiffSplitsFilesAtExtendedHeaders) {
  // git diff output with the `diff --git` and `index` lines removed.
  auto patch = ParseUnifiedDiff(
      "similarity index 100%\n"
      "rename from a.txt\n"
      "rename to b.txt\n"
      "--- a/c.txt\n"
      "+++ b/c.txt\n"
      "@@ -1 +1 @@\n"
      "-x\n"
      "+y\n"
      "new file mode 100644\n"
      "--- /dev/null\n"
      "+++ b/d.txt\n"
      "@@ -0,0 +1 @@\n"
      "+d\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files.size(), 3u);
  EXPECT_EQ(patch->files[0].old_path, "a.txt");
  EXPECT_EQ(patch->files[0].new_path, "b.txt");
  EXPECT_TRUE(patch->files[0].hunks.empty());
  EXPECT_EQ(patch->files[1].new_path, "c.txt");
  EXPECT_EQ(patch->files[1].hunks.size(), 1u);
  EXPECT_TRUE(patch->files[2].added);
  EXPECT_EQ(patch->files[2].new_path, "d.txt");
}

TEST(UnifiedDiffTest, PlainDiffKeepsPathsWithoutGitPrefixesAndDropsTimestamps) {
  auto patch = ParseUnifiedDiff(
      "Here is the change:\n"
      "--- src/main.c\t2024-01-01 10:00:00\n"
      "+++ src/main.c\t2024-01-02 10:00:00\n"
      "@@ -1,2 +1,2 @@\n"
      " int x;\n"
      "-int y;\n"
      "+long y;\n"
      "Hope this helps.\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files.size(), 1u);
  EXPECT_EQ(patch->files[0].old_path, "src/main.c");
  EXPECT_EQ(patch->files[0].hunks[0].lines.size(), 3u);
}

TEST(UnifiedDiffTest, QuotedPathsAreUnquoted) {
  auto patch = ParseUnifiedDiff(
      "--- \"a/t\\303\\244b\\tx\"\n"
      "+++ \"b/t\\303\\244b\\tx\"\n"
      "@@ -1 +1 @@\n"
      "-1\n"
      "+2\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].new_path, "t\xc3\xa4" "b\tx");
}

TEST(UnifiedDiffTest, NoNewlineMarkerStripsTheNewline) {
  auto patch = ParseUnifiedDiff(
      "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-old\n\\ No newline at end of file\n+new\n\\ No newline at end of file\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].hunks[0].lines[0].text, "old");
  EXPECT_EQ(patch->files[0].hunks[0].lines[1].text, "new");
}

TEST(UnifiedDiffTest, MiscountedHunksAreReadToTheirEnd) {
  // Header undercounts (says 1 old/1 new) and the next hunk overcounts.
  auto patch = ParseUnifiedDiff(
      "--- a/f\n+++ b/f\n"
      "@@ -1,1 +1,1 @@\n a\n-b\n+c\n d\n"
      "@@ -9,9 +9,9 @@\n x\n-y\n"
      "--- a/g\n+++ b/g\n@@ -1 +1 @@\n-1\n+2\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files.size(), 2u);
  EXPECT_EQ(patch->files[0].hunks[0].lines.size(), 4u);
  EXPECT_EQ(patch->files[0].hunks[1].lines.size(), 2u);
  EXPECT_EQ(patch->files[1].old_path, "g");
}

TEST(UnifiedDiffTest, EmptyLineInsideHunkIsEmptyContext) {
  auto patch = ParseUnifiedDiff("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files[0].hunks[0].lines.size(), 4u);
  EXPECT_EQ(patch->files[0].hunks[0].lines[1].kind, ' ');
  EXPECT_EQ(patch->files[0].hunks[0].lines[1].text, "\n");
}

TEST(UnifiedDiffTest, BinaryAndSymlinkEntriesAreMarked) {
  auto patch = ParseUnifiedDiff(
      "diff --git a/img.png b/img.png\n"
      "new file mode 100644\n"
      "index 0000000..1234567\n"
      "GIT binary patch\n"
      "literal 5\n"
      "McmZ?wbhEA0\n"
      "\n"
      "diff --git a/link b/link\n"
      "new file mode 120000\n"
      "--- /dev/null\n"
      "+++ b/link\n"
      "@@ -0,0 +1 @@\n"
      "+/etc\n"
      "\\ No newline at end of file\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files.size(), 2u);
  EXPECT_TRUE(patch->files[0].binary);
  EXPECT_EQ(patch->files[1].new_mode, 0120000u);
}

TEST(UnifiedDiffTest, RejectsWhatIsNotAUnifiedDiff) {
  EXPECT_THAT(ParseUnifiedDiff("1,3c\nfoo\n.\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no unified diff")));
  EXPECT_THAT(ParseUnifiedDiff("*** a/f\n--- b/f\n***************\n*** 1,2 ****\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("context diffs are not supported")));
  EXPECT_THAT(ParseUnifiedDiff("@@ -1 +1 @@\n-a\n+b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("patch line 1: hunk header outside a file")));
  EXPECT_THAT(ParseUnifiedDiff("--- a/f\n+++ b/f\n@@ -x +1 @@\n-a\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("patch line 3: malformed hunk header")));
  EXPECT_THAT(ParseUnifiedDiff("--- a/f\n+++ b/f\n@@ -1 +1 @@\nprose\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hunk 1 of f has no lines")));
  EXPECT_THAT(ParseUnifiedDiff("old mode 100644\nnew mode 100755\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("without a path")));
  EXPECT_THAT(ParseUnifiedDiff("--- a/f\n+++ b/f\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f has no hunks")));
}

TEST(UnifiedDiffTest, KeepsHostilePathsVerbatimForTheSafetyCheck) {
  auto patch = ParseUnifiedDiff("--- /dev/null\n+++ b/../../etc/passwd\n@@ -0,0 +1 @@\n+x\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].new_path, "../../etc/passwd");
  patch = ParseUnifiedDiff("--- /dev/null\n+++ /abs/path\n@@ -0,0 +1 @@\n+x\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].new_path, "/abs/path");
}

}  // namespace
}  // namespace autopack::gitadapter
