#include "services/supervisor/policy/model_selector.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::policy {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMini[] = "openai/gpt-4o-mini";
constexpr char k4o[] = "openai/gpt-4o";
constexpr char kTurbo[] = "openai/gpt-4-turbo";
constexpr char kHaiku[] = "anthropic/claude-3-5-haiku-20241022";
constexpr char kSonnet[] = "anthropic/claude-3-5-sonnet-20241022";

const PolicyConfig& Shipped() {
  static const PolicyConfig& config = [] {
    auto loaded = PolicyConfig::LoadDir("config");
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status();
      std::abort();
    }
    return *new PolicyConfig(*std::move(loaded));
  }();
  return config;
}

// One row per category x complexity; the builder of attempts 1..4 (0..3
// failed attempts) spells out the escalation path of config/models.yaml.
struct Row {
  std::string category;
  v1::Complexity complexity;
  std::vector<std::string> builders;  // attempt 1, 2, 3, 4
  std::string auditor;
};

std::vector<Row> Table() {
  const auto L = v1::COMPLEXITY_LOW, M = v1::COMPLEXITY_MEDIUM, H = v1::COMPLEXITY_HIGH;
  std::vector<Row> rows;
  // Normal categories follow complexity_models; "poetry" is unknown and
  // resolves to the default, feature_scaffolding.
  for (const char* normal : {"feature_scaffolding", "tests", "debt_cleanup", "poetry"}) {
    rows.push_back({normal, L, {kMini, k4o, kTurbo, kTurbo}, kMini});
    rows.push_back({normal, M, {k4o, kTurbo, kTurbo, kTurbo}, k4o});
    rows.push_back({normal, H, {kTurbo, kTurbo, kTurbo, kTurbo}, k4o});
  }
  // The docs override wins over every complexity.
  for (auto c : {L, M, H}) rows.push_back({"docs", c, {kMini, k4o, kTurbo, kTurbo}, kMini});
  // High-risk categories always get the strongest models.
  for (const char* risky :
       {"security_auth_change", "schema_contract_change", "cross_cutting_refactor"}) {
    for (auto c : {L, M, H}) rows.push_back({risky, c, {kTurbo, kTurbo, kTurbo, kTurbo}, k4o});
  }
  return rows;
}

TEST(ModelSelectorTest, EveryComplexityCategoryAndAttempt) {
  ModelSelector selector(Shipped());
  const std::vector<Row> rows = Table();
  ASSERT_EQ(rows.size(), 8u * 3u);
  for (const Row& row : rows) {
    for (int failed = 0; failed < static_cast<int>(row.builders.size()); ++failed) {
      SCOPED_TRACE(absl::StrCat(row.category, " complexity ", row.complexity, " attempt ",
                                failed + 1));
      auto selection = selector.Select({row.category, row.complexity, failed, {}});
      ASSERT_THAT(selection, IsOk());
      EXPECT_EQ(selection->builder_model, row.builders[failed]);
      EXPECT_EQ(selection->auditor_model, row.auditor);
      EXPECT_FALSE(selection->rationale.empty());
      if (row.category == "poetry") {
        EXPECT_TRUE(selection->category.defaulted);
        EXPECT_THAT(selection->rationale,
                    HasSubstr("category 'poetry' is not in strategy.yaml; using the default "
                              "'feature_scaffolding'"));
      }
      if (selection->category.strategy->high_risk) {
        EXPECT_THAT(selection->rationale, HasSubstr("high-risk"));
      }
      if (failed > 0 && row.builders[failed] != row.builders[failed - 1]) {
        EXPECT_THAT(selection->rationale,
                    HasSubstr(absl::StrCat("after ", failed, " failed attempt")));
        EXPECT_THAT(selection->rationale, HasSubstr(absl::StrCat("to ", row.builders[failed])));
      }
    }
  }
}

