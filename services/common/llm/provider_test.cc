// Both wire formats against the fake provider server over real HTTP: the
// failures DESIGN.md §4 names, usage, structured output, key handling. Every
// OpenAI-format request and answer of the suite is checked against OpenAI's
// published schema when the suite ends.
#include <stdlib.h>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "services/common/llm/anthropic_provider.h"
#include "services/common/llm/http_client.h"
#include "services/common/llm/openai_provider.h"
#include "services/common/billed_usage.h"
#include "services/common/status_matchers.h"
#include "tests/fake_provider/fake_provider_server.h"
#include "tests/fake_provider/openai_schema.h"

namespace autopack::llm {
namespace {

using ::autopack::testing::FakeProviderServer;
using ::autopack::testing::FakeReply;
using ::autopack::testing::RecordedExchange;
using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKeyEnv[] = "AUTOPACK_PROVIDER_TEST_KEY";
constexpr char kKey[] = "sk-test-4f9c2e7d1b8a6053secret";

class ProviderTest : public ::testing::TestWithParam<ProviderKind> {
 protected:
  static void SetUpTestSuite() { all_exchanges_ = new std::vector<RecordedExchange>; }

  static void TearDownTestSuite() {
    const absl::Status schema = testing::ValidateOpenAiExchanges(*all_exchanges_);
    EXPECT_TRUE(schema.ok()) << schema;
    delete all_exchanges_;
  }

  void SetUp() override {
    setenv(kKeyEnv, kKey, 1);
    auto server = FakeProviderServer::Start();
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
    config_.name = "fake";
    config_.kind = GetParam();
    config_.base_url = GetParam() == ProviderKind::kAnthropic ? server_->base_url()
                                                              : server_->base_url() + "/v1";
    config_.api_key_env = kKeyEnv;
    config_.request_timeout = absl::Seconds(20);
    config_.retry.base_backoff = absl::Milliseconds(20);
    config_.retry.max_backoff = absl::Milliseconds(100);
  }

  void TearDown() override {
    const auto exchanges = server_->exchanges();
    all_exchanges_->insert(all_exchanges_->end(), exchanges.begin(), exchanges.end());
  }

  std::unique_ptr<HttpProvider> MakeProvider() {
    if (GetParam() == ProviderKind::kAnthropic) {
      return std::make_unique<AnthropicProvider>(config_, &http_);
    }
    return std::make_unique<OpenAiProvider>(config_, &http_);
  }

  absl::StatusOr<Completion> Call(const CompletionRequest& request = Request()) {
    return MakeProvider()->Complete(request);
  }

  static CompletionRequest Request() {
    CompletionRequest request;
    request.model = "some-model";
    request.system = "You write patches.";
    request.user = "Add a README.";
    request.max_output_tokens = 512;
    return request;
  }

  bool anthropic() const { return GetParam() == ProviderKind::kAnthropic; }

  static std::vector<RecordedExchange>* all_exchanges_;
  ProviderConfig config_;
  CurlHttpClient http_;
  std::unique_ptr<FakeProviderServer> server_;
};

std::vector<RecordedExchange>* ProviderTest::all_exchanges_ = nullptr;

TEST_P(ProviderTest, AnswerAndExactUsage) {
  server_->Enqueue(FakeReply::Content("the answer",
                                      {.input = 1000, .cached = 200, .output = 300, .reasoning = 40}));
  auto completion = Call();
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->text, "the answer");
  EXPECT_EQ(completion->finish, FinishReason::kStop);
  EXPECT_EQ(completion->model, "some-model");
  EXPECT_EQ(completion->attempts, 1);
  EXPECT_EQ(completion->usage.input_tokens(), 1000);
  EXPECT_EQ(completion->usage.cached_input_tokens(), 200);
  // Anthropic counts thinking inside output_tokens.
  EXPECT_EQ(completion->usage.output_tokens(), anthropic() ? 340 : 300);
  EXPECT_EQ(completion->usage.reasoning_tokens(), anthropic() ? 0 : 40);

