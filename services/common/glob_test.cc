#include "services/common/glob.h"

#include "gtest/gtest.h"

namespace autopack {
namespace {

TEST(GlobTest, StarStaysInOneComponent) {
  EXPECT_TRUE(GlobMatch("*.py", "a.py"));
  EXPECT_FALSE(GlobMatch("*.py", "src/a.py"));
  EXPECT_TRUE(GlobMatch("src/*.py", "src/a.py"));
  EXPECT_FALSE(GlobMatch("src/*.py", "src/x/a.py"));
  EXPECT_TRUE(GlobMatch("src/?.py", "src/a.py"));
  EXPECT_FALSE(GlobMatch("src/?.py", "src/ab.py"));
}

TEST(GlobTest, DoubleStarCrossesComponents) {
  EXPECT_TRUE(GlobMatch("src/**/*.py", "src/a.py"));
  EXPECT_TRUE(GlobMatch("src/**/*.py", "src/x/y/a.py"));
  EXPECT_TRUE(GlobMatch("**/*.py", "a.py"));
  EXPECT_TRUE(GlobMatch("**", "any/thing"));
  EXPECT_FALSE(GlobMatch("src/**/*.py", "lib/a.py"));
}

TEST(GlobTest, DirectoryPatternsCoverTheirContents) {
  EXPECT_TRUE(GlobMatch("src", "src/x/y.cc"));
  EXPECT_TRUE(GlobMatch("src/", "src/y.cc"));
  EXPECT_TRUE(GlobMatch("src", "src"));
  EXPECT_FALSE(GlobMatch("src", "srcs/y.cc"));
  EXPECT_FALSE(GlobMatch("", "x"));
}

TEST(GlobTest, PathologicalPatternsStayFast) {
  const std::string path(2000, 'a');
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*a*a*b", path));
  EXPECT_FALSE(GlobMatch("**a**a**a**a**a**a**b", path));
}

}  // namespace
}  // namespace autopack
