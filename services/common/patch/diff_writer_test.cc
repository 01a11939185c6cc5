#include "services/common/patch/diff_writer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/patch/patch.h"
#include "services/common/status_matchers.h"

namespace autopack::patch {
namespace {

// Applies a parsed single-file patch at its stated lines (what an exact patch
// must allow); the test's own minimal applier, exactness is the point.
std::string ApplyExactly(const std::string& old_content, const FilePatch& file) {
  std::vector<std::string> lines;
  for (size_t start = 0; start < old_content.size();) {
    size_t end = old_content.find('\n', start);
    end = end == std::string::npos ? old_content.size() : end + 1;
    lines.push_back(old_content.substr(start, end - start));
    start = end;
  }
  std::vector<std::string> out;
  size_t at = 0;
  for (const Hunk& hunk : file.hunks) {
    EXPECT_EQ(hunk.counted, hunk.lines.size());
    const size_t begin = hunk.old_count == 0 ? hunk.old_start : hunk.old_start - 1;
    while (at < begin) out.push_back(lines[at++]);
    for (const DiffLine& line : hunk.lines) {
      if (line.kind != '+') {
        EXPECT_EQ(lines[at], line.text);
        ++at;
      }
      if (line.kind != '-') out.push_back(line.text);
    }
  }
  while (at < lines.size()) out.push_back(lines[at++]);
  std::string joined;
  for (const std::string& line : out) joined += line;
  return joined;
}

void ExpectRoundTrip(const std::string& before, const std::string& after) {
  const std::string diff = WriteFileDiff({"f.txt", "f.txt", before, after});
  auto parsed = ParsePatch(diff);
  ASSERT_THAT(parsed, IsOk()) << diff;
  ASSERT_EQ(parsed->files.size(), 1u);
  EXPECT_EQ(ApplyExactly(before, parsed->files[0]), after) << diff;
}

std::string Numbered(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += "line " + std::to_string(i) + "\n";
  return out;
}

TEST(DiffWriterTest, WritesGitStyleHunksWithThreeLinesOfContext) {
  EXPECT_EQ(WriteFileDiff({"a.txt", "a.txt", Numbered(1, 10), Numbered(1, 4) + "four\n" + Numbered(6, 10)}),
            "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n"
            "@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n-line 5\n+four\n line 6\n line 7\n line 8\n");
  EXPECT_EQ(WriteFileDiff({"a.txt", "a.txt", "same\n", "same\n"}), "");
}

TEST(DiffWriterTest, RoundTripsThroughTheParser) {
  ExpectRoundTrip(Numbered(1, 50), Numbered(1, 3) + "x\n" + Numbered(4, 30) + Numbered(32, 50) + "end\n");
  ExpectRoundTrip("", "new\n");
  ExpectRoundTrip("a\nb", "a\nb\n");     // the last line gains its newline
  ExpectRoundTrip("a\nb\n", "a\nc");     // and loses it
  ExpectRoundTrip("caf\xe9\r\nx\r\n", "caf\xe8\r\nx\r\n");  // Latin-1, CRLF: bytes as they are
  ExpectRoundTrip(Numbered(1, 3000), Numbered(1000, 3000) + Numbered(1, 999));
}

TEST(DiffWriterTest, AddsDeletesAndQuotesLikeGit) {
  EXPECT_EQ(WriteFileDiff({"", "n.txt", std::nullopt, "x\n"}),
            "diff --git a/n.txt b/n.txt\nnew file mode 100644\n--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+x\n");
  EXPECT_EQ(WriteFileDiff({"d.txt", "", "x\ny\n", std::nullopt}),
            "diff --git a/d.txt b/d.txt\ndeleted file mode 100644\n--- a/d.txt\n+++ /dev/null\n"
            "@@ -1,2 +0,0 @@\n-x\n-y\n");
  EXPECT_EQ(QuotePath("caf\xe9 \"q\"\t.txt"), "\"caf\\351 \\\"q\\\"\\t.txt\"");
  auto parsed = ParsePatch(WriteFileDiff({"caf\xe9.txt", "caf\xe9.txt", "a\n", "b\n"}));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->files[0].new_path, "caf\xe9.txt");
}

}  // namespace
}  // namespace autopack::patch