  const RecordedExchange sent = server_->exchanges().at(0);
  const json body = json::parse(sent.request_body);
  EXPECT_EQ(body["model"], "some-model");
  if (anthropic()) {
    EXPECT_EQ(sent.path, "/v1/messages");
    EXPECT_EQ(sent.headers.at("x-api-key"), kKey);
    EXPECT_EQ(sent.headers.at("anthropic-version"), "2023-06-01");
    EXPECT_EQ(body["system"], "You write patches.");
    EXPECT_EQ(body["max_tokens"], 512);
    EXPECT_EQ(body["messages"][0]["content"], "Add a README.");
  } else {
    EXPECT_EQ(sent.path, "/v1/chat/completions");
    EXPECT_EQ(sent.headers.at("authorization"), std::string("Bearer ") + kKey);
    EXPECT_EQ(body["messages"][0]["role"], "system");
    EXPECT_EQ(body["messages"][1]["content"], "Add a README.");
    EXPECT_EQ(body[GetParam() == ProviderKind::kOpenAi ? "max_completion_tokens" : "max_tokens"],
              512);
  }
}

TEST_P(ProviderTest, RateLimitWithRetryAfterOneIsRetriedAfterAtLeastOneSecond) {
  server_->Enqueue(FakeReply::HttpError(429, "Rate limit reached", "1"));
  server_->Enqueue(FakeReply::Content("ok", {.input = 5, .output = 2}));
  auto completion = Call();
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->attempts, 2);
  EXPECT_EQ(completion->usage.input_tokens(), 5);
  const auto exchanges = server_->exchanges();
  ASSERT_EQ(exchanges.size(), 2u);
  EXPECT_GE(exchanges[1].received - exchanges[0].received, absl::Seconds(1));
}

TEST_P(ProviderTest, TwoServiceUnavailableThenSuccessTakesThreeCalls) {
  server_->Enqueue(FakeReply::HttpError(503, "overloaded"));
  server_->Enqueue(FakeReply::HttpError(503, "overloaded"));
  server_->Enqueue(FakeReply::Content("third time", {.input = 9, .output = 4}));
  auto completion = Call();
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->text, "third time");
  EXPECT_EQ(completion->attempts, 3);
  EXPECT_EQ(server_->exchanges().size(), 3u);
  EXPECT_EQ(completion->usage.output_tokens(), 4);
}

TEST_P(ProviderTest, ServerErrorsBeyondTheRetryLimitAreUnavailable) {
  config_.retry.max_retries = 1;
  server_->Enqueue(FakeReply::HttpError(500, "boom"));
  server_->Enqueue(FakeReply::HttpError(502, "bad gateway"));
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("2 attempts")));
  EXPECT_EQ(server_->exchanges().size(), 2u);
}

TEST_P(ProviderTest, BadRequestIsNotRetried) {
  server_->Enqueue(FakeReply::HttpError(400, "max_tokens is too large"));
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("max_tokens is too large")));
  EXPECT_EQ(server_->exchanges().size(), 1u);
}

TEST_P(ProviderTest, UnauthorizedIsNotRetriedAndTheKeyNeverShows) {
  // Providers echo (parts of) a rejected key; the error must not carry it.
  server_->Enqueue(FakeReply::HttpError(401, std::string("Incorrect API key provided: ") + kKey));
  const auto result = Call();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition,
                               AllOf(HasSubstr("401"), Not(HasSubstr(kKey)),
                                     HasSubstr("[redacted]"))));
  EXPECT_EQ(server_->exchanges().size(), 1u);
}

TEST_P(ProviderTest, AHangHitsTheTimeoutAndReturnsDeadlineExceeded) {
  config_.request_timeout = absl::Milliseconds(500);
  config_.retry.max_retries = 1;
  server_->Enqueue(FakeReply::Hang());
  server_->Enqueue(FakeReply::Hang());
  const absl::Time start = absl::Now();
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("fake")));
  EXPECT_EQ(server_->exchanges().size(), 2u);  // a timeout is a transport error: retried
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_P(ProviderTest, AnErrorBodyInsideA200IsAnError) {
  config_.retry.max_retries = 0;
  server_->Enqueue(FakeReply::ErrorIn200("upstream model crashed"));
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kUnavailable,
                               AllOf(HasSubstr("HTTP 200 with an error object"),
                                     HasSubstr("upstream model crashed"))));
}

