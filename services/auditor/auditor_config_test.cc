#include "services/auditor/auditor_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::auditor {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

absl::StatusOr<AuditorConfig> Parse(const std::string& text) {
  auto root = ConfigNode::Parse(text, "auditor.yaml");
  if (!root.ok()) return root.status();
  return AuditorConfig::FromConfig(*root);
}

TEST(AuditorConfigTest, TheShippedFileLoads) {
  auto config = AuditorConfig::LoadFile("config/auditor.yaml");
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(config->protected_paths, Contains(".github/workflows/**"));
  EXPECT_THAT(config->protected_paths, Contains("conftest.py"));
  EXPECT_GE(config->secret_patterns.size(), 5u);
  EXPECT_EQ(config->max_deleted_lines, 400);
  EXPECT_EQ(config->profiles.count("security_review"), 1u);
}

TEST(AuditorConfigTest, ErrorsNameFileLineAndKey) {
  const std::string rest =
      "mass_deletion: {max_deleted_lines: 1, max_deleted_files: 1}\nprofiles: {general: g}\n";
  EXPECT_THAT(Parse("protected_paths: []\nsecret_patterns:\n  bad: '([a-z'\n" + rest),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("auditor.yaml:3"), HasSubstr("secret_patterns.bad"),
                             HasSubstr("regular expression"))));
  EXPECT_THAT(Parse("protected_paths: []\nsecret_patterns: {}\nmass_deletion: "
                    "{max_deleted_lines: 1, max_deleted_files: 1}\nprofiles: {strict: s}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("general")));
  EXPECT_THAT(Parse("protected_paths: []\nsecret_patterns: {}\nmass_deletion: "
                    "{max_deleted_lines: -1, max_deleted_files: 1}\nprofiles: {general: g}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mass_deletion")));
  EXPECT_THAT(Parse("protected_path: []\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("protected_path")));
}

}  // namespace
}  // namespace autopack::auditor
