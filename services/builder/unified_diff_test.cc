#include "services/builder/unified_diff.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::builder {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kGitDiff[] = R"(diff --git a/src/app.py b/src/app.py
index 3b18e51..a9c2d4f 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,3 +1,4 @@
 import os

+import sys
 def main():
@@ -10,2 +11,2 @@ def main():
-    return 0
+    return 1
 # end
diff --git a/README.md b/README.md
new file mode 100644
--- /dev/null
+++ b/README.md
@@ -0,0 +1,2 @@
+# App
+Hello.
\ No newline at end of file
diff --git a/old.txt b/old.txt
deleted file mode 100644
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-gone
diff --git a/a.txt b/b.txt
similarity index 100%
rename from a.txt
rename to b.txt
)";

TEST(UnifiedDiffTest, ParsesGitStyleSections) {
  auto files = ParseUnifiedDiff(kGitDiff);
  ASSERT_THAT(files, IsOk());
  ASSERT_EQ(files->size(), 4u);
  const FilePatch& app = (*files)[0];
  EXPECT_EQ(app.old_path, "src/app.py");
  EXPECT_EQ(app.new_path, "src/app.py");
  EXPECT_EQ(app.new_mode, "100644");
  ASSERT_EQ(app.hunks.size(), 2u);
  EXPECT_EQ(app.hunks[0].old_count, 3);
  EXPECT_EQ(app.hunks[0].new_count, 4);
  EXPECT_EQ(app.hunks[0].line, 5);
  EXPECT_EQ(app.hunks[1].new_start, 11);
  EXPECT_EQ((*files)[1].old_path, "");
  EXPECT_EQ((*files)[1].hunks[0].lines.back(), "\\ No newline at end of file");
  EXPECT_EQ((*files)[2].path(), "old.txt");
  EXPECT_EQ((*files)[3].old_path, "a.txt");
  EXPECT_EQ((*files)[3].new_path, "b.txt");
  EXPECT_THAT(FilesTouched(*files),
              ElementsAre("src/app.py", "README.md", "old.txt", "a.txt", "b.txt"));
  EXPECT_THAT(ValidateGeneratedPatch(*files), IsOk());
}

TEST(UnifiedDiffTest, ParsesPlainDiffsWithTimestamps) {
  auto files = ParseUnifiedDiff(
      "--- lib/x.c\t2024-01-01 10:00:00\n+++ lib/x.c\t2024-01-02 10:00:00\n@@ -2 +2 @@\n-a\n+b\n");
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ((*files)[0].path(), "lib/x.c");
  EXPECT_EQ((*files)[0].hunks[0].old_count, 1);
}

TEST(UnifiedDiffTest, ModesOfSymlinksSubmodulesAndBinaries) {
  auto files = ParseUnifiedDiff(
      "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n"
      "+target\n"
      "diff --git a/vendor/lib b/vendor/lib\nnew file mode 160000\nindex 0000000..abc\n"
      "--- /dev/null\n+++ b/vendor/lib\n@@ -0,0 +1 @@\n+Subproject commit abc\n"
      "diff --git a/logo.png b/logo.png\nnew file mode 100644\nindex 0000000..1234567\n"
      "GIT binary patch\nliteral 4\nLcmZQz00IC2\n\n");
  ASSERT_THAT(files, IsOk());
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].new_mode, "120000");
  EXPECT_EQ((*files)[1].new_mode, "160000");
  EXPECT_TRUE((*files)[2].binary);
  EXPECT_THAT(ValidateGeneratedPatch(*files),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("logo.png")));
}

TEST(UnifiedDiffTest, HunkCountsMustMatchTheBody) {
  EXPECT_THAT(ParseUnifiedDiff("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("diff line 3"), HasSubstr("hunk 1 of file \"x\""),
                             HasSubstr("3 old and 3 new"), HasSubstr("2 old and 2 new"))));
  EXPECT_THAT(ParseUnifiedDiff("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("diff line 6"), HasSubstr("after hunk 1"))));
}

TEST(UnifiedDiffTest, RejectsWhatIsNotADiff) {
  EXPECT_THAT(ParseUnifiedDiff(""), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("no file")));
  EXPECT_THAT(ParseUnifiedDiff("Here is the change:\n--- a/x\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("diff line 1")));
  EXPECT_THAT(ParseUnifiedDiff("@@ -1 +1 @@\n-a\n+b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("before any")));
  EXPECT_THAT(ParseUnifiedDiff("--- a/x\n@@ -1 +1 @@\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("+++")));
  EXPECT_THAT(ParseUnifiedDiff("--- a/x\n+++ b/x\n@@ -1 +1 @\n-a\n+b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed header")));
  EXPECT_THAT(ParseUnifiedDiff("--- a/x\n+++ b/x\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no hunks")));
  EXPECT_THAT(ParseUnifiedDiff("--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute path")));
  EXPECT_THAT(ParseUnifiedDiff("--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("contains ..")));
}

TEST(UnifiedDiffTest, PlaceholdersAreRejected) {
  for (const char* placeholder :
       {"...", "    // ... existing code ...", "# ... rest of the file unchanged",
        "/* ... */", "  \u2026", "// rest of the code unchanged", "<!-- ... -->"}) {
    auto files = ParseUnifiedDiff(std::string("--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n a\n+") +
                                  placeholder + "\n");
    ASSERT_THAT(files, IsOk()) << placeholder;
    EXPECT_THAT(ValidateGeneratedPatch(*files),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("diff line 5"), HasSubstr("placeholder"))))
        << placeholder;
  }
  for (const char* fine : {"print('loading...')", "x = a[...]", "// wait...then retry",
                           "# TODO: unchanged behaviour is intended"}) {
    auto files = ParseUnifiedDiff(std::string("--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n a\n+") + fine +
                                  "\n");
    ASSERT_THAT(files, IsOk());
    EXPECT_THAT(ValidateGeneratedPatch(*files), IsOk()) << fine;
  }
}

TEST(UnifiedDiffTest, ConflictMarkersAreRejected) {
  auto files = ParseUnifiedDiff(
      "--- a/x\n+++ b/x\n@@ -1 +1,5 @@\n a\n+<<<<<<< HEAD\n+b\n+=======\n+c\n");
  ASSERT_THAT(files, IsOk());
  EXPECT_THAT(ValidateGeneratedPatch(*files),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("conflict marker"), HasSubstr("diff line 5"))));
}

TEST(UnifiedDiffTest, SplitsSummaryAndFencedDiff) {
  const ModelAnswer answer = SplitModelAnswer(
      "Summary: Adds a greeting.\n\n```diff\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n```\n"
      "Let me know if you need more.\n");
  EXPECT_EQ(answer.summary, "Adds a greeting.");
  EXPECT_EQ(answer.diff, "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
}

TEST(UnifiedDiffTest, SplitsAnUnfencedDiffAndFallsBackToTheFirstLineOfProse) {
  const ModelAnswer answer =
      SplitModelAnswer("I renamed the variable.\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n"
                       "@@ -1 +1 @@\n-a\n+b\n\n\n");
  EXPECT_EQ(answer.summary, "I renamed the variable.");
  EXPECT_EQ(answer.diff, "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
  EXPECT_EQ(SplitModelAnswer("I could not find the file.").diff, "");
}

}  // namespace
}  // namespace autopack::builder
