// Issue 11, must-show 1 (in part): every answer the fake provider bills is
// settled in the Supervisor's budget ledger, across the Builder's gRPC
// boundary, its internal retries and its idempotency cache. Each scenario
// scripts the fake, makes one Builder call the way the run driver does
// (reserve, call with the reservation's key, settle the answer's usage or the
// usage the error carries, else release) and compares the ledger's settled
// total with the fake's own bill, priced from the same catalog.
#include <memory>
#include <string>
#include <vector>

#include "autopack/v1/builder.grpc.pb.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "services/builder/builder.h"
#include "services/builder/builder_service.h"
#include "services/common/billed_usage.h"
#include "services/common/grpc_status.h"
#include "services/common/status_matchers.h"
#include "services/supervisor/policy/budget_ledger.h"
#include "services/supervisor/policy/policy_config.h"
#include "tests/fake_provider/fake_llm.h"

namespace autopack {
namespace {

using ::autopack::testing::FakeLlm;
using ::autopack::testing::FakeReply;
using ::autopack::testing::FakeUsage;

constexpr char kGpt4o[] = "openai/gpt-4o";
constexpr char kSonnet[] = "anthropic/claude-3-5-sonnet-20241022";

class BudgetEscapesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = policy::PolicyConfig::LoadDir("config");
    ASSERT_THAT(config, IsOk());
    config_ = std::make_unique<policy::PolicyConfig>(*std::move(config));
    auto fake = FakeLlm::Start("config/pricing.yaml", /*max_retries=*/2);
    ASSERT_THAT(fake, IsOk());
    fake_ = std::move(*fake);
    builder_ = std::make_unique<builder::Builder>(&fake_->client());
    service_ = std::make_unique<builder::BuilderServiceImpl>(builder_.get());
    grpc::ServerBuilder server_builder;
    int port = 0;
    server_builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    server_builder.RegisterService(service_.get());
    server_ = server_builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::BuilderService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    policy::BudgetLedger::Options options;
    options.run_id = "run1";
    options.limits.tiers = {{"t1", v1::Budget()}};
    options.limits.phases = {{"p1", v1::Budget()}};
    ledger_ = std::make_unique<policy::BudgetLedger>(*config_, options);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // One Builder call as the run driver makes it; returns the reservation.
  policy::Reservation CallBuilder(const std::string& model, const std::string& key = "",
                                  absl::Duration deadline = absl::Seconds(30)) {
    policy::CallRequest call{"t1", "p1", "builder", model, "tests", 50000, 2000};
    absl::StatusOr<policy::Reservation> reservation = ledger_->Reserve(call);
    EXPECT_THAT(reservation, IsOk());
    v1::GeneratePatchRequest request;
    request.mutable_phase()->set_phase_id("p1");
    request.mutable_phase()->set_description("Add a greeting");
    request.set_model(reservation->model);
    request.set_max_output_tokens(static_cast<int32_t>(reservation->output_limit));
    request.set_idempotency_key(key.empty() ? reservation->id : key);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::GeneratePatchResponse response;
    const absl::Status status = FromGrpcStatus(stub_->GeneratePatch(&context, request, &response));
    if (status.ok()) {
      EXPECT_THAT(ledger_->Settle(reservation->id, response.model_used(), response.usage()),
                  IsOk());
    } else if (HasBilledUsage(status)) {
      EXPECT_THAT(ledger_->Settle(reservation->id, reservation->model, BilledUsageOf(status)),
                  IsOk());
    } else {
      EXPECT_THAT(ledger_->Release(reservation->id), IsOk());
    }
    last_status_ = status;
    return *reservation;
  }

  // What the fake billed, priced from the catalog.
  int64_t FakeBill() const {
    int64_t total = 0;
    for (const auto& [model, u] : fake_->server().Bill()) {
      v1::TokenUsage usage;
      usage.set_input_tokens(u.input);
      usage.set_cached_input_tokens(u.cached);
      usage.set_output_tokens(u.output);
      usage.set_reasoning_tokens(u.reasoning);
      usage.set_cache_write_tokens(u.cache_write);
      absl::StatusOr<int64_t> cost = config_->prices.Cost(model, usage);
      EXPECT_THAT(cost, IsOk());
      total += cost.value_or(0);
    }
    return total;
  }

  policy::LevelTotals Run() const {
    auto totals = ledger_->Totals("run");
    EXPECT_THAT(totals, IsOk());
    return *totals;
  }

  void ExpectSettledEqualsBill() {
    const policy::LevelTotals run = Run();
    EXPECT_GT(FakeBill(), 0);
    EXPECT_EQ(run.settled_micro_usd, FakeBill());
    EXPECT_EQ(run.reserved_micro_usd, 0);
    EXPECT_TRUE(ledger_->OpenReservations().empty());
  }

