#include "services/common/config.h"

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kGood[] = R"(models:
  openai/gpt-4o:
    input_per_1m: 2.5
    output_per_1m: 10
    tags: [fast, cheap]
limits:
  max_attempts: 3
  enabled: true
)";

TEST(ConfigTest, ReadsTypedValuesWithKeyPaths) {
  auto root = ConfigNode::Parse(kGood, "pricing.yaml");
  ASSERT_THAT(root, IsOk());
  auto models = root->Get("models");
  ASSERT_THAT(models, IsOk());
  auto entries = models->Entries();
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].first, "openai/gpt-4o");
  const ConfigNode& model = (*entries)[0].second;
  EXPECT_EQ(model.key_path(), "models.openai/gpt-4o");
  EXPECT_EQ(model.line(), 3);
  EXPECT_THAT(model.GetDouble("input_per_1m"), IsOkAndHolds(2.5));
  EXPECT_THAT(model.GetDouble("output_per_1m"), IsOkAndHolds(10.0));
  EXPECT_THAT(model.GetStringList("tags"), IsOkAndHolds(ElementsAre("fast", "cheap")));
  auto limits = root->Get("limits");
  ASSERT_THAT(limits, IsOk());
  EXPECT_THAT(limits->GetInt("max_attempts"), IsOkAndHolds(3));
  EXPECT_THAT(limits->GetBool("enabled", false), IsOkAndHolds(true));
  EXPECT_THAT(limits->GetInt("absent", 7), IsOkAndHolds(7));
}

TEST(ConfigTest, MalformedYamlNamesFileLineAndKey) {
  constexpr char kBroken[] = R"(complexity_models:
  low:
    builder: openai/gpt-4o-mini
  medium:
    builder: [openai/gpt-4o
    auditor: openai/gpt-4o
)";
  auto root = ConfigNode::Parse(kBroken, "config/models.yaml");
  EXPECT_THAT(root, StatusIs(absl::StatusCode::kInvalidArgument,
                             AllOf(HasSubstr("config/models.yaml:"),
                                   HasSubstr("malformed YAML"),
                                   HasSubstr("complexity_models.medium"))));
}

TEST(ConfigTest, MalformedFileOnDiskNamesThePath) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/bad.yaml";
  std::ofstream(path) << "a:\n  b: 1\n c: [\n";
  auto root = ConfigNode::LoadFile(path);
  EXPECT_THAT(root, StatusIs(absl::StatusCode::kInvalidArgument,
                             AllOf(HasSubstr(path + ":"), HasSubstr("malformed YAML"))));
}

TEST(ConfigTest, WrongTypeNamesFileLineAndKey) {
  auto root = ConfigNode::Parse("limits:\n  max_attempts: lots\n", "strategy.yaml");
  ASSERT_THAT(root, IsOk());
  auto limits = root->Get("limits");
  ASSERT_THAT(limits, IsOk());
  EXPECT_THAT(limits->GetInt("max_attempts"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("strategy.yaml:2:"),
                             HasSubstr("key 'limits.max_attempts'"),
                             HasSubstr("expected an integer, got \"lots\""))));
}

TEST(ConfigTest, MissingKeyNamesTheParentLine) {
  auto root = ConfigNode::Parse("a: 1\nlimits:\n  other: 2\n", "s.yaml");
  ASSERT_THAT(root, IsOk());
  auto limits = root->Get("limits");
  ASSERT_THAT(limits, IsOk());
  EXPECT_THAT(limits->GetInt("max_attempts"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("s.yaml:3:"), HasSubstr("'limits.max_attempts'"),
                             HasSubstr("required key is missing"))));
}

TEST(ConfigTest, UnknownKeysAreReported) {
  auto root = ConfigNode::Parse("limits:\n  max_atempts: 2\n", "s.yaml");
  ASSERT_THAT(root, IsOk());
  auto limits = root->Get("limits");
  ASSERT_THAT(limits, IsOk());
  EXPECT_THAT(limits->CheckKeys({"max_attempts"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("s.yaml:2:"), HasSubstr("'limits.max_atempts'"),
                             HasSubstr("unknown key"))));
}

TEST(ConfigTest, ListItemsCarryTheirIndex) {
  auto root = ConfigNode::Parse("ladder:\n  - a\n  - {x: 1}\n", "m.yaml");
  ASSERT_THAT(root, IsOk());
  auto ladder = root->Get("ladder");
  ASSERT_THAT(ladder, IsOk());
  auto items = ladder->Items();
  ASSERT_THAT(items, IsOk());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_THAT((*items)[1].AsString(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("m.yaml:3:"), HasSubstr("'ladder[1]'"))));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_THAT(ConfigNode::LoadFile("/nonexistent/models.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/models.yaml")));
}

}  // namespace
}  // namespace autopack
