#include "services/gitadapter/hunk_applier.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace autopack::gitadapter {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

patch::Hunk MakeHunk(int number, int old_start, std::vector<patch::DiffLine> lines) {
  patch::Hunk hunk;
  hunk.number = number;
  hunk.old_start = old_start;
  hunk.lines = std::move(lines);
  hunk.counted = hunk.lines.size();
  return hunk;
}

std::string Numbered(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += "line " + std::to_string(i) + "\n";
  return out;
}

TEST(HunkApplierTest, AppliesAtTheStatedLine) {
  const HunkApplyResult r =
      ApplyHunks(Numbered(1, 10), {MakeHunk(1, 4, {{' ', "line 4\n"}, {'-', "line 5\n"}, {'+', "five\n"}})});
  EXPECT_THAT(r.rejections, IsEmpty());
  EXPECT_THAT(r.relocated, IsEmpty());
  EXPECT_EQ(r.content, Numbered(1, 4) + "five\n" + Numbered(6, 10));
}

TEST(HunkApplierTest, ReanchorsDriftedHunksAndReportsOffsets) {
  // Both hunks state lines 20 too high; the second inherits the first's drift.
  const HunkApplyResult r = ApplyHunks(
      Numbered(1, 100), {MakeHunk(1, 30, {{' ', "line 10\n"}, {'-', "line 11\n"}}),
                         MakeHunk(2, 70, {{' ', "line 50\n"}, {'+', "new\n"}, {' ', "line 51\n"}})});
  ASSERT_THAT(r.rejections, IsEmpty());
  ASSERT_EQ(r.relocated.size(), 2u);
  EXPECT_EQ(r.relocated[0].hunk, 1);
  EXPECT_EQ(r.relocated[0].offset, -20);
  EXPECT_EQ(r.relocated[1].offset, -20);
  EXPECT_EQ(r.content, Numbered(1, 10) + Numbered(12, 50) + "new\n" + Numbered(51, 100));
}

TEST(HunkApplierTest, PrefersTheNearestExactMatch) {
  const std::string content = "x\nA\nB\nx\nx\nx\nx\nA\nB\nx\n";
  const HunkApplyResult r = ApplyHunks(content, {MakeHunk(1, 7, {{' ', "A\n"}, {'-', "B\n"}})});
  ASSERT_THAT(r.rejections, IsEmpty());
  EXPECT_EQ(r.content, "x\nA\nB\nx\nx\nx\nx\nA\nx\n");
  EXPECT_EQ(r.relocated[0].offset, 1);
}

TEST(HunkApplierTest, RejectsContextThatMatchesNowhereAndNamesTheLine) {
  const HunkApplyResult r = ApplyHunks(
      Numbered(1, 10), {MakeHunk(1, 2, {{' ', "line 2\n"}, {'-', "line 3\n"}}),
                        MakeHunk(2, 5, {{' ', "line five\n"}, {'-', "line 6\n"}, {'+', "six\n"}})});
  ASSERT_EQ(r.rejections.size(), 1u);
  EXPECT_EQ(r.rejections[0].hunk, 2);
  EXPECT_THAT(r.rejections[0].reason, HasSubstr("match nowhere"));
  EXPECT_THAT(r.rejections[0].reason, HasSubstr("line 5 of the file is \"line 5\" but the hunk expects \"line five\""));
}

TEST(HunkApplierTest, NeverAppliesAHunkBeforeThePreviousOne) {
  const HunkApplyResult r = ApplyHunks(
      Numbered(1, 10), {MakeHunk(1, 8, {{' ', "line 8\n"}, {'-', "line 9\n"}}),
                        MakeHunk(2, 2, {{' ', "line 2\n"}, {'-', "line 3\n"}})});
  ASSERT_EQ(r.rejections.size(), 1u);
  EXPECT_THAT(r.rejections[0].reason, HasSubstr("hunks must be in file order"));
}

TEST(HunkApplierTest, HandlesMissingFinalNewlines) {
  const HunkApplyResult r = ApplyHunks("a\nb", {MakeHunk(1, 1, {{' ', "a\n"}, {'-', "b"}, {'+', "b\n"}, {'+', "c"}})});
  ASSERT_THAT(r.rejections, IsEmpty());
  EXPECT_EQ(r.content, "a\nb\nc");
  // "b" without newline only matches at the end of the file.
  EXPECT_THAT(ApplyHunks("b\na\n", {MakeHunk(1, 1, {{'-', "b"}})}).rejections, testing::SizeIs(1));
}

TEST(HunkApplierTest, InsertsIntoEmptyFiles) {
  const HunkApplyResult r = ApplyHunks("", {MakeHunk(1, 0, {{'+', "one\n"}, {'+', "two\n"}})});
  ASSERT_THAT(r.rejections, IsEmpty());
  EXPECT_EQ(r.content, "one\ntwo\n");
}

TEST(HunkApplierTest, CrlfLinesMatchOnlyCrlf) {
  EXPECT_THAT(ApplyHunks("a\r\nb\r\n", {MakeHunk(1, 1, {{'-', "a\r\n"}})}).rejections, IsEmpty());
  EXPECT_THAT(ApplyHunks("a\r\nb\r\n", {MakeHunk(1, 1, {{'-', "a\n"}})}).rejections, testing::SizeIs(1));
}

TEST(HunkApplierTest, TheCountedReadingWinsAndTheLongerOneIsTheFallback) {
  // Past its counts the hunk has a `+` line a mail's prose could be: it is
  // applied only when the counted reading does not fit.
  patch::Hunk hunk = MakeHunk(1, 2, {{' ', "line 2\n"}, {'-', "line 3\n"}, {'+', "three\n"},
                                     {'+', "Thanks, this fixes it\n"}});
  hunk.counted = 3;
  HunkApplyResult r = ApplyHunks(Numbered(1, 4), {hunk});
  ASSERT_THAT(r.rejections, IsEmpty());
  EXPECT_EQ(r.content, "line 1\nline 2\nthree\nline 4\n");

  // Undercounted: the counted reading stops before the lines that fit.
  patch::Hunk short_hunk = MakeHunk(1, 2, {{' ', "line 2\n"}, {' ', "gone\n"}, {'-', "line 3\n"}});
  short_hunk.lines = {{' ', "line 2\n"}, {'-', "line 3\n"}, {' ', "line 4\n"}, {'+', "new\n"}};
  short_hunk.counted = 1;
  r = ApplyHunks(Numbered(1, 4), {short_hunk});
  ASSERT_THAT(r.rejections, IsEmpty());
  EXPECT_EQ(r.content, "line 1\nline 2\nline 3\nline 4\n");
}

}  // namespace
}  // namespace autopack::gitadapter