  std::unique_ptr<policy::PolicyConfig> config_;
  std::unique_ptr<FakeLlm> fake_;
  std::unique_ptr<builder::Builder> builder_;
  std::unique_ptr<builder::BuilderServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::BuilderService::Stub> stub_;
  std::unique_ptr<policy::BudgetLedger> ledger_;
  absl::Status last_status_;
};

TEST_F(BudgetEscapesTest, AnsweredCall) {
  fake_->server().Enqueue(FakeReply::Content("no diff", {.input = 1200, .output = 300}));
  CallBuilder(kGpt4o);
  EXPECT_TRUE(last_status_.ok());
  ExpectSettledEqualsBill();
}

TEST_F(BudgetEscapesTest, NullContentIsOneBilledMalformedAnswer) {
  fake_->server().Enqueue(FakeReply::NullContent({.input = 1000, .output = 40}));
  fake_->server().Enqueue(FakeReply::Content("never asked for", {.input = 1100, .output = 300}));
  CallBuilder(kGpt4o);
  EXPECT_TRUE(last_status_.ok());
  EXPECT_EQ(fake_->server().exchanges().size(), 1u);
  ExpectSettledEqualsBill();
}

TEST_F(BudgetEscapesTest, BilledAnswersAcrossTheBuildersRetries) {
  fake_->server().Enqueue(FakeReply::NoChoices({.input = 1000, .output = 40}));
  fake_->server().Enqueue(FakeReply::HttpError(500, "overloaded"));
  fake_->server().Enqueue(FakeReply::Content("no diff", {.input = 1100, .output = 300}));
  CallBuilder(kGpt4o);
  EXPECT_TRUE(last_status_.ok());
  ExpectSettledEqualsBill();
}

TEST_F(BudgetEscapesTest, BilledThenFailedTravelsOnTheGrpcStatus) {
  // Billed answers the provider layer cannot use, retried until it gives up.
  for (int i = 0; i < 3; ++i) {
    fake_->server().Enqueue(FakeReply::NoChoices({.input = 900 + i, .output = 10 * i}));
  }
  CallBuilder(kGpt4o);
  EXPECT_FALSE(last_status_.ok());
  EXPECT_TRUE(HasBilledUsage(last_status_));
  ExpectSettledEqualsBill();
}

TEST_F(BudgetEscapesTest, SameKeyAgainAfterABilledFailureIsNotBilledTwice) {
  for (int i = 0; i < 3; ++i) {
    fake_->server().Enqueue(FakeReply::NoChoices({.input = 700, .output = 5}));
  }
  CallBuilder(kGpt4o, "key-1");
  const size_t calls = fake_->server().exchanges().size();
  // The answer was lost, say: the same key is asked again and gets the same
  // failure with the same usage, without a provider call.
  CallBuilder(kGpt4o, "key-1");
  EXPECT_EQ(fake_->server().exchanges().size(), calls);
  EXPECT_EQ(Run().settled_micro_usd, 2 * FakeBill());  // settled once per reservation
  EXPECT_EQ(Run().reserved_micro_usd, 0);
}

// The caller's deadline reaches the provider loop: the hanging request is cut
// before the caller gives up, and no retry starts after it.
TEST_F(BudgetEscapesTest, NoProviderRequestStartsAfterTheCallersDeadline) {
  fake_->server().Enqueue(FakeReply::Hang());
  fake_->server().Enqueue(FakeReply::Content("no diff", {.input = 1, .output = 1}));
  const absl::Time start = absl::Now();
  CallBuilder(kGpt4o, "", absl::Seconds(3));
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  absl::SleepFor(absl::Seconds(1));  // a late retry would arrive here
  const auto exchanges = fake_->server().exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_LT(exchanges[0].received, start + absl::Seconds(3));
  EXPECT_EQ(Run().settled_micro_usd, 0);
  EXPECT_TRUE(ledger_->OpenReservations().empty());
}

TEST_F(BudgetEscapesTest, AnswerWithoutUsageIsChargedItsReservation) {
  fake_->server().Enqueue(FakeReply::ContentWithoutUsage("no diff", {.input = 800, .output = 90}));
  const policy::Reservation reservation = CallBuilder(kGpt4o);
  const policy::LevelTotals run = Run();
  EXPECT_EQ(run.settled_micro_usd, reservation.worst_case_micro_usd);
  EXPECT_GE(run.settled_micro_usd, FakeBill());  // never below what was billed
  EXPECT_EQ(run.usage.unreported_answers(), 1);
  EXPECT_EQ(run.reserved_micro_usd, 0);
}

TEST_F(BudgetEscapesTest, AnthropicCacheWritesAtTheirOwnPrice) {
  fake_->server().Enqueue(
      FakeReply::Content("no diff", {.input = 500, .cached = 2000, .output = 100,
                                     .cache_write = 4000}));
  CallBuilder(kSonnet);
  ExpectSettledEqualsBill();
  EXPECT_EQ(Run().usage.cache_write_tokens(), 4000);
  // 500 x 3.00 + 2000 x 0.30 + 4000 x 3.75 + 100 x 15.00 per 1M.
  EXPECT_EQ(Run().settled_micro_usd, 1500 + 600 + 15000 + 1500);
}

}  // namespace
}  // namespace autopack
