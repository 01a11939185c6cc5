#include "services/supervisor/policy/models_config.h"

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ModelsConfigTest, ShippedModelsParse) {
  auto prices = PriceTable::LoadFile("config/pricing.yaml");
  auto strategy = Strategy::LoadFile("config/strategy.yaml");
  auto root = ConfigNode::LoadFile("config/models.yaml");
  ASSERT_THAT(prices, IsOk());
  ASSERT_THAT(strategy, IsOk());
  ASSERT_THAT(root, IsOk());
  const std::set<std::string> providers = {"openai", "anthropic"};
  auto models = ModelsConfig::FromConfig(*root, *prices, *strategy, &providers);
  ASSERT_THAT(models, IsOk());
  EXPECT_EQ(models->ForComplexity(v1::COMPLEXITY_HIGH).builder, "openai/gpt-4-turbo");
  EXPECT_EQ(models->OverrideFor("docs")->builder, "openai/gpt-4o-mini");
  EXPECT_EQ(models->OverrideFor("tests"), nullptr);
  EXPECT_EQ(models->escalate_after_failed_attempts(), 1);
  EXPECT_THAT(models->FallbacksFor("openai/gpt-4o"),
              ElementsAre("anthropic/claude-3-5-sonnet-20241022"));
  EXPECT_THAT(models->FallbacksFor("anthropic/claude-3-5-sonnet-20241022"), IsEmpty());
  // 10 + 30 USD per 1M in + out.
  EXPECT_EQ(models->ReferencePrice("openai/gpt-4-turbo"), 40000000);
  EXPECT_THAT(models->CheaperModels("openai/gpt-4-turbo"),
              ElementsAre("openai/gpt-4o", "openai/gpt-4o-mini"));
  // Off-ladder models get the ladder rungs cheaper than themselves.
  EXPECT_THAT(models->CheaperModels("anthropic/claude-3-5-haiku-20241022"),
              ElementsAre("openai/gpt-4o-mini"));
  EXPECT_THAT(models->CheaperModels("openai/gpt-4o-mini"), IsEmpty());
  EXPECT_EQ(ProviderOf("anthropic/claude-3-5-haiku-20241022"), "anthropic");
}

TEST(ModelsConfigTest, ModelNamesNeedAProvider) {
  auto prices = PriceTable::LoadFile("config/pricing.yaml");
  auto strategy = Strategy::LoadFile("config/strategy.yaml");
  auto root = ConfigNode::Parse(R"(complexity_models:
  low: {builder: gpt-4o, auditor: openai/gpt-4o}
)",
                                "models.yaml");
  ASSERT_THAT(root, IsOk());
  EXPECT_THAT(ModelsConfig::FromConfig(*root, *prices, *strategy, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("models.yaml:2: key 'complexity_models.low.builder': model "
                                 "'gpt-4o' must be provider/name")));
}

}  // namespace
}  // namespace autopack::policy