TEST_P(ProviderTest, AnErrorBodyInsideA200IsRetriedLikeAServerError) {
  server_->Enqueue(FakeReply::ErrorIn200("upstream model crashed"));
  server_->Enqueue(FakeReply::Content("fine now"));
  auto completion = Call();
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->attempts, 2);
}

TEST_P(ProviderTest, TruncationIsDetectedBeforeParsingAndKeepsItsUsage) {
  server_->Enqueue(FakeReply::Truncated("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,4 @@\n",
                                        {.input = 700, .cached = 100, .output = 512}));
  auto completion = Call();
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->finish, FinishReason::kLength);
  EXPECT_EQ(completion->usage.input_tokens(), 700);
  EXPECT_EQ(completion->usage.cached_input_tokens(), 100);
  EXPECT_EQ(completion->usage.output_tokens(), 512);
  EXPECT_EQ(server_->exchanges().size(), 1u);
}

TEST_P(ProviderTest, RefusalIsReportedWithItsUsage) {
  server_->Enqueue(FakeReply::Refusal("I can't help with that.", {.input = 50, .output = 8}));
  auto completion = Call();
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->finish, FinishReason::kRefusal);
  EXPECT_EQ(completion->refusal, "I can't help with that.");
  EXPECT_EQ(completion->usage.output_tokens(), 8);
}

TEST_P(ProviderTest, InvalidJsonIsAnErrorNotACrash) {
  config_.retry.max_retries = 0;
  server_->Enqueue(FakeReply::InvalidJson());
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("not JSON")));
}

TEST_P(ProviderTest, RetryAfterBeyondTheLimitIsNotWaitedFor) {
  config_.retry.max_retry_after = absl::Seconds(120);
  server_->Enqueue(FakeReply::HttpError(429, "quota", "3600"));
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("retry after")));
  EXPECT_EQ(server_->exchanges().size(), 1u);
}

TEST_P(ProviderTest, StructuredOutputUsesTheWireFormatsMechanism) {
  const json schema = {{"type", "object"},
                       {"additionalProperties", false},
                       {"required", {"approve"}},
                       {"properties", {{"approve", {{"type", "boolean"}}}}}};
  CompletionRequest request = Request();
  request.structured_output = StructuredOutput{"review", "A patch review.", schema};
  server_->Enqueue(FakeReply::Content(R"({"approve":false})"));
  auto completion = Call(request);
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(json::parse(completion->text), json({{"approve", false}}));
  const json body = json::parse(server_->exchanges().at(0).request_body);
  if (anthropic()) {
    EXPECT_EQ(body["tools"][0]["input_schema"], schema);
    EXPECT_EQ(body["tool_choice"], json({{"type", "tool"}, {"name", "review"}}));
  } else {
    EXPECT_EQ(body["response_format"]["type"], "json_schema");
    EXPECT_EQ(body["response_format"]["json_schema"]["schema"], schema);
    EXPECT_EQ(body["response_format"]["json_schema"]["strict"], true);
  }
}

TEST_P(ProviderTest, AMissingKeyFailsBeforeAnyRequestAndNamesTheVariable) {
  unsetenv(kKeyEnv);
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(kKeyEnv)));
  EXPECT_TRUE(server_->exchanges().empty());
}

TEST_P(ProviderTest, ConnectionsAreReused) {
  server_->Enqueue(FakeReply::Content("one"));
  server_->Enqueue(FakeReply::Content("two"));
  auto provider = MakeProvider();
  ASSERT_THAT(provider->Complete(Request()), IsOk());
  ASSERT_THAT(provider->Complete(Request()), IsOk());
  EXPECT_EQ(server_->connections_accepted(), 1);
}

INSTANTIATE_TEST_SUITE_P(WireFormats, ProviderTest,
                         ::testing::Values(ProviderKind::kOpenAi, ProviderKind::kOpenAiCompatible,
                                           ProviderKind::kAnthropic),
                         [](const auto& info) {
                           switch (info.param) {
                             case ProviderKind::kOpenAi: return "OpenAi";
                             case ProviderKind::kOpenAiCompatible: return "OpenAiCompatible";
                             case ProviderKind::kAnthropic: return "Anthropic";
                           }
                           return "";
                         });

