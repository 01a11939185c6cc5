// Must show (issue 6): a supervisor killed with SIGKILL at many different
// points of a multi-phase run and restarted finishes the run with exactly one
// commit per phase and a ledger equal to what the provider billed.
#include <signal.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/suite.h"

namespace autopack::testing {
namespace {

using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr int kTiers = 2;
constexpr int kPhasesPerTier = 2;
constexpr int kPhases = kTiers * kPhasesPerTier;

v1::UsageReport Usage(v1::SupervisorService::Stub* stub, const std::string& run_id) {
  grpc::ClientContext context;
  v1::GetUsageRequest request;
  request.set_run_id(run_id);
  v1::UsageReport report;
  const grpc::Status status = stub->GetUsage(&context, request, &report);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return report;
}

int64_t Tokens(const v1::TokenUsage& u) {
  return u.input_tokens() + u.cached_input_tokens() + u.output_tokens() + u.reasoning_tokens();
}

// Each point is STEP:N, the N-th checkpoint of that name in the process:
// before every kind of side effect, and between an answer and its commit.
class CrashTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    auto suite = Suite::Start("crash", NotesAnswers(kPhases));
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
    auto repo = suite_->MakeRepo("repo");
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_ = new std::string(*repo);
  }
  static void TearDownTestSuite() {
    delete suite_;
    delete repo_;
  }
  static Suite* suite_;
  static std::string* repo_;
};
Suite* CrashTest::suite_ = nullptr;
std::string* CrashTest::repo_ = nullptr;

TEST_P(CrashTest, KilledAndRestartedSupervisorFinishesTheRunExactlyOnce) {
  std::string run_id = "crash-" + GetParam();
  std::replace(run_id.begin(), run_id.end(), ':', '-');
  std::replace(run_id.begin(), run_id.end(), '_', '-');
  const std::string store = "sqlite:" + suite_->dir() + "/" + run_id + ".db";
  const int64_t billed_before = BilledTokens(suite_->fake());

  auto doomed = suite_->StartSupervisor(store, {"--crash_before=" + GetParam()});
  ASSERT_TRUE(doomed.ok()) << doomed.status();
  {
    auto stub = suite_->SupervisorStub(**doomed);
    grpc::ClientContext context;
    v1::CreateRunRequest request;
    *request.mutable_spec() = NotesSpec(run_id, *repo_, kTiers, kPhasesPerTier);
    v1::CreateRunResponse response;
    const grpc::Status status = stub->CreateRun(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // Signal 0 only waits: the process kills itself at the checkpoint.
  auto exit_code = (*doomed)->Stop(0, absl::Seconds(60));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 128 + SIGKILL) << (*doomed)->Log();
  EXPECT_TRUE(absl::StrContains((*doomed)->Log(), "crash_before: killing this process"));

  auto restarted = suite_->StartSupervisor(store);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  auto stub = suite_->SupervisorStub(**restarted);
  auto run = WaitForRunEnd(stub.get(), run_id, absl::Seconds(90));
  ASSERT_TRUE(run.ok()) << run.status() << (*restarted)->Log();
  EXPECT_EQ(run->state(), v1::RUN_STATE_DONE_SUCCESS) << run->state_reason();

  // Exactly one commit per phase, in order.
  auto subjects = CommitSubjects(suite_->workspace_root() + "/" + run_id + "/repo");
  ASSERT_TRUE(subjects.ok()) << subjects.status();
  ASSERT_THAT(*subjects, SizeIs(kPhases));
  for (int i = 0; i < kPhases; ++i) {
    EXPECT_THAT((*subjects)[i], StartsWith(absl::StrCat("autopack: p", i + 1, " note ", i + 1)));
  }
  // The ledger holds exactly what the provider billed: nothing twice, nothing lost,
  // nothing left reserved.
  const v1::UsageReport usage = Usage(stub.get(), run_id);
  EXPECT_EQ(Tokens(usage.total().usage()), BilledTokens(suite_->fake()) - billed_before);
  EXPECT_EQ(usage.total().reserved_tokens(), 0);
  EXPECT_EQ(usage.total().reserved_micro_usd(), 0);
  EXPECT_EQ(usage.total().calls(), 2 * kPhases);
  auto stopped = (*restarted)->Stop(SIGTERM, absl::Seconds(10));
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0);
}

INSTANTIATE_TEST_SUITE_P(
    EveryKindOfStep, CrashTest,
    ::testing::Values("open_workspace:1", "generate_patch:1", "record_build:1",
                      "review_patch:1", "record_review:2", "apply_patch:1", "record_apply:1",
                      "run_checks:1", "record_checks:2", "generate_patch:3", "apply_patch:4",
                      "record_checks:4"),
    [](const auto& info) {
      std::string name = info.param;
      for (char& c : name) {
        if (c == ':') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace autopack::testing
