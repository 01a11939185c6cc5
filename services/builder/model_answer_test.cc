#include "services/builder/model_answer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::builder {
namespace {

using ::testing::HasSubstr;

patch::Patch OneAddedLine(const std::string& line) {
  auto parsed = patch::ParsePatch("--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n a\n+" + line + "\n");
  EXPECT_THAT(parsed, IsOk());
  return *parsed;
}

TEST(ModelAnswerTest, PlaceholdersAreRejected) {
  for (const char* placeholder :
       {"...", "    // ... existing code ...", "# ... rest of the file unchanged",
        "/* ... */", "  \u2026", "// rest of the code unchanged", "<!-- ... -->"}) {
    EXPECT_THAT(ValidateAddedLines(OneAddedLine(placeholder)),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("x line 2"), HasSubstr("placeholder"))))
        << placeholder;
  }
  for (const char* fine : {"print('loading...')", "x = a[...]", "// wait...then retry",
                           "# TODO: unchanged behaviour is intended"}) {
    EXPECT_THAT(ValidateAddedLines(OneAddedLine(fine)), IsOk()) << fine;
  }
}

TEST(ModelAnswerTest, ConflictMarkersAreRejected) {
  EXPECT_THAT(ValidateAddedLines(OneAddedLine("<<<<<<< HEAD")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("conflict marker"), HasSubstr("x line 2"))));
}

TEST(ModelAnswerTest, SplitsSummaryAndFencedDiff) {
  const ModelAnswer answer = SplitModelAnswer(
      "Summary: Adds a greeting.\n\n```diff\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n```\n"
      "Let me know if you need more.\n");
  EXPECT_EQ(answer.summary, "Adds a greeting.");
  EXPECT_EQ(answer.diff, "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
}

TEST(ModelAnswerTest, SplitsAnUnfencedDiffAndFallsBackToTheFirstLineOfProse) {
  const ModelAnswer answer =
      SplitModelAnswer("I renamed the variable.\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n"
                       "@@ -1 +1 @@\n-a\n+b\n\n\n");
  EXPECT_EQ(answer.summary, "I renamed the variable.");
  EXPECT_EQ(answer.diff, "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
  EXPECT_EQ(SplitModelAnswer("I could not find the file.").diff, "");
}

TEST(ModelAnswerTest, ASummaryIsNeverCutInsideACharacter) {
  const std::string long_line = std::string(499, 'a') + "\xc3\xa9 and more";
  const std::string summary = SplitModelAnswer("Summary: " + long_line + "\n--- a/x\n+++ b/x\n").summary;
  EXPECT_EQ(summary, std::string(499, 'a'));
  EXPECT_EQ(AnswerSummary(long_line + "\n```\nx\n```\n"), std::string(499, 'a'));
}

}  // namespace
}  // namespace autopack::builder