TEST(ModelSelectorTest, RationaleNamesComplexityAndOverride) {
  ModelSelector selector(Shipped());
  auto docs = selector.Select({"docs", v1::COMPLEXITY_HIGH, 0, {}});
  ASSERT_THAT(docs, IsOk());
  EXPECT_EQ(docs->rationale,
            "category 'docs', complexity high: builder openai/gpt-4-turbo, auditor "
            "openai/gpt-4o; the 'docs' override makes it builder openai/gpt-4o-mini, auditor "
            "openai/gpt-4o-mini");
  auto top = selector.Select({"feature_scaffolding", v1::COMPLEXITY_HIGH, 2, {}});
  ASSERT_THAT(top, IsOk());
  EXPECT_THAT(top->rationale, HasSubstr("already at the top of the ladder"));
}

TEST(ModelSelectorTest, FallsBackWhenAProviderIsUnavailable) {
  ModelSelector selector(Shipped());
  auto low = selector.Select({"feature_scaffolding", v1::COMPLEXITY_LOW, 0, {"openai"}});
  ASSERT_THAT(low, IsOk());
  EXPECT_EQ(low->builder_model, kHaiku);
  EXPECT_EQ(low->auditor_model, kHaiku);
  EXPECT_THAT(low->rationale,
              HasSubstr("provider 'openai' is unavailable, so the builder falls back from "
                        "openai/gpt-4o-mini to anthropic/claude-3-5-haiku-20241022"));
  // Escalation happens first, then the escalated model falls back.
  auto escalated = selector.Select({"feature_scaffolding", v1::COMPLEXITY_LOW, 2, {"openai"}});
  ASSERT_THAT(escalated, IsOk());
  EXPECT_EQ(escalated->builder_model, kSonnet);
  EXPECT_EQ(escalated->auditor_model, kHaiku);
  auto risky = selector.Select({"security_auth_change", v1::COMPLEXITY_LOW, 0, {"openai"}});
  ASSERT_THAT(risky, IsOk());
  EXPECT_EQ(risky->builder_model, kSonnet);
  EXPECT_EQ(risky->auditor_model, kSonnet);
  // Another provider being down changes nothing.
  auto other = selector.Select({"docs", v1::COMPLEXITY_LOW, 0, {"anthropic"}});
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->builder_model, kMini);
  EXPECT_THAT(other->rationale, Not(HasSubstr("unavailable")));
}

TEST(ModelSelectorTest, UnavailableWhenEveryFallbackIsDown) {
  ModelSelector selector(Shipped());
  EXPECT_THAT(selector.Select({"docs", v1::COMPLEXITY_LOW, 0, {"openai", "anthropic"}}),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("builder model openai/gpt-4o-mini"),
                             HasSubstr("anthropic/claude-3-5-haiku-20241022"))));
}

