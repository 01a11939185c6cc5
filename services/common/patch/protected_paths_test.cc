#include "services/common/patch/protected_paths.h"

#include "gtest/gtest.h"

namespace autopack::patch {
namespace {

TEST(ProtectedPathsTest, GlobWithoutSlashMatchesAtAnyDepth) {
  EXPECT_TRUE(MatchesProtectedGlob(".github/workflows/**", ".github/workflows/ci.yml"));
  EXPECT_TRUE(MatchesProtectedGlob(".github/workflows/**", ".github/workflows/sub/x.yml"));
  EXPECT_FALSE(MatchesProtectedGlob(".github/workflows/**", ".github/CODEOWNERS"));
  EXPECT_TRUE(MatchesProtectedGlob("conftest.py", "conftest.py"));
  EXPECT_TRUE(MatchesProtectedGlob("conftest.py", "tests/unit/conftest.py"));
  EXPECT_FALSE(MatchesProtectedGlob("conftest.py", "tests/conftest.py.bak"));
  EXPECT_TRUE(MatchesProtectedGlob("src/*.lock", "src/a.lock"));
  EXPECT_FALSE(MatchesProtectedGlob("src/*.lock", "src/x/a.lock"));
  EXPECT_TRUE(MatchesProtectedGlob("**/migrations/*.sql", "db/migrations/001.sql"));
  EXPECT_TRUE(MatchesProtectedGlob("**/migrations/*.sql", "migrations/001.sql"));
  EXPECT_TRUE(MatchesProtectedGlob("docs/?.md", "docs/a.md"));
  EXPECT_FALSE(MatchesProtectedGlob("docs/?.md", "docs/ab.md"));
}

TEST(ProtectedPathsTest, ProtectingGlobNamesTheFirstMatch) {
  EXPECT_EQ(ProtectingGlob({"*.lock", "conftest.py"}, "tests/conftest.py"), "conftest.py");
  EXPECT_EQ(ProtectingGlob({"*.lock"}, "src/app.py"), std::nullopt);
}

}  // namespace
}  // namespace autopack::patch
