#include "services/common/files.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack {
namespace {

using ::testing::HasSubstr;

TEST(FilesTest, WriteThenReadBack) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/a.txt";
  ASSERT_THAT(WriteFileAtomically(path, std::string("one\0two", 7)), IsOk());
  EXPECT_THAT(ReadFile(path), IsOkAndHolds(std::string("one\0two", 7)));
  ASSERT_THAT(WriteFileAtomically(path, "replaced"), IsOk());
  EXPECT_THAT(ReadFile(path), IsOkAndHolds(std::string("replaced")));
}

TEST(FilesTest, MissingFileIsNotFoundAndNamed) {
  EXPECT_THAT(ReadFile("/nonexistent/x.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/x.yaml")));
}

TEST(FilesTest, WriteIntoMissingDirectoryFailsCleanly) {
  EXPECT_THAT(WriteFileAtomically("/nonexistent/dir/x", "data"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/dir/x")));
}

}  // namespace
}  // namespace autopack
