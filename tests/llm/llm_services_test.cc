// builder_server and auditor_server as processes, configured through their
// flags to use the fake provider under three provider names (openai,
// anthropic, and "local", an openai_compatible endpoint that needs no code).
#include <stdlib.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "autopack/v1/auditor.grpc.pb.h"
#include "autopack/v1/builder.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/files.h"
#include "tests/fake_provider/fake_provider_server.h"
#include "tests/fake_provider/openai_schema.h"
#include "tests/testing/server_process.h"

namespace autopack {
namespace {

using ::autopack::testing::FakeProviderServer;
using ::autopack::testing::FakeReply;
using ::autopack::testing::RecordedExchange;
using ::autopack::testing::ServerProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A key-shaped secret the servers must never print.
constexpr char kKey[] = "sk-live-7c1e9a04b2d84f36a5e0c9d1secret";

std::string TempPath(const std::string& name) {
  return absl::StrCat(getenv("TEST_TMPDIR"), "/", name);
}

class LlmServicesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { exchanges_ = new std::vector<RecordedExchange>; }
  static void TearDownTestSuite() {
    // Every OpenAI-format request the servers sent, and every answer they parsed.
    const absl::Status schema = testing::ValidateOpenAiExchanges(*exchanges_);
    EXPECT_TRUE(schema.ok()) << schema;
    delete exchanges_;
  }

