#include "services/common/llm/llm_client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"
#include "tests/fake_provider/fake_llm.h"
#include "tests/fake_provider/openai_schema.h"

namespace autopack::llm {
namespace {

using ::autopack::testing::FakeProviderServer;
using ::autopack::testing::FakeReply;
using ::testing::HasSubstr;

class LlmClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = testing::FakeLlm::Start();
    ASSERT_THAT(fake, IsOk());
    fake_ = std::move(*fake);
    server_ = &fake_->server();
    client_ = &fake_->client();
  }

  void TearDown() override {
    if (!server_->exchanges().empty()) {
      EXPECT_THAT(testing::ValidateOpenAiExchanges(server_->exchanges()), IsOk());
    }
  }

  std::unique_ptr<testing::FakeLlm> fake_;
  FakeProviderServer* server_ = nullptr;
  const LlmClient* client_ = nullptr;
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
                       AllOf(HasSubstr("'mistral'"), HasSubstr("configured: anthropic, openai"))));
  EXPECT_THAT(client_->CheckModel("gpt-4o"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      HasSubstr("provider/name")));
  EXPECT_TRUE(server_->exchanges().empty());
}

}  // namespace
}  // namespace autopack::llm
