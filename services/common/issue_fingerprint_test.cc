#include "services/common/issue_fingerprint.h"

#include "gtest/gtest.h"

namespace autopack {
namespace {

TEST(IssueFingerprintTest, NormalisesNumbersCaseSpacingAndTrailingPunctuation) {
  EXPECT_EQ(NormaliseIssueMessage("Line 42:  unused import 'os'."), "line #: unused import 'os'");
  EXPECT_EQ(IssueFingerprint("style", "a.py", "Line 42: unused import 'os'."),
            IssueFingerprint("STYLE", "a.py", "line 7:   Unused import 'os'"));
  EXPECT_EQ(IssueFingerprint("bug", "a.py", "Off by one at line 12"),
            IssueFingerprint("bug", "a.py", "  off by ONE at line   40 "));
  EXPECT_NE(IssueFingerprint("style", "a.py", "unused import 'os'"),
            IssueFingerprint("style", "a.py", "unused import 'sys'"));
  EXPECT_NE(IssueFingerprint("style", "a.py", "x"), IssueFingerprint("style", "b.py", "x"));
  EXPECT_NE(IssueFingerprint("style", "a.py", "x"), IssueFingerprint("security", "a.py", "x"));
}

TEST(IssueFingerprintTest, FieldsCannotBleedIntoEachOther) {
  EXPECT_NE(IssueFingerprint("ab", "c", "x"), IssueFingerprint("a", "bc", "x"));
}

TEST(IssueFingerprintTest, StableAcrossProcessesAndVersions) {
  EXPECT_EQ(IssueFingerprint("style", "a.py", "x"), "95e3e307c223b1f9");
}

}  // namespace
}  // namespace autopack
