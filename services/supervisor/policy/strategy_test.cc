#include "services/supervisor/policy/strategy.h"

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::policy {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

class StrategyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = Strategy::LoadFile("config/strategy.yaml");
    ASSERT_THAT(loaded, IsOk());
    strategy_ = *std::move(loaded);
  }
  Strategy strategy_;
};

TEST_F(StrategyTest, KnownCategoriesCarryTheirPolicy) {
  ResolvedCategory security = strategy_.Resolve("security_auth_change");
  ASSERT_NE(security.strategy, nullptr);
  EXPECT_FALSE(security.defaulted);
  EXPECT_TRUE(security.strategy->high_risk);
  EXPECT_FALSE(security.strategy->auto_apply);
  EXPECT_FALSE(security.strategy->allow_model_step_down);  // default for high-risk
  EXPECT_EQ(security.strategy->check_profile, "strict");
  EXPECT_EQ(security.strategy->auditor_profile, "security_review");
  EXPECT_EQ(security.strategy->max_attempts, 5);
  EXPECT_THAT(security.rationale, HasSubstr("high-risk"));

  ResolvedCategory docs = strategy_.Resolve("docs");
  EXPECT_FALSE(docs.strategy->high_risk);
  EXPECT_TRUE(docs.strategy->allow_model_step_down);
  EXPECT_EQ(docs.strategy->phase_token_cap, 80000);
  EXPECT_EQ(docs.strategy->max_attempts, 2);
}

TEST_F(StrategyTest, UnknownCategoryTakesTheDocumentedDefaultAndSaysSo) {
  ResolvedCategory unknown = strategy_.Resolve("poetry");
  EXPECT_TRUE(unknown.defaulted);
  EXPECT_EQ(unknown.strategy->name, "feature_scaffolding");
  EXPECT_THAT(unknown.rationale,
              HasSubstr("category 'poetry' is not in strategy.yaml; using the default "
                        "'feature_scaffolding'"));
  ResolvedCategory empty = strategy_.Resolve("");
  EXPECT_TRUE(empty.defaulted);
  EXPECT_THAT(empty.rationale, HasSubstr("no category given"));
}

TEST_F(StrategyTest, SafetyProfiles) {
  const CategoryStrategy& docs = *strategy_.Resolve("docs").strategy;
  const CategoryStrategy& security = *strategy_.Resolve("security_auth_change").strategy;
  EXPECT_EQ(&strategy_.Safety(v1::SAFETY_PROFILE_UNSPECIFIED),
            &strategy_.Safety(v1::SAFETY_PROFILE_NORMAL));
  EXPECT_EQ(strategy_.Safety(v1::SAFETY_PROFILE_NORMAL).min_output_tokens, 1024);
  EXPECT_EQ(strategy_.Safety(v1::SAFETY_PROFILE_SAFETY_CRITICAL).min_output_tokens, 4096);
  EXPECT_TRUE(strategy_.Safety(v1::SAFETY_PROFILE_SAFETY_CRITICAL)
                  .high_risk_requires_human_review);
  EXPECT_TRUE(strategy_.AllowsStepDown(docs, v1::SAFETY_PROFILE_NORMAL));
  EXPECT_FALSE(strategy_.AllowsStepDown(docs, v1::SAFETY_PROFILE_SAFETY_CRITICAL));
  EXPECT_FALSE(strategy_.AllowsStepDown(security, v1::SAFETY_PROFILE_NORMAL));
}

TEST_F(StrategyTest, ProtectedPathsPerCheckProfile) {
  EXPECT_THAT(strategy_.ProtectedPaths("strict"), Contains("**/go.sum"));
  EXPECT_THAT(strategy_.ProtectedPaths("normal"), Contains("**/conftest.py"));
  EXPECT_TRUE(strategy_.ProtectedPaths("nope").empty());
}

TEST(StrategyParseTest, CategoryMayOverrideStepDown) {
  auto root = ConfigNode::Parse(R"(
default_category: a
categories:
  a: {high_risk: true, max_attempts: 2, check_profile: normal, auditor_profile: general,
      phase_token_cap: 0, allow_model_step_down: true}
safety_profiles:
  normal: {allow_model_step_down: true, min_output_tokens: 10}
  safety_critical: {min_output_tokens: 20}
protected_paths: {normal: [], strict: []}
)",
                                "strategy.yaml");
  ASSERT_THAT(root, IsOk());
  auto strategy = Strategy::FromConfig(*root);
  ASSERT_THAT(strategy, IsOk());
  EXPECT_TRUE(strategy->Resolve("a").strategy->allow_model_step_down);
  EXPECT_FALSE(strategy->Safety(v1::SAFETY_PROFILE_SAFETY_CRITICAL).allow_model_step_down);
}

TEST(StrategyParseTest, MissingSafetyProfileNamesIt) {
  auto root = ConfigNode::Parse(R"(default_category: a
categories:
  a: {max_attempts: 2, check_profile: normal, auditor_profile: general, phase_token_cap: 0}
safety_profiles:
  normal: {min_output_tokens: 10}
protected_paths: {normal: [], strict: []}
)",
                                "strategy.yaml");
  ASSERT_THAT(root, IsOk());
  EXPECT_THAT(Strategy::FromConfig(*root),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("key 'safety_profiles.safety_critical': required key is missing")));
}

}  // namespace
}  // namespace autopack::policy
