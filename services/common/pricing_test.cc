#include "services/common/pricing.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(PricingTest, ParsesUsdExactly) {
  EXPECT_THAT(PriceTable::ParseUsdToMicro("2.50"), IsOkAndHolds(2500000));
  EXPECT_THAT(PriceTable::ParseUsdToMicro("0.075"), IsOkAndHolds(75000));
  EXPECT_THAT(PriceTable::ParseUsdToMicro("10"), IsOkAndHolds(10000000));
  EXPECT_THAT(PriceTable::ParseUsdToMicro("0.000001"), IsOkAndHolds(1));
  EXPECT_THAT(PriceTable::ParseUsdToMicro("0.0000001"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("6 decimals")));
  EXPECT_THAT(PriceTable::ParseUsdToMicro("-1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
  EXPECT_THAT(PriceTable::ParseUsdToMicro("cheap"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a number")));
}

TEST(PricingTest, CostIsExactAndRoundsUp) {
  auto root = ConfigNode::Parse(
      "models:\n  openai/gpt-4o:\n    input_per_1m: 2.50\n    cached_input_per_1m: 1.25\n"
      "    output_per_1m: 10\n    context_window: 128000\n    max_output_tokens: 16384\n",
      "pricing.yaml");
  ASSERT_THAT(root, IsOk());
  auto table = PriceTable::FromConfig(*root);
  ASSERT_THAT(table, IsOk());
  v1::TokenUsage usage;
  usage.set_input_tokens(1000000);
  usage.set_cached_input_tokens(1000000);
  usage.set_output_tokens(500000);
  usage.set_reasoning_tokens(500000);
  // 2.50 + 1.25 + 10.00 USD.
  EXPECT_THAT(table->Cost("openai/gpt-4o", usage), IsOkAndHolds(13750000));
  v1::TokenUsage one;
  one.set_input_tokens(1);  // 2.5 micro-USD, charged as 3
  EXPECT_THAT(table->Cost("openai/gpt-4o", one), IsOkAndHolds(3));
  EXPECT_THAT(table->WorstCaseCost("openai/gpt-4o", 1000, 1000), IsOkAndHolds(12500));
}

TEST(PricingTest, UnknownModelIsAnErrorNeverZero) {
  auto table = PriceTable::LoadFile("config/pricing.yaml");
  ASSERT_THAT(table, IsOk());
  EXPECT_THAT(table->Cost("openai/gpt-9", v1::TokenUsage()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("openai/gpt-9"), HasSubstr("no price"))));
}

TEST(PricingTest, ShippedFileLoadsAndCachedDefaultsToInput) {
  auto table = PriceTable::LoadFile("config/pricing.yaml");
  ASSERT_THAT(table, IsOk());
  auto turbo = table->Price("openai/gpt-4-turbo");
  ASSERT_THAT(turbo, IsOk());
  EXPECT_EQ(turbo->cached_input_micro_usd_per_1m, turbo->input_micro_usd_per_1m);
}

TEST(PricingTest, CacheWritesHaveTheirOwnPriceAndBoundTheWorstCase) {
  auto table = PriceTable::LoadFile("config/pricing.yaml");
  ASSERT_THAT(table, IsOk());
  v1::TokenUsage usage;
  usage.set_cache_write_tokens(1000000);
  // Anthropic bills a 5-minute cache write at 1.25x input: $3.75 on Sonnet 4.6.
  EXPECT_THAT(table->Cost("anthropic/claude-sonnet-4-6", usage), IsOkAndHolds(3750000));
  // A worst case prices every input token as if it were written to the cache.
  EXPECT_THAT(table->WorstCaseCost("anthropic/claude-sonnet-4-6", 1000000, 0),
              IsOkAndHolds(3750000));
  EXPECT_THAT(table->WorstCaseCost("openai/gpt-4o", 1000000, 0), IsOkAndHolds(2500000));
}

TEST(PricingTest, CatalogCarriesLimitsAndHowAModelIsAsked) {
  auto table = PriceTable::LoadFile("config/pricing.yaml");
  ASSERT_THAT(table, IsOk());
  auto turbo = table->Info("openai/gpt-4-turbo");
  ASSERT_THAT(turbo, IsOk());
  EXPECT_EQ(turbo->max_output_tokens, 4096);
  EXPECT_EQ(turbo->context_window, 128000);
  EXPECT_FALSE(turbo->structured_output);
  EXPECT_EQ(EditFormatName(turbo->edit_format), "unified_diff");
  EXPECT_EQ(table->ClampOutput("openai/gpt-4-turbo", 16000), 4096);
  EXPECT_EQ(table->ClampOutput("openai/gpt-4-turbo", 1000), 1000);
  auto mini = table->Info("openai/gpt-5-mini");
  ASSERT_THAT(mini, IsOk());
  EXPECT_TRUE(mini->reasoning);
  EXPECT_EQ(EditFormatName(mini->edit_format), "apply_patch");
  EXPECT_THAT(table->Info("openai/gpt-9"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("openai/gpt-9")));
}

TEST(PricingTest, DatedSnapshotsArePricedByTheirFamily) {
  auto table = PriceTable::LoadFile("config/pricing.yaml");
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->EntryFor("openai/gpt-4o-2024-08-06"), "openai/gpt-4o");
  EXPECT_EQ(table->EntryFor("openai/gpt-4.1-mini-2025-04-14"), "openai/gpt-4.1-mini");
  EXPECT_EQ(table->EntryFor("anthropic/claude-sonnet-4-6-20260217"), "anthropic/claude-sonnet-4-6");
  EXPECT_EQ(table->EntryFor("anthropic/claude-3-5-haiku-20241022"),
            "anthropic/claude-3-5-haiku-20241022");
  EXPECT_EQ(table->EntryFor("openai/gpt-4o-evil"), "");
  EXPECT_EQ(table->EntryFor("openai/gpt-9-2025-01-01"), "");
  v1::TokenUsage usage;
  usage.set_input_tokens(1000000);
  EXPECT_THAT(table->Cost("openai/gpt-4o-2024-08-06", usage), IsOkAndHolds(2500000));
  EXPECT_FALSE(table->Has("openai/gpt-4o-2024-08-06"));  // config files name entries exactly
}

TEST(PricingTest, EveryShippedModelCitesItsSources) {
  auto root = ConfigNode::LoadFile("config/pricing.yaml");
  ASSERT_THAT(root, IsOk());
  auto models = root->Get("models");
  ASSERT_THAT(models, IsOk());
  auto entries = models->Entries();
  ASSERT_THAT(entries, IsOk());
  for (const auto& [name, model] : *entries) {
    SCOPED_TRACE(name);
    auto sources = model.Get("sources");
    ASSERT_THAT(sources, IsOk());
    EXPECT_THAT(sources->GetString("prices"), IsOk());
    EXPECT_THAT(sources->GetString("limits"), IsOk());
    EXPECT_THAT(model.GetString("edit_format"), IsOk());
  }
}

TEST(PricingTest, BadLimitsAndFormatsNameTheKey) {
  for (const auto& [yaml, key] : std::vector<std::pair<std::string, std::string>>{
           {"    context_window: 100\n    max_output_tokens: 200\n", "max_output_tokens 200"},
           {"    context_window: 0\n    max_output_tokens: 200\n", "context_window'"},
           {"    max_output_tokens: 200\n", "context_window': required key"},
           {"    context_window: 1000\n    max_output_tokens: 200\n    edit_format: json\n",
            "edit_format"}}) {
    auto root = ConfigNode::Parse(
        "models:\n  openai/gpt-4o:\n    input_per_1m: 2.5\n    output_per_1m: 10\n" + yaml,
        "pricing.yaml");
    ASSERT_THAT(root, IsOk());
    EXPECT_THAT(PriceTable::FromConfig(*root),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(key)))
        << yaml;
  }
}

TEST(PricingTest, BrokenFileNamesFileLineAndKey) {
  auto root = ConfigNode::Parse(
      "models:\n  openai/gpt-4o:\n    input_per_1m: 2.5\n    output_per_1m: ten\n",
      "pricing.yaml");
  ASSERT_THAT(root, IsOk());
  EXPECT_THAT(PriceTable::FromConfig(*root),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("pricing.yaml:4:"),
                             HasSubstr("'models.openai/gpt-4o.output_per_1m'"))));
  auto missing = ConfigNode::Parse("models:\n  openai/gpt-4o:\n    input_per_1m: 2.5\n",
                                   "pricing.yaml");
  ASSERT_THAT(missing, IsOk());
  EXPECT_THAT(PriceTable::FromConfig(*missing),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'models.openai/gpt-4o.output_per_1m': required key")));
}

}  // namespace
}  // namespace autopack