TEST(ModelSelectorTest, RejectsBadRequests) {
  ModelSelector selector(Shipped());
  EXPECT_THAT(selector.Select({"docs", v1::COMPLEXITY_UNSPECIFIED, 0, {}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("complexity")));
  EXPECT_THAT(selector.Select({"docs", v1::COMPLEXITY_LOW, -1, {}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("failed_attempts")));
}

// Issue 10, must-show 3: every model the shipped config can select (each
// complexity, each category with its override or high-risk models, every
// ladder rung reached by escalation, every fallback) is asked for an output
// limit its provider accepts.
TEST(ModelSelectorTest, ShippedConfigAsksEveryModelForAnOutputLimitItAccepts) {
  const PolicyConfig& config = Shipped();
  ModelSelector selector(config);
  std::vector<std::string> categories = config.strategy.Categories();
  categories.push_back("no-such-category");
  std::set<std::string> seen;
  const auto check = [&](const std::string& role, const std::string& model, int64_t limit,
                         const std::string& where) {
    auto info = config.prices.Info(model);
    ASSERT_THAT(info, IsOk()) << where;
    EXPECT_GT(limit, 0) << where;
    EXPECT_LE(limit, info->max_output_tokens) << role << " " << model << " at " << where;
    if (role == "auditor") EXPECT_TRUE(info->structured_output) << model << " at " << where;
    seen.insert(model);
  };
  const std::vector<std::set<std::string>> outages = {{}, {"openai"}, {"anthropic"}};
  for (const std::string& category : categories) {
    for (v1::Complexity complexity :
         {v1::COMPLEXITY_LOW, v1::COMPLEXITY_MEDIUM, v1::COMPLEXITY_HIGH}) {
      for (int failed = 0; failed <= 2 * static_cast<int>(config.models.ladder().size()) *
                                          config.models.escalate_after_failed_attempts();
           ++failed) {
        for (const std::set<std::string>& down : outages) {
          auto selection = selector.Select({category, complexity, failed, down});
          const std::string where =
              absl::StrCat(category, "/", static_cast<int>(complexity), "/", failed, "/", down.size());
          ASSERT_THAT(selection, IsOk()) << where;
          check("builder", selection->builder_model, selection->builder_output_limit, where);
          check("auditor", selection->auditor_model, selection->auditor_output_limit, where);
        }
      }
    }
  }
  // The whole lineup is reached, so nothing above was checked by accident only.
  for (const std::string& rung : config.models.ladder()) {
    EXPECT_TRUE(seen.count(rung)) << rung;
    for (const std::string& fallback : config.models.FallbacksFor(rung)) {
      EXPECT_TRUE(seen.count(fallback)) << fallback;
    }
  }
  EXPECT_TRUE(seen.count(config.models.high_risk_models().builder));
  EXPECT_TRUE(seen.count(config.models.high_risk_models().auditor));
  // The limit models.yaml asks for is above some models' maximum, so the clamp
  // is what makes these calls acceptable.
  EXPECT_GT(config.models.builder_call().max_output_tokens,
            config.prices.Info(kTurbo)->max_output_tokens);
  EXPECT_EQ(OutputLimit(config, "builder", kTurbo), 4096);
  EXPECT_EQ(OutputLimit(config, "builder", kSonnet), 8192);
}

// Escalation every 2 failures; a base model off the ladder enters it at the
// first rung that costs more.
TEST(ModelSelectorTest, SlowerLadderAndOffLadderModels) {
  auto pricing = ConfigNode::LoadFile("config/pricing.yaml");
  auto strategy = ConfigNode::LoadFile("config/strategy.yaml");
  auto models = ConfigNode::Parse(R"(
complexity_models:
  low: {builder: anthropic/claude-3-5-haiku-20241022, auditor: openai/gpt-4o-mini}
  medium: {builder: openai/gpt-4o, auditor: openai/gpt-4o}
  high: {builder: anthropic/claude-3-5-sonnet-20241022, auditor: openai/gpt-4o}
high_risk_models: {builder: openai/gpt-4-turbo, auditor: openai/gpt-4o}
escalation:
  after_failed_attempts: 2
  ladder: [openai/gpt-4o-mini, openai/gpt-4o, openai/gpt-4-turbo]
call_limits:
  builder: {estimated_input_tokens: 1000, max_output_tokens: 1000}
  auditor: {estimated_input_tokens: 1000, max_output_tokens: 1000}
)",
                                  "models.yaml");
  ASSERT_THAT(pricing, IsOk());
  ASSERT_THAT(strategy, IsOk());
  ASSERT_THAT(models, IsOk());
  auto config = PolicyConfig::FromConfig(*pricing, *strategy, *models, absl::nullopt);
  ASSERT_THAT(config, IsOk());
  ModelSelector selector(*config);
  const std::vector<std::string> low = {kHaiku, kHaiku, k4o, k4o, kTurbo, kTurbo};
  for (int failed = 0; failed < static_cast<int>(low.size()); ++failed) {
    EXPECT_THAT(selector.Select({"tests", v1::COMPLEXITY_LOW, failed, {}}),
                IsOkAndHolds(::testing::Field(&Selection::builder_model, low[failed])))
        << failed;
  }
  // Sonnet (18 USD per 1M in+out) enters at gpt-4-turbo (40).
  EXPECT_THAT(selector.Select({"tests", v1::COMPLEXITY_HIGH, 2, {}}),
              IsOkAndHolds(::testing::Field(&Selection::builder_model, kTurbo)));
}

}  // namespace
}  // namespace autopack::policy
