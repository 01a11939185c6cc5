#include "services/builder/builder.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"
#include "tests/fake_provider/fake_llm.h"
#include "tests/fake_provider/openai_schema.h"

namespace autopack::builder {
namespace {

using ::autopack::testing::FakeProviderServer;
using ::autopack::testing::FakeReply;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kDiff[] =
    "diff --git a/hello.py b/hello.py\n"
    "--- a/hello.py\n"
    "+++ b/hello.py\n"
    "@@ -1,2 +1,3 @@\n"
    " import sys\n"
    "+print('Hello')\n"
    " sys.exit(0)\n";

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = testing::FakeLlm::Start();
    ASSERT_THAT(fake, IsOk());
    fake_ = std::move(*fake);
    server_ = &fake_->server();
    builder_ = std::make_unique<Builder>(&fake_->client());
  }

  void TearDown() override {
    if (!server_->exchanges().empty()) {
      EXPECT_THAT(testing::ValidateOpenAiExchanges(server_->exchanges()), IsOk());
    }
  }

  static v1::GeneratePatchRequest Request() {
    v1::GeneratePatchRequest request;
    request.mutable_phase()->set_phase_id("p1");
    request.mutable_phase()->set_name("greet");
    request.mutable_phase()->set_description("Print Hello.");
    request.set_model("openai/gpt-4o-mini");
    request.set_max_output_tokens(2000);
    request.set_run_id("r1");
    request.set_edit_format(v1::UNIFIED_DIFF);
    v1::ContextFile* file = request.add_context_files();
    file->set_path("hello.py");
    file->set_content("import sys\nsys.exit(0)\n");
    return request;
  }

  std::unique_ptr<testing::FakeLlm> fake_;
  FakeProviderServer* server_ = nullptr;
  std::unique_ptr<Builder> builder_;
};

TEST_F(BuilderTest, ReturnsTheValidatedDiffWithUsageAndExactCost) {
  server_->Enqueue(FakeReply::Content(
      std::string("Summary: Prints a greeting.\n\n```diff\n") + kDiff + "```\n",
      {.input = 12000, .cached = 4000, .output = 900}));
  auto response = builder_->GeneratePatch(Request());
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->outcome(), v1::PATCH_OUTCOME_OK) << response->detail();
  EXPECT_EQ(response->patch(), kDiff);
  EXPECT_EQ(response->summary(), "Prints a greeting.");
  EXPECT_THAT(response->files_touched(), ElementsAre("hello.py"));
  EXPECT_EQ(response->usage().input_tokens(), 12000);
  EXPECT_EQ(response->usage().cached_input_tokens(), 4000);
  EXPECT_EQ(response->usage().output_tokens(), 900);
  // gpt-4o-mini: $0.15 input, $0.075 cached, $0.60 output per 1M tokens.
  EXPECT_EQ(response->cost_micro_usd(), 1800 + 300 + 540);
  EXPECT_EQ(response->model_used(), "openai/gpt-4o-mini");
}

TEST_F(BuilderTest, AMalformedDiffIsMalformedWithTheReason) {
  server_->Enqueue(FakeReply::Content(
      "Summary: x\n```diff\n--- a/hello.py\n+++ b/hello.py\n@@ -1,4 +1,5 @@\n import os\n"
      "+print('Hello')\n```\n",
      {.input = 100, .output = 50}));
  auto response = builder_->GeneratePatch(Request());
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->outcome(), v1::PATCH_OUTCOME_MALFORMED);
  EXPECT_THAT(response->detail(), HasSubstr("hello.py: hunk 1: its context and removed lines (from \"import os\") "
                                            "match nowhere"));
  EXPECT_TRUE(response->patch().empty());
  EXPECT_GT(response->cost_micro_usd(), 0);
}

TEST_F(BuilderTest, PlaceholdersAndMissingDiffsAreMalformed) {
  server_->Enqueue(FakeReply::Content(
      "```diff\n--- a/hello.py\n+++ b/hello.py\n@@ -1 +1,2 @@\n import sys\n+# ... rest of the file ...\n```\n"));
  server_->Enqueue(FakeReply::Content("I am not sure what to change."));
  auto placeholder = builder_->GeneratePatch(Request());
  ASSERT_THAT(placeholder, IsOk());
  EXPECT_EQ(placeholder->outcome(), v1::PATCH_OUTCOME_MALFORMED);
  EXPECT_THAT(placeholder->detail(), HasSubstr("placeholder"));
  auto prose = builder_->GeneratePatch(Request());
  ASSERT_THAT(prose, IsOk());
  EXPECT_EQ(prose->outcome(), v1::PATCH_OUTCOME_MALFORMED);
  EXPECT_THAT(prose->detail(), HasSubstr("no unified diff"));
}

TEST_F(BuilderTest, TruncatedAndRefusedAreOutcomesWithTheirUsage) {
  server_->Enqueue(FakeReply::Truncated(std::string("```diff\n") + kDiff,
                                        {.input = 1000, .output = 2000}));
  server_->Enqueue(FakeReply::Refusal("I won't do that.", {.input = 1000, .output = 10}));
  auto truncated = builder_->GeneratePatch(Request());
  ASSERT_THAT(truncated, IsOk());
  EXPECT_EQ(truncated->outcome(), v1::PATCH_OUTCOME_TRUNCATED);
  EXPECT_THAT(truncated->detail(), HasSubstr("2000 tokens"));
  EXPECT_TRUE(truncated->patch().empty());
  EXPECT_EQ(truncated->usage().output_tokens(), 2000);
  EXPECT_EQ(truncated->cost_micro_usd(), 150 + 1200);
  auto refused = builder_->GeneratePatch(Request());
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->outcome(), v1::PATCH_OUTCOME_REFUSED);
  EXPECT_EQ(refused->detail(), "I won't do that.");
}

