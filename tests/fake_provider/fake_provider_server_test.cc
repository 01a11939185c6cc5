#include "tests/fake_provider/fake_provider_server.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/llm/http_client.h"
#include "services/common/status_matchers.h"
#include "tests/fake_provider/openai_schema.h"

namespace autopack::testing {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;

class FakeProviderServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = FakeProviderServer::Start();
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
  }

  absl::StatusOr<llm::HttpResponse> Post(const std::string& path, const json& body,
                                         absl::Duration timeout = absl::Seconds(10)) {
    llm::HttpRequest request;
    request.url = server_->base_url() + path;
    request.body = body.dump();
    request.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer k"}};
    request.total_timeout = timeout;
    return http_.Post(request);
  }

  const json kOpenAiRequest = {{"model", "gpt-4o"},
                               {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  const json kAnthropicRequest = {
      {"model", "claude"},
      {"max_tokens", 10},
      {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  llm::CurlHttpClient http_;
  std::unique_ptr<FakeProviderServer> server_;
};

TEST_F(FakeProviderServerTest, OpenAiAnswersValidateAgainstTheSchemaOnOneConnection) {
  server_->Enqueue(FakeReply::Content("hello", {.input = 7, .cached = 3, .output = 5}));
  server_->Enqueue(FakeReply::Truncated("hel", {.input = 1, .output = 2}));
  server_->Enqueue(FakeReply::Refusal("no"));
  for (int i = 0; i < 3; ++i) {
    auto response = Post("/v1/chat/completions", kOpenAiRequest);
    ASSERT_THAT(response, IsOk());
    EXPECT_EQ(response->status, 200);
  }
  const auto exchanges = server_->exchanges();
  ASSERT_EQ(exchanges.size(), 3u);
  EXPECT_EQ(server_->connections_accepted(), 1);  // keep-alive, reused by curl
  EXPECT_EQ(exchanges[0].headers.at("authorization"), "Bearer k");
  EXPECT_EQ(json::parse(exchanges[0].request_body), kOpenAiRequest);
  const json first = json::parse(exchanges[0].response_body);
  EXPECT_EQ(first["choices"][0]["message"]["content"], "hello");
  EXPECT_EQ(first["usage"]["prompt_tokens"], 10);
  EXPECT_EQ(first["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
  EXPECT_EQ(json::parse(exchanges[1].response_body)["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(json::parse(exchanges[2].response_body)["choices"][0]["message"]["refusal"], "no");
  EXPECT_THAT(ValidateOpenAiExchanges(exchanges), IsOk());
}

TEST_F(FakeProviderServerTest, TheSchemaCheckRejectsWhatTheSchemaForbids) {
  EXPECT_THAT(ValidateOpenAiSchema("CreateChatCompletionRequest",
                                   {R"({"model":"m","messages":[]})",
                                    R"({"model":"m","messages":[{"role":"robot","content":"x"}]})"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("document_2")));
  EXPECT_THAT(ValidateOpenAiSchema("CreateChatCompletionRequest",
                                   {R"({"model":"m","messages":[{"role":"user","content":"x"}],
                                        "max_completion_tokens":"many"})"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_completion_tokens")));
  EXPECT_THAT(ValidateOpenAiSchema("CreateChatCompletionResponse", {R"({"choices":[]})"}),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateOpenAiExchanges({}), StatusHasCode(absl::StatusCode::kFailedPrecondition));
}

TEST_F(FakeProviderServerTest, AnthropicAnswersTextOrTheForcedTool) {
  server_->Enqueue(FakeReply::Content("plain", {.input = 4, .cached = 2, .output = 1}));
  server_->Enqueue(FakeReply::Content(R"({"approve":true})"));
  ASSERT_THAT(Post("/v1/messages", kAnthropicRequest), IsOk());
  json forced = kAnthropicRequest;
  forced["tools"] = json::array({{{"name", "review"}, {"input_schema", {{"type", "object"}}}}});
  forced["tool_choice"] = {{"type", "tool"}, {"name", "review"}};
  ASSERT_THAT(Post("/v1/messages", forced), IsOk());
  const auto exchanges = server_->exchanges();
  const json text = json::parse(exchanges[0].response_body);
  EXPECT_EQ(text["content"][0]["text"], "plain");
  EXPECT_EQ(text["stop_reason"], "end_turn");
  EXPECT_EQ(text["usage"]["cache_read_input_tokens"], 2);
  const json tool = json::parse(exchanges[1].response_body);
  EXPECT_EQ(tool["content"][0]["type"], "tool_use");
  EXPECT_EQ(tool["content"][0]["input"]["approve"], true);
  EXPECT_FALSE(exchanges[0].openai);
}

TEST_F(FakeProviderServerTest, ScriptedFailures) {
  server_->Enqueue(FakeReply::HttpError(429, "slow down", "1"));
  server_->Enqueue(FakeReply::ErrorIn200("upstream broke"));
  server_->Enqueue(FakeReply::InvalidJson());
  auto limited = Post("/v1/chat/completions", kOpenAiRequest);
  ASSERT_THAT(limited, IsOk());
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->Header("retry-after"), "1");
  auto in_200 = Post("/v1/messages", kAnthropicRequest);
  ASSERT_THAT(in_200, IsOk());
  EXPECT_EQ(in_200->status, 200);
  EXPECT_EQ(json::parse(in_200->body)["type"], "error");
  auto invalid = Post("/v1/chat/completions", kOpenAiRequest);
  ASSERT_THAT(invalid, IsOk());
  EXPECT_TRUE(json::parse(invalid->body, nullptr, false).is_discarded());
  auto unscripted = Post("/v1/chat/completions", kOpenAiRequest);
  ASSERT_THAT(unscripted, IsOk());
  EXPECT_EQ(unscripted->status, 500);
}

TEST_F(FakeProviderServerTest, AHangIsCutByTheClientTimeoutAndReleasedOnShutdown) {
  server_->Enqueue(FakeReply::Hang());
  EXPECT_THAT(Post("/v1/chat/completions", kOpenAiRequest, absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("127.0.0.1")));
  EXPECT_EQ(server_->exchanges().size(), 1u);
  server_.reset();  // must not block on the hanging connection
}

}  // namespace
}  // namespace autopack::testing
