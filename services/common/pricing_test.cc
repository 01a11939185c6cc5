#include "services/common/pricing.h"

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
      "    output_per_1m: 10\n",
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
