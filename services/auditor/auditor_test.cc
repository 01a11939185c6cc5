#include "services/auditor/auditor.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/status_matchers.h"
#include "tests/fake_provider/fake_llm.h"
#include "tests/fake_provider/openai_schema.h"

namespace autopack::auditor {
namespace {

using ::autopack::testing::FakeReply;
using ::testing::HasSubstr;

constexpr char kCleanPatch[] =
    "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1,2 @@\n x\n+y = 1\n";
constexpr char kApprove[] = R"({"summary":"Looks good.","approve":true,"issues":[]})";

class AuditorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = testing::FakeLlm::Start();
    ASSERT_THAT(fake, IsOk());
    fake_ = std::move(*fake);
    auto config = AuditorConfig::LoadFile("config/auditor.yaml");
    ASSERT_THAT(config, IsOk());
    auditor_ = std::make_unique<Auditor>(&fake_->client(), *config);
  }

  void TearDown() override {
    const auto exchanges = fake_->server().exchanges();
    bool openai = false;
    for (const auto& exchange : exchanges) openai = openai || exchange.openai;
    if (openai) {
      EXPECT_THAT(testing::ValidateOpenAiExchanges(exchanges), IsOk());
    }
  }

  static v1::ReviewPatchRequest Request(const std::string& patch,
                                        const std::string& model = "openai/gpt-4o") {
    v1::ReviewPatchRequest request;
    request.mutable_phase()->set_phase_id("p1");
    request.mutable_phase()->set_description("Set y.");
    request.set_patch(patch);
    request.set_model(model);
    request.set_max_output_tokens(1000);
    return request;
  }

  std::unique_ptr<testing::FakeLlm> fake_;
  std::unique_ptr<Auditor> auditor_;
};

TEST_F(AuditorTest, ModelIssuesDecideWhenNoStaticIssue) {
  fake_->server().Enqueue(FakeReply::Content(
      R"({"summary":"One bug.","approve":true,"issues":[{"severity":"major","category":"bug",
          "path":"app.py","line":2,"message":"y is never used","suggestion":"use it"}]})",
      {.input = 2000, .output = 100}));
  auto response = auditor_->ReviewPatch(Request(kCleanPatch));
  ASSERT_THAT(response, IsOk());
  ASSERT_EQ(response->issues_size(), 1);
  EXPECT_EQ(response->issues(0).source(), v1::ISSUE_SOURCE_LLM);
  // The model said approve, but it raised a MAJOR issue.
  EXPECT_FALSE(response->approved());
  EXPECT_EQ(response->summary(), "One bug.");
  EXPECT_EQ(response->cost_micro_usd(), 5000 + 1000);  // gpt-4o
  EXPECT_EQ(response->model_used(), "openai/gpt-4o");
  EXPECT_FALSE(response->llm_skipped());
  const nlohmann::json body =
      nlohmann::json::parse(fake_->server().exchanges().at(0).request_body);
  EXPECT_EQ(body["response_format"]["json_schema"]["name"], "patch_review");
}

TEST_F(AuditorTest, StaticMajorIssuesCannotBeOverruledByTheModel) {
  for (const std::string model : {"openai/gpt-4o", "anthropic/claude-3-5-sonnet-20241022"}) {
    fake_->server().Enqueue(FakeReply::Content(kApprove, {.input = 10, .output = 5}));
    auto response = auditor_->ReviewPatch(
        Request("diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml\n"
                "--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n"
                "@@ -1 +1,2 @@\n on: push\n+# AKIAIOSFODNN7EXAMPLE\n",
                model));
    ASSERT_THAT(response, IsOk()) << model;
    ASSERT_EQ(response->issues_size(), 2) << model;
    EXPECT_EQ(response->issues(0).category(), "protected_path");
    EXPECT_EQ(response->issues(1).category(), "secret");
    for (const v1::Issue& issue : response->issues()) {
      EXPECT_EQ(issue.severity(), v1::SEVERITY_MAJOR);
      EXPECT_EQ(issue.source(), v1::ISSUE_SOURCE_STATIC);
    }
    EXPECT_FALSE(response->approved()) << model;
    EXPECT_EQ(response->summary(), "Looks good.");
  }
}

TEST_F(AuditorTest, AnUnparseablePatchSkipsTheModel) {
  auto response = auditor_->ReviewPatch(Request("not a diff"));
  ASSERT_THAT(response, IsOk());
  EXPECT_TRUE(response->llm_skipped());
  EXPECT_FALSE(response->approved());
  EXPECT_EQ(response->issues(0).category(), "unparseable_patch");
  EXPECT_EQ(response->cost_micro_usd(), 0);
  EXPECT_TRUE(fake_->server().exchanges().empty());
}

TEST_F(AuditorTest, AnUnusableModelAnswerIsAMajorIssueNotAnApproval) {
  fake_->server().Enqueue(FakeReply::Truncated(R"({"summary":"Looks)", {.input = 5, .output = 1000}));
  fake_->server().Enqueue(FakeReply::Refusal("No."));
  fake_->server().Enqueue(FakeReply::Content(R"({"approve":true})"));
  for (const char* why : {"output limit", "declined", "schema"}) {
    auto response = auditor_->ReviewPatch(Request(kCleanPatch));
    ASSERT_THAT(response, IsOk());
    ASSERT_EQ(response->issues_size(), 1);
    EXPECT_EQ(response->issues(0).category(), "review_failed");
    EXPECT_THAT(response->issues(0).message(), HasSubstr(why));
    EXPECT_FALSE(response->approved());
  }
}

TEST_F(AuditorTest, CleanPatchAndCleanReviewIsApprovedAndIdempotent) {
  fake_->server().Enqueue(FakeReply::Content(kApprove, {.input = 10, .output = 5}));
  v1::ReviewPatchRequest request = Request(kCleanPatch);
  request.set_idempotency_key("r1/p1/1/audit");
  auto first = auditor_->ReviewPatch(request);
  auto again = auditor_->ReviewPatch(request);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(first->approved());
  EXPECT_EQ(first->SerializeAsString(), again->SerializeAsString());
  EXPECT_EQ(fake_->server().exchanges().size(), 1u);
}

TEST_F(AuditorTest, BadRequests) {
  v1::ReviewPatchRequest request = Request(kCleanPatch);
  request.set_auditor_profile("vibes_review");
  EXPECT_THAT(auditor_->ReviewPatch(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vibes_review")));
  EXPECT_THAT(auditor_->ReviewPatch(Request(kCleanPatch, "openai/unpriced")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("openai/unpriced")));
  EXPECT_THAT(auditor_->ReviewPatch(Request("")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("patch")));
}

}  // namespace
}  // namespace autopack::auditor
