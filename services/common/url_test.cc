#include "services/common/url.h"

#include "gtest/gtest.h"

namespace autopack {
namespace {

TEST(UrlHasCredentialsTest, FindsPasswordsAndTokens) {
  EXPECT_TRUE(UrlHasCredentials("https://x-access-token:sk-test-1@github.com/o/r.git"));
  EXPECT_TRUE(UrlHasCredentials("https://ghp_abc@github.com/o/r.git"));
  EXPECT_TRUE(UrlHasCredentials("ssh://git:pw@host/r.git"));
  EXPECT_FALSE(UrlHasCredentials("ssh://git@host/r.git"));
  EXPECT_FALSE(UrlHasCredentials("git@github.com:o/r.git"));
  EXPECT_FALSE(UrlHasCredentials("https://github.com/o/r.git"));
  EXPECT_FALSE(UrlHasCredentials("file:///srv/repo"));
  EXPECT_FALSE(UrlHasCredentials("/srv/repo@2"));
  EXPECT_FALSE(UrlHasCredentials("https://host/path/with@sign"));
}

TEST(RedactUrlTest, RemovesSecretsKeepsTheRest) {
  EXPECT_EQ(RedactUrl("https://x-access-token:sk-test-1@github.com/o/r.git"),
            "https://x-access-token:***@github.com/o/r.git");
  EXPECT_EQ(RedactUrl("https://ghp_abc@github.com/o/r.git"), "https://***@github.com/o/r.git");
  EXPECT_EQ(RedactUrl("ssh://git@host/r.git"), "ssh://git@host/r.git");
  EXPECT_EQ(RedactUrl("postgresql://autopack:hunter2@db:5432/autopack?sslmode=require&password=x"),
            "postgresql://autopack:***@db:5432/autopack?sslmode=require&password=***");
  EXPECT_EQ(RedactUrl("host=db user=autopack password=hunter2 dbname=a"),
            "host=db user=autopack password=*** dbname=a");
  EXPECT_EQ(RedactUrl("sqlite:///var/lib/autopack/runs.db"), "sqlite:///var/lib/autopack/runs.db");
  EXPECT_EQ(RedactUrl("https://h/x?token=abc#frag"), "https://h/x?token=***#frag");
  EXPECT_EQ(RedactUrl("/srv/repo"), "/srv/repo");
}

}  // namespace
}  // namespace autopack
