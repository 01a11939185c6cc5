#include "services/common/patch/patch.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::patch {
namespace {

using ::testing::HasSubstr;

TEST(ParsePatchTest, ParsesGitModifyWithHunks) {
  auto patch = ParsePatch(
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

TEST(ParsePatchTest, AddDeleteRenameModeWithGitHeaders) {
  auto patch = ParsePatch(
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

TEST(ParsePatchTest, HeaderlessGitDiffSplitsFilesAtExtendedHeaders) {
  // git diff output with the `diff --git` and `index` lines removed.
  auto patch = ParsePatch(
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

TEST(ParsePatchTest, PlainDiffKeepsPathsWithoutGitPrefixesAndDropsTimestamps) {
  auto patch = ParsePatch(
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

TEST(ParsePatchTest, PlainDiffOfTwoTreesNamesThePathBelowThem) {
  // What `diff -ru bc.orig bc` writes, as in Debian's quilt patches.
  auto patch = ParsePatch(
      "--- bc.orig/dc/stack.c\n"
      "+++ bc/dc/stack.c\n"
      "@@ -1 +1 @@\n"
      "-a\n"
      "+b\n"
      "--- src/one.c\n"
      "+++ lib/two.c\n"
      "@@ -1 +1 @@\n"
      "-a\n"
      "+b\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files.size(), 2u);
  EXPECT_EQ(patch->files[0].old_path, "dc/stack.c");
  EXPECT_EQ(patch->files[0].new_path, "dc/stack.c");
  // Different paths below the top directory: kept as written.
  EXPECT_EQ(patch->files[1].old_path, "src/one.c");
  EXPECT_EQ(patch->files[1].new_path, "lib/two.c");
}

TEST(ParsePatchTest, QuotedPathsAreUnquoted) {
  auto patch = ParsePatch(
      "--- \"a/t\\303\\244b\\tx\"\n"
      "+++ \"b/t\\303\\244b\\tx\"\n"
      "@@ -1 +1 @@\n"
      "-1\n"
      "+2\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].new_path, "t\xc3\xa4" "b\tx");
}

TEST(ParsePatchTest, NoNewlineMarkerStripsTheNewline) {
  auto patch = ParsePatch(
      "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-old\n\\ No newline at end of file\n+new\n\\ No newline at end of file\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].hunks[0].lines[0].text, "old");
  EXPECT_EQ(patch->files[0].hunks[0].lines[1].text, "new");
}

TEST(ParsePatchTest, MiscountedHunksKeepTheCountedAndTheLongerReading) {
  // Header undercounts (says 1 old/1 new) and the next hunk overcounts.
  auto patch = ParsePatch(
      "--- a/f\n+++ b/f\n"
      "@@ -1,1 +1,1 @@\n a\n-b\n+c\n d\n"
      "@@ -9,9 +9,9 @@\n x\n-y\n"
      "--- a/g\n+++ b/g\n@@ -1 +1 @@\n-1\n+2\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files.size(), 2u);
  // Both readings are kept: by the counts (1 line) and to the body's end (4).
  EXPECT_EQ(patch->files[0].hunks[0].counted, 1u);
  EXPECT_EQ(patch->files[0].hunks[0].lines.size(), 4u);
  EXPECT_TRUE(patch->files[0].hunks[0].has_extra_lines());
  EXPECT_EQ(patch->files[0].hunks[1].lines.size(), 2u);
  EXPECT_EQ(patch->files[0].hunks[1].counted, 2u);
  EXPECT_EQ(patch->files[1].old_path, "g");
}

TEST(ParsePatchTest, EmptyLineInsideHunkIsEmptyContext) {
  auto patch = ParsePatch("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n");
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files[0].hunks[0].lines.size(), 4u);
  EXPECT_EQ(patch->files[0].hunks[0].lines[1].kind, ' ');
  EXPECT_EQ(patch->files[0].hunks[0].lines[1].text, "\n");
}

TEST(ParsePatchTest, BinaryAndSymlinkEntriesAreMarked) {
  auto patch = ParsePatch(
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

TEST(ParsePatchTest, RejectsWhatIsNotAUnifiedDiff) {
  EXPECT_THAT(ParsePatch("1,3c\nfoo\n.\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no unified diff")));
  EXPECT_THAT(ParsePatch("*** a/f\n--- b/f\n***************\n*** 1,2 ****\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("context diffs are not supported")));
  EXPECT_THAT(ParsePatch("@@ -1 +1 @@\n-a\n+b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("patch line 1: hunk header outside a file")));
  EXPECT_THAT(ParsePatch("--- a/f\n+++ b/f\n@@ -x +1 @@\n-a\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("patch line 3: malformed hunk header")));
  EXPECT_THAT(ParsePatch("--- a/f\n+++ b/f\n@@ -1 +1 @@\nprose\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hunk 1 of f has no lines")));
  EXPECT_THAT(ParsePatch("old mode 100644\nnew mode 100755\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("without a path")));
  EXPECT_THAT(ParsePatch("--- a/f\n+++ b/f\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f has no hunks")));
}

TEST(ParsePatchTest, KeepsHostilePathsVerbatimForTheSafetyCheck) {
  auto patch = ParsePatch("--- /dev/null\n+++ b/../../etc/passwd\n@@ -0,0 +1 @@\n+x\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].new_path, "../../etc/passwd");
  patch = ParsePatch("--- /dev/null\n+++ /abs/path\n@@ -0,0 +1 @@\n+x\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].new_path, "/abs/path");
}

TEST(ParsePatchTest, GitEscapesInQuotedPathsAreDecoded) {
  // The bypass of issue 10: `\143` is 'c', so this is tests/conftest.py.
  auto patch = ParsePatch(
      "diff --git \"a/tests/\\143onftest.py\" \"b/tests/\\143onftest.py\"\n"
      "--- \"a/tests/\\143onftest.py\"\n+++ \"b/tests/\\143onftest.py\"\n@@ -1 +1 @@\n-x\n+y\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].old_path, "tests/conftest.py");
  EXPECT_EQ(patch->files[0].new_path, "tests/conftest.py");
  // Bytes >= 0x80 (here Latin-1 e-acute) come back as the raw byte.
  patch = ParsePatch("--- \"a/caf\\351.txt\"\n+++ \"b/caf\\351.txt\"\n@@ -1 +1 @@\n-x\n+y\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].new_path, "caf\xe9.txt");
}

TEST(ParsePatchTest, LinesKeepEveryByte) {
  auto patch = ParsePatch("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-caf\xe9\r\n+caf\xe8\r\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].hunks[0].lines[0].text, "caf\xe9\r\n");
  EXPECT_EQ(patch->files[0].hunks[0].lines[1].text, "caf\xe8\r\n");
}

constexpr char kMail[] =
    "From 1234567890abcdef Mon Sep 17 00:00:00 2001\n"
    "From: A Developer <dev@example.org>\n"
    "Subject: [PATCH] Fix the greeting\n"
    "\n"
    "Signed-off-by: A Developer <dev@example.org>\n"
    "---\n"
    " hello.txt | 2 +-\n"
    " 1 file changed, 1 insertion(+), 1 deletion(-)\n"
    "\n"
    "diff --git a/hello.txt b/hello.txt\n"
    "index 1111111..2222222 100644\n"
    "--- a/hello.txt\n"
    "+++ b/hello.txt\n"
    "@@ -1,2 +1,2 @@\n"
    " hello\n"
    "-wrld\n"
    "+world\n"
    "-- \n"
    "2.39.2\n"
    "\n";

TEST(ParsePatchTest, AMailSignatureIsNeverAHunkLine) {
  auto patch = ParsePatch(kMail);
  ASSERT_THAT(patch, IsOk());
  ASSERT_EQ(patch->files.size(), 1u);
  const Hunk& hunk = patch->files[0].hunks[0];
  EXPECT_EQ(hunk.counted, 3u);
  EXPECT_EQ(hunk.lines.size(), 3u);  // not even in the longer reading
  // Overcounted, the hunk still stops before the signature.
  std::string overcounted = kMail;
  overcounted.replace(overcounted.find("@@ -1,2 +1,2 @@"), 15, "@@ -1,5 +1,5 @@");
  patch = ParsePatch(overcounted);
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(patch->files[0].hunks[0].lines.size(), 3u);
}

TEST(ParsePatchTest, ProseAfterTheLastHunkIsOnlyInTheLongerReading) {
  auto patch = ParsePatch("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n+Thanks, this fixes it.\n\nCheers\n");
  ASSERT_THAT(patch, IsOk());
  const Hunk& hunk = patch->files[0].hunks[0];
  EXPECT_EQ(hunk.counted, 2u);
  EXPECT_EQ(hunk.lines.size(), 3u);
}

TEST(ParsePatchTest, FilesTouchedNamesBothSidesOfARename) {
  auto patch = ParsePatch(
      "diff --git a/old.py b/new.py\nsimilarity index 90%\nrename from old.py\nrename to new.py\n"
      "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
  ASSERT_THAT(patch, IsOk());
  EXPECT_EQ(FilesTouched(*patch), (std::vector<std::string>{"old.py", "new.py", "x"}));
}

}  // namespace
}  // namespace autopack::patch