// Backoff timing and usage of failed calls, with the scripted HTTP client.
class ProviderRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv(kKeyEnv, kKey, 1);
    config_.name = "scripted";
    config_.kind = ProviderKind::kOpenAi;
    config_.base_url = "http://scripted.invalid/v1";
    config_.api_key_env = kKeyEnv;
  }
  static HttpResponse Response(int status, std::string body) {
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    return response;
  }
  ProviderConfig config_;
  FakeHttpClient http_;
  std::vector<absl::Duration> sleeps_;
};

TEST_F(ProviderRetryTest, BackoffDoublesWithJitterWithinItsBounds) {
  http_.Enqueue(Response(503, "{}"));
  http_.Enqueue(absl::UnavailableError("connection reset"));
  http_.Enqueue(Response(200, R"({"model":"m","choices":[{"index":0,"finish_reason":"stop",
      "message":{"role":"assistant","content":"ok","refusal":null}}]})"));
  OpenAiProvider provider(config_, &http_, [this](absl::Duration d) { sleeps_.push_back(d); });
  ASSERT_THAT(provider.Complete({.model = "m", .max_output_tokens = 5}), IsOk());
  ASSERT_EQ(sleeps_.size(), 2u);
  EXPECT_GE(sleeps_[0], absl::Milliseconds(250));
  EXPECT_LE(sleeps_[0], absl::Milliseconds(500));
  EXPECT_GE(sleeps_[1], absl::Milliseconds(500));
  EXPECT_LE(sleeps_[1], absl::Seconds(1));
  EXPECT_EQ(http_.requests().size(), 3u);
}

TEST_F(ProviderRetryTest, UsageOfAFailedCallRidesOnTheStatus) {
  config_.retry.max_retries = 0;
  // A 200 with usage but no choices: billed by the provider, so counted.
  http_.Enqueue(Response(200, R"({"model":"m","choices":[],
      "usage":{"prompt_tokens":40,"completion_tokens":6,"total_tokens":46}})"));
  OpenAiProvider provider(config_, &http_, [this](absl::Duration d) { sleeps_.push_back(d); });
  const auto result = provider.Complete({.model = "m", .max_output_tokens = 5});
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("choices")));
  const v1::TokenUsage usage = BilledUsageOf(result.status());
  EXPECT_EQ(usage.input_tokens(), 40);
  EXPECT_EQ(usage.output_tokens(), 6);
}

TEST_F(ProviderRetryTest, NullContentAndToolCallsAreMalformedOnceAndCounted) {
  // Billed, complete answers that hold no text: one call, no retry, usage kept.
  for (const std::string message :
       {R"({"role":"assistant","content":null})",
        R"({"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",
           "function":{"name":"f","arguments":"{}"}}]})"}) {
    FakeHttpClient http;
    http.Enqueue(Response(200, R"({"model":"m","choices":[{"index":0,"finish_reason":"stop","message":)" +
                                   message + R"(}],"usage":{"prompt_tokens":40,"completion_tokens":6}})"));
    OpenAiProvider provider(config_, &http, [this](absl::Duration d) { sleeps_.push_back(d); });
    const auto result = provider.Complete({.model = "m", .max_output_tokens = 5});
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->finish, FinishReason::kMalformed);
    EXPECT_THAT(result->refusal, HasSubstr(absl::StrContains(message, "tool_calls") ? "tool calls" : "null"));
    EXPECT_EQ(result->usage.input_tokens(), 40);
    EXPECT_EQ(result->usage.output_tokens(), 6);
    EXPECT_EQ(http.requests().size(), 1u);
  }
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(ProviderRetryTest, NonUtf8PromptTextIsReplacedInsideTheJsonOnly) {
  http_.Enqueue(Response(200, R"({"model":"m","choices":[{"index":0,"finish_reason":"stop",
      "message":{"role":"assistant","content":"ok"}}]})"));
  OpenAiProvider provider(config_, &http_, [this](absl::Duration d) { sleeps_.push_back(d); });
  // A Latin-1 file quoted in the prompt: "caf\xe9".
  ASSERT_THAT(provider.Complete({.model = "m", .user = "caf\xe9", .max_output_tokens = 5}), IsOk());
  ASSERT_EQ(http_.requests().size(), 1u);
  EXPECT_THAT(http_.requests()[0].body, HasSubstr("caf\xef\xbf\xbd"));
}

}  // namespace
}  // namespace autopack::llm
