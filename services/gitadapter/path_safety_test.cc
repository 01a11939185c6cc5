#include "services/gitadapter/path_safety.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::gitadapter {
namespace {

using ::testing::HasSubstr;

TEST(PathSafetyTest, AcceptsPlainRelativePaths) {
  EXPECT_THAT(CheckRepoPath("src/main.cc"), IsOk());
  EXPECT_THAT(CheckRepoPath(".github/workflows/ci.yml"), IsOk());
  EXPECT_THAT(CheckRepoPath("a/.gitignore"), IsOk());
  EXPECT_THAT(CheckRepoPath("docs/my file.md"), IsOk());
}

TEST(PathSafetyTest, RejectsEscapesAndGitInternals) {
  const struct {
    const char* path;
    const char* reason;
  } cases[] = {
      {"", "empty path"},
      {"/etc/passwd", "absolute"},
      {"../../etc/passwd", "`..`"},
      {"src/../../x", "`..`"},
      {"./x", "`.`"},
      {"a//b", "empty path component"},
      {"a/", "empty path component"},
      {".git/config", ".git"},
      {"sub/.GIT/hooks/pre-commit", ".git"},
      {".git./config", ".git"},
      {"GIT~1/config", ".git"},
      {"a\\..\\b", "backslash"},
      {"a\nb", "control"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(CheckRepoPath(c.path), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.reason)))
        << c.path;
  }
}

TEST(PathSafetyTest, SecretLookingFiles) {
  for (const char* path : {".env", "app/.env.production", "deploy/tls.key", "certs/server.pem",
                           "home/.ssh/id_rsa", "id_ed25519.pub", ".aws/credentials", "config/credentials.yml",
                           "gcp-credentials.json", "secrets.yaml", ".netrc", ".npmrc", "prod.tfvars"}) {
    EXPECT_TRUE(LooksLikeSecret(path)) << path;
  }
  for (const char* path : {"src/main.py", ".env.example", "README.md", "src/token/lexer.py", "keys.py",
                           "docs/secrets-management.md"}) {
    EXPECT_FALSE(LooksLikeSecret(path)) << path;
  }
}

}  // namespace
}  // namespace autopack::gitadapter
