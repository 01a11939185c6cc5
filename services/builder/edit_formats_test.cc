#include "services/builder/edit_formats.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::builder {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kApp[] =
    "import os\n"
    "\n"
    "def main():\n"
    "    print('hello')\n"
    "    return 0\n"
    "\n"
    "def other():\n"
    "    return 0\n";

const ContextFiles kFiles = {{"src/app.py", kApp}};


std::string Resolve(v1::EditFormat format, const std::string& answer, const ContextFiles& files = kFiles) {
  absl::StatusOr<ResolvedEdit> resolved = ResolveAnswer(format, answer, files);
  return resolved.ok() ? resolved->patch : std::string("ERROR ") + std::string(resolved.status().message());
}

// The exact diff every format must come to for "print('hello')" -> "print('hi')".
const std::string kExact =
    "diff --git a/src/app.py b/src/app.py\n--- a/src/app.py\n+++ b/src/app.py\n"
    "@@ -1,7 +1,7 @@\n import os\n \n def main():\n-    print('hello')\n+    print('hi')\n"
    "     return 0\n \n def other():\n";

TEST(EditFormatsTest, EveryFormatComesToTheSameExactDiff) {
  EXPECT_EQ(Resolve(v1::SEARCH_REPLACE,
                    "Summary: greet briefly\nsrc/app.py\n```python\n<<<<<<< SEARCH\n    print('hello')\n=======\n"
                    "    print('hi')\n>>>>>>> REPLACE\n```\n"),
            kExact);
  EXPECT_EQ(Resolve(v1::EDIT_FORMAT_UNSPECIFIED,
                    "src/app.py\n<<<<<<< SEARCH\n    print('hello')\n=======\n    print('hi')\n>>>>>>> REPLACE\n"),
            kExact);
  EXPECT_EQ(Resolve(v1::APPLY_PATCH,
                    "*** Begin Patch\n*** Update File: src/app.py\n@@ def main():\n-    print('hello')\n"
                    "+    print('hi')\n     return 0\n*** End Patch\n"),
            kExact);
  EXPECT_EQ(Resolve(v1::WHOLE_FILE, "src/app.py\n```python\nimport os\n\ndef main():\n    print('hi')\n    return 0\n\n"
                                    "def other():\n    return 0\n```\n"),
            kExact);
  // A unified diff with wrong counts and a line number 30 lines off.
  EXPECT_EQ(Resolve(v1::UNIFIED_DIFF,
                    "```diff\n--- a/src/app.py\n+++ b/src/app.py\n@@ -33,9 +33,2 @@\n def main():\n-    print('hello')\n"
                    "+    print('hi')\n     return 0\n```\n"),
            kExact);
}

TEST(EditFormatsTest, WhitespaceOnlyDifferencesInQuotedLinesKeepTheFilesBytes) {
  EXPECT_EQ(Resolve(v1::SEARCH_REPLACE,
                    "src/app.py\n<<<<<<< SEARCH\ndef main():  \n  print('hello')\n=======\ndef main():  \n"
                    "    print('hi')\n>>>>>>> REPLACE\n"),
            kExact);
}

TEST(EditFormatsTest, AnAmbiguousEditNamesEveryPlaceItCouldMean) {
  EXPECT_THAT(Resolve(v1::SEARCH_REPLACE,
                      "src/app.py\n<<<<<<< SEARCH\n    return 0\n=======\n    return 1\n>>>>>>> REPLACE\n"),
              AllOf(HasSubstr("ERROR src/app.py: block 1 is ambiguous"), HasSubstr("lines 5, 8")));
  // A stated line that matches exactly picks one place: no ambiguity.
  EXPECT_THAT(Resolve(v1::UNIFIED_DIFF, "--- a/src/app.py\n+++ b/src/app.py\n@@ -8 +8 @@\n-    return 0\n+    return 1\n"),
              HasSubstr("@@ -5,4 +5,4 @@"));
  // Drifted, it could be either.
  EXPECT_THAT(Resolve(v1::UNIFIED_DIFF, "--- a/src/app.py\n+++ b/src/app.py\n@@ -6 +6 @@\n-    return 0\n+    return 1\n"),
              HasSubstr("ERROR src/app.py: hunk 1 is ambiguous: its lines match at lines 5, 8"));
}