  void SetUp() override {
    auto fake = FakeProviderServer::Start();
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = std::move(*fake);
    const std::string url = fake_->base_url();
    ASSERT_TRUE(WriteFileAtomically(TempPath("providers.yaml"), absl::StrCat(R"(
providers:
  openai:
    kind: openai
    base_url: )", url, R"(/v1
    api_key_env: AUTOPACK_TEST_OPENAI_KEY
    max_retries: 0
  anthropic:
    kind: anthropic
    base_url: )", url, R"(
    api_key_env: AUTOPACK_TEST_ANTHROPIC_KEY
    max_retries: 1
    backoff_base_seconds: 0.01
  local:
    kind: openai_compatible
    base_url: )", url, R"(/v1
    max_retries: 0
)")).ok());
    auto pricing = ReadFile("config/pricing.yaml");
    ASSERT_TRUE(pricing.ok()) << pricing.status();
    ASSERT_TRUE(WriteFileAtomically(TempPath("pricing.yaml"),
                                    *pricing + R"(
  local/llama-3-70b:
    context_window: 8192
    max_output_tokens: 4096
    input_per_1m: 0.50
    output_per_1m: 1.00
)")
                    .ok());
    const std::vector<std::string> env = {absl::StrCat("AUTOPACK_TEST_OPENAI_KEY=", kKey),
                                          absl::StrCat("AUTOPACK_TEST_ANTHROPIC_KEY=", kKey)};
    const std::vector<std::string> flags = {"--listen=127.0.0.1:0",
                                            "--providers_config=" + TempPath("providers.yaml"),
                                            "--pricing_config=" + TempPath("pricing.yaml")};
    auto builder = ServerProcess::Start("services/builder/builder_server", flags, env);
    ASSERT_TRUE(builder.ok()) << builder.status();
    builder_ = std::move(*builder);
    std::vector<std::string> auditor_flags = flags;
    auditor_flags.push_back("--auditor_config=config/auditor.yaml");
    auto auditor = ServerProcess::Start("services/auditor/auditor_server", auditor_flags, env);
    ASSERT_TRUE(auditor.ok()) << auditor.status();
    auditor_ = std::move(*auditor);
    builder_stub_ = v1::BuilderService::NewStub(
        grpc::CreateChannel(builder_->address(), grpc::InsecureChannelCredentials()));
    auditor_stub_ = v1::AuditorService::NewStub(
        grpc::CreateChannel(auditor_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    const auto exchanges = fake_->exchanges();
    exchanges_->insert(exchanges_->end(), exchanges.begin(), exchanges.end());
    // The key may reach the provider, nowhere else.
    for (const ServerProcess* process : {builder_.get(), auditor_.get()}) {
      if (process != nullptr) {
        EXPECT_THAT(process->Log(), Not(HasSubstr(kKey)));
      }
    }
  }

  grpc::Status Generate(const v1::GeneratePatchRequest& request,
                        v1::GeneratePatchResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    return builder_stub_->GeneratePatch(&context, request, response);
  }

  grpc::Status Review(const v1::ReviewPatchRequest& request, v1::ReviewPatchResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    return auditor_stub_->ReviewPatch(&context, request, response);
  }

  static v1::GeneratePatchRequest PatchRequest(const std::string& model) {
    v1::GeneratePatchRequest request;
    request.mutable_phase()->set_phase_id("p1");
    request.mutable_phase()->set_name("greet");
    request.mutable_phase()->set_description("Print a greeting.");
    request.mutable_phase()->add_acceptance_criteria("prints Hello");
    request.set_model(model);
    request.set_max_output_tokens(4000);
    request.set_run_id("run-1");
    request.set_edit_format(v1::UNIFIED_DIFF);
    return request;
  }

  static v1::ReviewPatchRequest ReviewRequest(const std::string& patch, const std::string& model) {
    v1::ReviewPatchRequest request;
    request.mutable_phase()->set_phase_id("p1");
    request.mutable_phase()->set_description("Print a greeting.");
    request.set_patch(patch);
    request.set_model(model);
    request.set_max_output_tokens(2000);
    return request;
  }

  static std::vector<RecordedExchange>* exchanges_;
  std::unique_ptr<FakeProviderServer> fake_;
  std::unique_ptr<ServerProcess> builder_;
  std::unique_ptr<ServerProcess> auditor_;
  std::unique_ptr<v1::BuilderService::Stub> builder_stub_;
  std::unique_ptr<v1::AuditorService::Stub> auditor_stub_;
};

std::vector<RecordedExchange>* LlmServicesTest::exchanges_ = nullptr;

constexpr char kDiff[] =
    "diff --git a/hello.py b/hello.py\n"
    "new file mode 100644\n"
    "--- /dev/null\n"
    "+++ b/hello.py\n"
    "@@ -0,0 +1,2 @@\n"
    "+import sys\n"
    "+print('Hello')\n";

TEST_F(LlmServicesTest, GeneratePatchReturnsTheDiffUsageAndExactCost) {
  fake_->Enqueue(FakeReply::Content(
      std::string("Summary: Adds hello.py.\n```diff\n") + kDiff + "```\n",
      {.input = 30000, .cached = 10000, .output = 1500, .reasoning = 500}));
  v1::GeneratePatchResponse response;
  const grpc::Status status = Generate(PatchRequest("openai/gpt-4o"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.outcome(), v1::PATCH_OUTCOME_OK) << response.detail();
  EXPECT_EQ(response.patch(), kDiff);
  EXPECT_EQ(response.summary(), "Adds hello.py.");
  EXPECT_THAT(response.files_touched(), ElementsAre("hello.py"));
  EXPECT_EQ(response.usage().input_tokens(), 30000);
  EXPECT_EQ(response.usage().cached_input_tokens(), 10000);
  EXPECT_EQ(response.usage().output_tokens(), 1500);
  EXPECT_EQ(response.usage().reasoning_tokens(), 500);
  // gpt-4o: 30000·$2.50 + 10000·$1.25 + 2000·$10.00 per 1M tokens.
  EXPECT_EQ(response.cost_micro_usd(), 75000 + 12500 + 20000);
  EXPECT_EQ(response.model_used(), "openai/gpt-4o");
  const RecordedExchange sent = fake_->exchanges().at(0);
  EXPECT_EQ(sent.headers.at("authorization"), std::string("Bearer ") + kKey);
  EXPECT_THAT(sent.request_body, HasSubstr("prints Hello"));
}

TEST_F(LlmServicesTest, AMalformedDiffIsMalformedWithAReason) {
  fake_->Enqueue(FakeReply::Content(
      "```diff\n--- /dev/null\n+++ b/hello.py\n@@ -0,0 +1,x @@\n+import sys\n+print('Hello')\n```\n",
      {.input = 100, .output = 20}));
  v1::GeneratePatchResponse response;
  ASSERT_TRUE(Generate(PatchRequest("openai/gpt-4o-mini"), &response).ok());
  EXPECT_EQ(response.outcome(), v1::PATCH_OUTCOME_MALFORMED);
  EXPECT_THAT(response.detail(), HasSubstr("patch line 3: malformed hunk header `@@ -0,0 +1,x @@`"));
  EXPECT_TRUE(response.patch().empty());
  EXPECT_EQ(response.usage().input_tokens(), 100);
}

TEST_F(LlmServicesTest, ARetriedGeneratePatchWithTheSameKeyIsNotBilledTwice) {
  fake_->Enqueue(FakeReply::Content(std::string("```diff\n") + kDiff + "```\n",
                                    {.input = 10, .output = 10}));
  v1::GeneratePatchRequest request = PatchRequest("openai/gpt-4o-mini");
  request.set_idempotency_key("run-1/p1/1/build");
  v1::GeneratePatchResponse first, second;
  ASSERT_TRUE(Generate(request, &first).ok());
  ASSERT_TRUE(Generate(request, &second).ok());
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  EXPECT_EQ(fake_->exchanges().size(), 1u);
}

TEST_F(LlmServicesTest, ReviewPatchBlocksWorkflowEditsAndAwsKeysWhateverTheModelSays) {
  const std::string approve = R"({"summary":"Fine.","approve":true,"issues":[]})";
  const std::string workflow =
      "diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml\n"
      "--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n"
      "@@ -1,2 +1,3 @@\n on: push\n+  # skip tests\n jobs: {}\n";
  // git's escape `\143` is 'c': this is tests/conftest.py (config/auditor.yaml protects it).
  const std::string escaped_conftest =
      "diff --git \"a/tests/\\143onftest.py\" \"b/tests/\\143onftest.py\"\n"
      "--- \"a/tests/\\143onftest.py\"\n+++ \"b/tests/\\143onftest.py\"\n"
      "@@ -1 +1,2 @@\n import pytest\n+pytest.skip(allow_module_level=True)\n";
  const std::string aws_key =
      "diff --git a/app/settings.py b/app/settings.py\n"
      "--- a/app/settings.py\n+++ b/app/settings.py\n"
      "@@ -1 +1,2 @@\n DEBUG = False\n+AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'\n";
  for (const auto& [patch, category] : {std::make_pair(workflow, "protected_path"),
                                        std::make_pair(escaped_conftest, "protected_path"),
                                        std::make_pair(aws_key, "secret")}) {
    for (const std::string model : {"openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-20241022"}) {
      fake_->Enqueue(FakeReply::Content(approve, {.input = 500, .output = 20}));
      v1::ReviewPatchResponse response;
      const grpc::Status status = Review(ReviewRequest(patch, model), &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_EQ(response.issues_size(), 1) << model << " " << category;
      EXPECT_EQ(response.issues(0).category(), category);
      EXPECT_EQ(response.issues(0).severity(), v1::SEVERITY_MAJOR);
      EXPECT_EQ(response.issues(0).source(), v1::ISSUE_SOURCE_STATIC);
      EXPECT_FALSE(response.issues(0).fingerprint().empty());
      EXPECT_FALSE(response.approved()) << model;
      EXPECT_FALSE(response.llm_skipped());
      EXPECT_EQ(response.summary(), "Fine.");
      EXPECT_GT(response.cost_micro_usd(), 0);
      EXPECT_THAT(response.issues(0).message(), Not(HasSubstr("AKIAIOSFODNN7EXAMPLE")));
    }
  }
  EXPECT_EQ(fake_->exchanges().size(), 6u);
}

// A Latin-1 file through the Builder and the Auditor over gRPC: the bytes
// travel in `bytes` fields, the prompt's JSON carries U+FFFD for them, and
// the model's search/replace (quoting what it saw) becomes an exact diff.
TEST_F(LlmServicesTest, ANonUtf8FileIsPatchedByteExactlyAndAnAnswerCutInACharacterIsFine) {
  fake_->Enqueue(FakeReply::Content(
      "Summary: " + std::string(600, 'x').replace(499, 2, "\xc3\xa9") +
          "\nmenu.txt\n<<<<<<< SEARCH\ncaf\xef\xbf\xbd\ntea\n=======\ncaf\xef\xbf\xbd\ncoffee\n>>>>>>> REPLACE\n",
      {.input = 100, .output = 20}));
  v1::GeneratePatchRequest request = PatchRequest("openai/gpt-4o-mini");
  request.clear_edit_format();
  v1::ContextFile* file = request.add_context_files();
  file->set_path("menu.txt");
  file->set_content("caf\xe9\ntea\n");
  v1::GeneratePatchResponse response;
  const grpc::Status status = Generate(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outcome(), v1::PATCH_OUTCOME_OK) << response.detail();
  EXPECT_EQ(response.patch(), "diff --git a/menu.txt b/menu.txt\n--- a/menu.txt\n+++ b/menu.txt\n"
                              "@@ -1,2 +1,2 @@\n caf\xe9\n-tea\n+coffee\n");
  EXPECT_EQ(response.summary(), std::string(499, 'x'));  // cut before the 2-byte character
  EXPECT_THAT(fake_->exchanges().at(0).request_body, HasSubstr("caf\xef\xbf\xbd"));

  fake_->Enqueue(FakeReply::Content(R"({"summary":"ok","approve":true,"issues":[]})", {.input = 10, .output = 5}));
  v1::ReviewPatchRequest review_request = ReviewRequest(response.patch(), "openai/gpt-4o-mini");
  *review_request.add_context_files() = *file;
  v1::ReviewPatchResponse review;
  const grpc::Status reviewed = Review(review_request, &review);
  ASSERT_TRUE(reviewed.ok()) << reviewed.error_message();
  EXPECT_TRUE(review.approved());
}

TEST_F(LlmServicesTest, AnOpenAiCompatibleEndpointNeedsOnlyConfiguration) {
  fake_->Enqueue(FakeReply::Content(std::string("```diff\n") + kDiff + "```\n",
                                    {.input = 2000, .output = 1000}));
  fake_->Enqueue(FakeReply::Content(R"({"summary":"ok","approve":true,"issues":[]})",
                                    {.input = 1000, .output = 10}));
  v1::GeneratePatchResponse patch;
  ASSERT_TRUE(Generate(PatchRequest("local/llama-3-70b"), &patch).ok());
  EXPECT_EQ(patch.outcome(), v1::PATCH_OUTCOME_OK);
  EXPECT_EQ(patch.cost_micro_usd(), 1000 + 1000);  // $0.50 and $1.00 per 1M
  v1::ReviewPatchResponse review;
  ASSERT_TRUE(Review(ReviewRequest(kDiff, "local/llama-3-70b"), &review).ok());
  EXPECT_TRUE(review.approved());
  for (const RecordedExchange& sent : fake_->exchanges()) {
    EXPECT_EQ(sent.path, "/v1/chat/completions");
    EXPECT_EQ(sent.headers.count("authorization"), 0u);  // this endpoint has no key
    const nlohmann::json body = nlohmann::json::parse(sent.request_body);
    EXPECT_EQ(body["model"], "llama-3-70b");
    EXPECT_EQ(body.count("max_tokens"), 1u);
  }
}

TEST_F(LlmServicesTest, ProviderErrorsMapToStatusCodesAndNeverCarryTheKey) {
  // OpenAI (no retries): a rejected key, echoed by the provider.
  fake_->Enqueue(FakeReply::HttpError(401, absl::StrCat("Incorrect API key provided: ", kKey)));
  v1::GeneratePatchResponse patch;
  grpc::Status status = Generate(PatchRequest("openai/gpt-4o"), &patch);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), AllOf(HasSubstr("401"), Not(HasSubstr(kKey))));
  // Anthropic (one retry, logged): overloaded twice, the key echoed each time.
  fake_->Enqueue(FakeReply::HttpError(529, absl::StrCat("overloaded for ", kKey)));
  fake_->Enqueue(FakeReply::HttpError(529, absl::StrCat("overloaded for ", kKey)));
  v1::ReviewPatchResponse review;
  status = Review(ReviewRequest(kDiff, "anthropic/claude-3-5-haiku-20241022"), &review);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), AllOf(HasSubstr("overloaded"), Not(HasSubstr(kKey))));
  EXPECT_THAT(auditor_->Log(), HasSubstr("retrying"));
  // TearDown checks both servers' logs for the key.
}

TEST_F(LlmServicesTest, UnknownModelsAreInvalidArgumentNamingThem) {
  v1::GeneratePatchResponse patch;
  grpc::Status status = Generate(PatchRequest("openai/gpt-7"), &patch);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("openai/gpt-7"));
  v1::ReviewPatchResponse review;
  status = Review(ReviewRequest(kDiff, "mystery/model"), &review);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("mystery"));
  EXPECT_TRUE(fake_->exchanges().empty());
}

TEST(LlmServicesConfigTest, AnInvalidConfigStopsTheServerBeforeItListens) {
  const std::string broken = TempPath("broken_providers.yaml");
  ASSERT_TRUE(WriteFileAtomically(broken,
                                  "providers:\n  openai:\n    kind: openai\n"
                                  "    base_url: https://api.openai.com/v1\n"
                                  "    api_key_env: OPENAI_API_KEY\n    max_retries: many\n")
                  .ok());
  for (const std::string binary :
       {"services/builder/builder_server", "services/auditor/auditor_server"}) {
    std::vector<std::string> flags = {"--listen=127.0.0.1:0", "--providers_config=" + broken,
                                      "--pricing_config=config/pricing.yaml"};
    if (absl::StrContains(binary, "auditor")) flags.push_back("--auditor_config=config/auditor.yaml");
    auto process = ServerProcess::Start(binary, flags);
    ASSERT_FALSE(process.ok()) << binary;
    EXPECT_THAT(std::string(process.status().message()),
                AllOf(HasSubstr("exited before listening"), HasSubstr("broken_providers.yaml:6"),
                      HasSubstr("providers.openai.max_retries")));
  }
  auto missing = ServerProcess::Start(
      "services/auditor/auditor_server",
      {"--listen=127.0.0.1:0", "--providers_config=config/providers.yaml",
       "--pricing_config=config/pricing.yaml",
       "--auditor_config=" + TempPath("no_such_auditor.yaml")});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              AllOf(HasSubstr("NOT_FOUND"), HasSubstr("no_such_auditor.yaml")));
}

}  // namespace
}  // namespace autopack