TEST_F(BuilderTest, AnAnswerWithoutTextIsMalformedOnceAndBilledOnce) {
  server_->Enqueue(FakeReply::NullContent({.input = 1000, .output = 40}));
  server_->Enqueue(FakeReply::Content(std::string("```diff\n") + kDiff + "```\n"));
  auto response = builder_->GeneratePatch(Request());
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->outcome(), v1::PATCH_OUTCOME_MALFORMED);
  EXPECT_THAT(response->detail(), HasSubstr("content is null"));
  EXPECT_EQ(response->usage().input_tokens(), 1000);
  EXPECT_EQ(response->usage().output_tokens(), 40);
  EXPECT_EQ(response->cost_micro_usd(), 150 + 24);
  EXPECT_EQ(server_->exchanges().size(), 1u);  // not retried
}

TEST_F(BuilderTest, TheSameIdempotencyKeyIsAnsweredOnceAndBilledOnce) {
  server_->Enqueue(FakeReply::Content(std::string("```diff\n") + kDiff + "```\n",
                                      {.input = 10, .output = 10}));
  server_->Enqueue(FakeReply::Content(std::string("```diff\n") + kDiff + "```\n",
                                      {.input = 20, .output = 20}));
  v1::GeneratePatchRequest request = Request();
  request.set_idempotency_key("r1/p1/attempt-1/build");
  auto first = builder_->GeneratePatch(request);
  auto again = builder_->GeneratePatch(request);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(first->SerializeAsString(), again->SerializeAsString());
  EXPECT_EQ(server_->exchanges().size(), 1u);

  request.set_idempotency_key("r1/p1/attempt-2/build");
  auto other = builder_->GeneratePatch(request);
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->usage().input_tokens(), 20);
  EXPECT_EQ(server_->exchanges().size(), 2u);

  request.mutable_phase()->set_description("Something else.");
  EXPECT_THAT(builder_->GeneratePatch(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("r1/p1/attempt-2/build")));
}

TEST_F(BuilderTest, ProviderErrorsAreErrorsAndAreNotRemembered) {
  server_->Enqueue(FakeReply::HttpError(503, "overloaded"));
  server_->Enqueue(FakeReply::Content(std::string("```diff\n") + kDiff + "```\n"));
  v1::GeneratePatchRequest request = Request();
  request.set_idempotency_key("k");
  EXPECT_THAT(builder_->GeneratePatch(request), StatusHasCode(absl::StatusCode::kUnavailable));
  auto retried = builder_->GeneratePatch(request);
  ASSERT_THAT(retried, IsOk());
  EXPECT_EQ(retried->outcome(), v1::PATCH_OUTCOME_OK);
}

TEST_F(BuilderTest, BadRequestsAndUnknownModelsAreRejectedBeforeAnyCall) {
  v1::GeneratePatchRequest request = Request();
  request.set_model("openai/gpt-unpriced");
  EXPECT_THAT(builder_->GeneratePatch(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("openai/gpt-unpriced")));
  request = Request();
  request.set_model("nobody/model");
  EXPECT_THAT(builder_->GeneratePatch(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'nobody'")));
  request = Request();
  request.set_max_output_tokens(0);
  EXPECT_THAT(builder_->GeneratePatch(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_output_tokens")));
  request = Request();
  request.clear_phase();
  EXPECT_THAT(builder_->GeneratePatch(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("phase")));
  EXPECT_TRUE(server_->exchanges().empty());
}

TEST_F(BuilderTest, EveryEditFormatBecomesTheSameExactDiff) {
  const std::pair<v1::EditFormat, std::string> answers[] = {
      {v1::EDIT_FORMAT_UNSPECIFIED,  // SEARCH_REPLACE
       "Summary: Prints a greeting.\nhello.py\n<<<<<<< SEARCH\nimport sys\n=======\nimport sys\n"
       "print('Hello')\n>>>>>>> REPLACE\n"},
      {v1::APPLY_PATCH,
       "Summary: Prints a greeting.\n*** Begin Patch\n*** Update File: hello.py\n import sys\n"
       "+print('Hello')\n sys.exit(0)\n*** End Patch\n"},
      {v1::WHOLE_FILE, "Summary: Prints a greeting.\nhello.py\n```python\nimport sys\nprint('Hello')\nsys.exit(0)\n```\n"},
  };
  for (const auto& [format, answer] : answers) {
    server_->Enqueue(FakeReply::Content(answer));
    v1::GeneratePatchRequest request = Request();
    request.set_edit_format(format);
    auto response = builder_->GeneratePatch(request);
    ASSERT_THAT(response, IsOk());
    EXPECT_EQ(response->outcome(), v1::PATCH_OUTCOME_OK) << response->detail();
    EXPECT_EQ(response->patch(), kDiff) << v1::EditFormat_Name(format);
    EXPECT_EQ(response->summary(), "Prints a greeting.");
  }
}

}  // namespace
}  // namespace autopack::builder
