#include "services/supervisor/policy/policy_config.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::policy {
namespace {

using ::testing::HasSubstr;

constexpr char kTestdata[] = "services/supervisor/policy/testdata/";

absl::StatusOr<ConfigNode> Load(const std::string& path) { return ConfigNode::LoadFile(path); }

TEST(PolicyConfigTest, ShippedConfigLoads) {
  auto config = PolicyConfig::LoadDir("config");
  ASSERT_THAT(config, IsOk());
  EXPECT_TRUE(config->providers.count("openai"));
  EXPECT_TRUE(config->providers.count("anthropic"));
  EXPECT_EQ(config->strategy.default_category(), "feature_scaffolding");
  EXPECT_EQ(config->models.ladder().size(), 3u);
  EXPECT_GT(config->models.builder_call().max_output_tokens, 0);
  for (const char* category : {"security_auth_change", "schema_contract_change",
                               "cross_cutting_refactor", "feature_scaffolding", "docs", "tests",
                               "debt_cleanup"}) {
    EXPECT_TRUE(config->strategy.Has(category)) << category;
  }
}

TEST(PolicyConfigTest, EachShippedFileLoadsOnItsOwn) {
  auto pricing = Load("config/pricing.yaml");
  auto strategy = Load("config/strategy.yaml");
  auto models = Load("config/models.yaml");
  auto providers = Load("config/providers.yaml");
  ASSERT_THAT(pricing, IsOk());
  ASSERT_THAT(strategy, IsOk());
  ASSERT_THAT(models, IsOk());
  ASSERT_THAT(providers, IsOk());
  EXPECT_THAT(PriceTable::FromConfig(*pricing), IsOk());
  EXPECT_THAT(Strategy::FromConfig(*strategy), IsOk());
  // Without providers.yaml, provider names are not checked.
  EXPECT_THAT(PolicyConfig::FromConfig(*pricing, *strategy, *models, absl::nullopt), IsOk());
  EXPECT_THAT(PolicyConfig::FromConfig(*pricing, *strategy, *models, *providers), IsOk());
}

struct BrokenCase {
  // Which file the broken one replaces: "models", "strategy" or "providers".
  std::string slot;
  std::string file;
  int line;
  std::string key;
  std::string why;
  // File the error is about, when not the broken one.
  std::string error_file = "";
};

class BrokenConfigTest : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenConfigTest, FailsNamingFileLineAndKey) {
  const BrokenCase& c = GetParam();
  const std::string broken = absl::StrCat(kTestdata, c.file);
  auto pricing = Load("config/pricing.yaml");
  auto strategy = Load(c.slot == "strategy" ? broken : "config/strategy.yaml");
  auto models = Load(c.slot == "models" ? broken : "config/models.yaml");
  auto providers = Load(c.slot == "providers" ? broken : "config/providers.yaml");
  ASSERT_THAT(pricing, IsOk());
  ASSERT_THAT(strategy, IsOk());
  ASSERT_THAT(models, IsOk());
  ASSERT_THAT(providers, IsOk());
  auto config = PolicyConfig::FromConfig(*pricing, *strategy, *models, *providers);
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr(absl::StrCat(c.error_file.empty() ? broken : c.error_file, ":", c.line, ": key '", c.key,
                                                      "': "))));
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.why)));
}

INSTANTIATE_TEST_SUITE_P(
    Files, BrokenConfigTest,
    ::testing::Values(
        BrokenCase{"models", "models_unpriced_model.yaml", 13, "complexity_models.medium.builder",
                   "model 'openai/gpt-5-imaginary' has no price in pricing.yaml"},
        BrokenCase{"models", "models_category_without_strategy.yaml", 24,
                   "category_overrides.poetry", "category 'poetry' has no strategy"},
        BrokenCase{"models", "models_high_risk_override.yaml", 24,
                   "category_overrides.security_auth_change", "is high-risk"},
        BrokenCase{"models", "models_ladder_not_cheapest_first.yaml", 41, "escalation.ladder[1]",
                   "cheapest first"},
        BrokenCase{"models", "models_negative_output_limit.yaml", 61,
                   "call_limits.auditor.max_output_tokens", "must be positive, got -4000"},
        BrokenCase{"models", "models_auditor_without_structured_output.yaml", 32,
                   "high_risk_models",
                   "model 'openai/gpt-4-turbo' may review patches but has no structured_output"},
        BrokenCase{"models", "models_same_provider_fallback.yaml", 48,
                   "fallbacks.openai/gpt-4o[0]", "same provider"},
        // The error names the model that uses the missing provider.
        BrokenCase{"providers", "providers_without_anthropic.yaml", 49,
                   "fallbacks.openai/gpt-4o-mini[0]",
                   "provider 'anthropic' of model 'anthropic/claude-3-5-haiku-20241022' is not "
                   "in providers.yaml",
                   "config/models.yaml"},
        BrokenCase{"strategy", "strategy_negative_cap.yaml", 54, "categories.docs.phase_token_cap",
                   "must be at least 0, got -80000"},
        BrokenCase{"strategy", "strategy_default_without_strategy.yaml", 15, "default_category",
                   "category 'poetry' has no strategy"},
        BrokenCase{"strategy", "strategy_unknown_check_profile.yaml", 58,
                   "categories.tests.check_profile", "unknown check profile 'lenient'"},
        BrokenCase{"strategy", "strategy_misspelt_key.yaml", 50,
                   "categories.docs.max_attemps", "unknown key"},
        BrokenCase{"strategy", "strategy_zero_output_floor.yaml", 78,
                   "safety_profiles.safety_critical.min_output_tokens",
                   "must be at least 1, got 0"}),
    [](const ::testing::TestParamInfo<BrokenCase>& info) {
      std::string name = info.param.file.substr(0, info.param.file.find('.'));
      return name;
    });

TEST(PolicyConfigTest, MissingFileIsNotFoundAndNamesIt) {
  EXPECT_THAT(PolicyConfig::LoadDir("services/supervisor/policy/no-such-dir"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no-such-dir/pricing.yaml")));
}

}  // namespace
}  // namespace autopack::policy