TEST(EditFormatsTest, RejectionsNameTheFile) {
  EXPECT_THAT(Resolve(v1::SEARCH_REPLACE, "src/app.py\n<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n"),
              HasSubstr("ERROR src/app.py: block 1: its context and removed lines (from \"not there\") match nowhere"));
  EXPECT_THAT(Resolve(v1::SEARCH_REPLACE, "src/other.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n"),
              HasSubstr("ERROR src/other.py: the file is not among the files you were shown"));
  EXPECT_THAT(Resolve(v1::SEARCH_REPLACE, "I could not do it."), HasSubstr("ERROR the answer holds no search/replace block"));
  EXPECT_THAT(Resolve(v1::APPLY_PATCH, "*** Begin Patch\n*** Update File: src/app.py\n-import os\n"),
              HasSubstr("no \"*** End Patch\""));
  EXPECT_THAT(Resolve(v1::WHOLE_FILE, "src/app.py\n```\n" + std::string(kApp) + "```\n"), HasSubstr("changes nothing"));
  EXPECT_THAT(Resolve(v1::SEARCH_REPLACE,
                      "src/app.py\n<<<<<<< SEARCH\nimport os\n=======\nimport os\n# ... rest unchanged ...\n>>>>>>> REPLACE\n"),
              HasSubstr("placeholder"));
}

TEST(EditFormatsTest, NewAndDeletedFiles) {
  EXPECT_EQ(Resolve(v1::SEARCH_REPLACE, "src/new.py\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n"),
            "diff --git a/src/new.py b/src/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/src/new.py\n"
            "@@ -0,0 +1 @@\n+x = 1\n");
  EXPECT_THAT(Resolve(v1::APPLY_PATCH, "*** Begin Patch\n*** Delete File: src/app.py\n*** Add File: b.txt\n+b\n*** End Patch\n"),
              AllOf(HasSubstr("deleted file mode 100644\n--- a/src/app.py\n+++ /dev/null\n"),
                    HasSubstr("new file mode 100644\n--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+b\n")));
}

TEST(EditFormatsTest, NonUtf8FilesArePatchedByteExactly) {
  // Latin-1 "café" and "naïve": the model saw them as U+FFFD (JSON needs UTF-8)
  // and quotes them back so; the file keeps its bytes.
  const ContextFiles latin1 = {{"menu.txt", "caf\xe9\nna\xefve\ntea\n"}};
  EXPECT_EQ(Resolve(v1::SEARCH_REPLACE,
                    "menu.txt\n<<<<<<< SEARCH\nna\xef\xbf\xbdve\ntea\n=======\nna\xef\xbf\xbdve\ncoffee\n>>>>>>> REPLACE\n",
                    latin1),
            "diff --git a/menu.txt b/menu.txt\n--- a/menu.txt\n+++ b/menu.txt\n"
            "@@ -1,3 +1,3 @@\n caf\xe9\n na\xefve\n-tea\n+coffee\n");
}

TEST(EditFormatsTest, BlankLinesAloneAnchorNothing) {
  // Three blank lines occur nowhere; trimmed to nothing they must not become
  // an insertion somewhere.
  EXPECT_THAT(Resolve(v1::SEARCH_REPLACE, "src/app.py\n<<<<<<< SEARCH\n\n\n\n=======\nx\n>>>>>>> REPLACE\n"),
              HasSubstr("match nowhere"));
  EXPECT_THAT(Resolve(v1::WHOLE_FILE, "menu.txt\n```\ncaf\xef\xbf\xbd\n```\n", {{"menu.txt", "caf\xe9\ntea\n"}}),
              HasSubstr("ERROR menu.txt: the file is not UTF-8 text"));
}

TEST(EditFormatsTest, UnifiedDiffTriesTheCountedReadingFirst) {
  // Prose after the hunk ("+Thanks") is past the counts: never applied.
  EXPECT_EQ(Resolve(v1::UNIFIED_DIFF,
                    "--- a/src/app.py\n+++ b/src/app.py\n@@ -4 +4 @@\n-    print('hello')\n+    print('hi')\n"
                    "+Thanks, this fixes it.\n"),
            kExact);
}

}  // namespace
}  // namespace autopack::builder
