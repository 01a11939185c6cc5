// Issue 10, must-show 3, against the fake provider: it refuses an over-limit
// request with a 400 as OpenAI and Anthropic do, and every call the shipped
// config can make (each selection's model and output limit, every ladder rung,
// every fallback) is one it accepts.
#include <set>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/pricing.h"
#include "services/common/status_matchers.h"
#include "services/supervisor/policy/model_selector.h"
#include "services/supervisor/policy/policy_config.h"
#include "tests/fake_provider/fake_llm.h"

namespace autopack::testing {
namespace {

using ::nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

class ModelLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = FakeLlm::Start();
    ASSERT_THAT(fake, IsOk());
    fake_ = std::move(*fake);
    auto catalog = PriceTable::LoadFile("config/pricing.yaml");
    ASSERT_THAT(catalog, IsOk());
    fake_->server().SetCatalog(*std::move(catalog));
  }

  absl::StatusOr<llm::PricedCompletion> Call(const std::string& model, int max_output,
                                             bool structured = false) {
    llm::CompletionRequest request;
    request.system = "s";
    request.user = "u";
    request.max_output_tokens = max_output;
    if (structured) {
      request.structured_output = llm::StructuredOutput{
          "review", "a review", json{{"type", "object"},
                                     {"properties", {{"ok", {{"type", "boolean"}}}}},
                                     {"required", {"ok"}},
                                     {"additionalProperties", false}}};
    }
    return fake_->client().Complete(model, request);
  }

  std::unique_ptr<FakeLlm> fake_;
};

TEST_F(ModelLimitsTest, OverLimitRequestsAreRefusedWith400AsTheProvidersDo) {
  // The seed's models.yaml asked gpt-4-turbo and the Claude 3.5 fallbacks for 16,000.
  EXPECT_THAT(Call("openai/gpt-4-turbo", 16000),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("max_tokens is too large: 16000"),
                             HasSubstr("at most 4096 completion tokens"))));
  EXPECT_THAT(Call("anthropic/claude-3-5-sonnet-20241022", 16000),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_tokens: 16000 > 8192, which is the maximum allowed")));
  EXPECT_THAT(Call("openai/gpt-4-turbo", 1000, /*structured=*/true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("json_schema")));
  const auto exchanges = fake_->server().exchanges();
  ASSERT_EQ(exchanges.size(), 3u);  // a 400 is never retried
  for (const RecordedExchange& exchange : exchanges) EXPECT_EQ(exchange.status, 400);

  // At the limit they are served.
  fake_->server().Enqueue(FakeReply::Content("ok", {.input = 5, .output = 1}));
  fake_->server().Enqueue(FakeReply::Content("ok", {.input = 5, .output = 1}));
  EXPECT_THAT(Call("openai/gpt-4-turbo", 4096), IsOk());
  EXPECT_THAT(Call("anthropic/claude-3-5-sonnet-20241022", 8192), IsOk());
}

TEST_F(ModelLimitsTest, EveryCallTheShippedConfigCanMakeIsAccepted) {
  auto loaded = policy::PolicyConfig::LoadDir("config");
  ASSERT_THAT(loaded, IsOk());
  const policy::PolicyConfig& config = *loaded;
  policy::ModelSelector selector(config);
  std::set<std::pair<std::string, int64_t>> calls;  // (role:model, limit)
  std::vector<std::string> categories = config.strategy.Categories();
  for (const std::string& category : categories) {
    for (v1::Complexity complexity :
         {v1::COMPLEXITY_LOW, v1::COMPLEXITY_MEDIUM, v1::COMPLEXITY_HIGH}) {
      for (int failed = 0; failed < 8; ++failed) {
        for (const std::set<std::string>& down :
             std::vector<std::set<std::string>>{{}, {"openai"}, {"anthropic"}}) {
          auto selection = selector.Select({category, complexity, failed, down});
          ASSERT_THAT(selection, IsOk());
          calls.insert({"builder:" + selection->builder_model, selection->builder_output_limit});
          calls.insert({"auditor:" + selection->auditor_model, selection->auditor_output_limit});
        }
      }
    }
  }
  for (const std::string& rung : config.models.ladder()) {
    calls.insert({"builder:" + rung, policy::OutputLimit(config, "builder", rung)});
    for (const std::string& fallback : config.models.FallbacksFor(rung)) {
      calls.insert({"builder:" + fallback, policy::OutputLimit(config, "builder", fallback)});
    }
  }
  ASSERT_GE(calls.size(), 6u);
  for (const auto& [role_model, limit] : calls) {
    const std::string role = role_model.substr(0, role_model.find(':'));
    const std::string model = role_model.substr(role_model.find(':') + 1);
    fake_->server().Enqueue(FakeReply::Content(role == "auditor" ? "{\"ok\": true}" : "ok",
                                               {.input = 5, .output = 1}));
    EXPECT_THAT(Call(model, static_cast<int>(limit), role == "auditor"), IsOk())
        << role << " " << model << " " << limit;
  }
}

}  // namespace
}  // namespace autopack::testing
