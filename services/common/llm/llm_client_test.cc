#include "services/common/llm/llm_client.h"

#include <stdlib.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"
#include "tests/fake_provider/fake_provider_server.h"
#include "tests/fake_provider/openai_schema.h"

namespace autopack::llm {
namespace {

using ::autopack::testing::FakeProviderServer;
using ::autopack::testing::FakeReply;
using ::testing::HasSubstr;

class LlmClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = FakeProviderServer::Start();
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
    auto prices = PriceTable::LoadFile("config/pricing.yaml");
    ASSERT_THAT(prices, IsOk());
    setenv("AUTOPACK_LLM_CLIENT_TEST_KEY", "sk-x", 1);
    ProviderConfig openai;
    openai.name = "openai";
    openai.kind = ProviderKind::kOpenAi;
    openai.base_url = server_->base_url() + "/v1";
    openai.api_key_env = "AUTOPACK_LLM_CLIENT_TEST_KEY";
    client_ = std::make_unique<LlmClient>(std::map<std::string, ProviderConfig>{{"openai", openai}},
                                          *prices, &http_);
  }

  void TearDown() override {
    if (!server_->exchanges().empty()) {
      EXPECT_THAT(testing::ValidateOpenAiExchanges(server_->exchanges()), IsOk());
    }
  }

  CurlHttpClient http_;
  std::unique_ptr<FakeProviderServer> server_;
  std::unique_ptr<LlmClient> client_;
};

TEST_F(LlmClientTest, RoutesByProviderSendsTheProvidersModelNameAndPricesExactly) {
  server_->Enqueue(FakeReply::Content("hi", {.input = 1000, .cached = 2000, .output = 500}));
  auto result = client_->Complete("openai/gpt-4o", {.max_output_tokens = 100});
  ASSERT_THAT(result, IsOk());
  // gpt-4o: $2.50 input, $1.25 cached, $10 output per 1M tokens.
  EXPECT_EQ(result->cost_micro_usd, 2500 + 2500 + 5000);
  EXPECT_THAT(server_->exchanges().at(0).request_body, HasSubstr(R"("model":"gpt-4o")"));
}

TEST_F(LlmClientTest, UnknownModelOrProviderIsInvalidArgumentBeforeAnyCall) {
  EXPECT_THAT(client_->Complete("openai/gpt-9-ultra", {.max_output_tokens = 1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("openai/gpt-9-ultra"), HasSubstr("pricing.yaml"))));
  EXPECT_THAT(client_->CheckModel("mistral/large"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'mistral'"), HasSubstr("configured: openai"))));
  EXPECT_THAT(client_->CheckModel("gpt-4o"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      HasSubstr("provider/name")));
  EXPECT_TRUE(server_->exchanges().empty());
}

}  // namespace
}  // namespace autopack::llm
