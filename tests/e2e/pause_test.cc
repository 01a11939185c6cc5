// Must show 3 of issue 11: a run that reaches a cap pauses with nothing
// reserved and its branch intact; `autopackctl budget` raises the cap (as the
// run's creator: another caller may not), and the run goes on from where it
// stopped to DONE_SUCCESS, within the new cap.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/suite.h"

namespace autopack::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(PauseTest, ARunPausedAtItsCapResumesWhenTheCapIsRaisedAndEndsWithinIt) {
  auto suite = Suite::Start("pause", NotesAnswers(2));
  ASSERT_TRUE(suite.ok()) << suite.status();
  auto repo = (*suite)->MakeRepo("repo");
  ASSERT_TRUE(repo.ok()) << repo.status();
  auto supervisor = (*suite)->StartSupervisor("sqlite:" + (*suite)->dir() + "/pause.db");
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  auto alice = (*suite)->SupervisorStub(**supervisor, "alice");

  // p2's cap is below the smallest call the ledger allows: p1 completes, then
  // the run pauses before p2's first model call.
  v1::RunSpec spec = NotesSpec("paused", *repo, 1, 2);
  spec.mutable_tiers(0)->mutable_phases(1)->mutable_budget()->set_max_tokens(2000);
  {
    grpc::ClientContext context;
    v1::CreateRunRequest request;
    *request.mutable_spec() = spec;
    v1::CreateRunResponse response;
    const grpc::Status created = alice->CreateRun(&context, request, &response);
    ASSERT_TRUE(created.ok()) << created.error_message();
  }
  auto paused = WaitForRunState(alice.get(), "paused", v1::RUN_STATE_PAUSED_BUDGET, absl::Minutes(2));
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_THAT(paused->state_reason(), HasSubstr("2000"));
  EXPECT_EQ(paused->usage().reserved_tokens(), 0);
  EXPECT_EQ(paused->usage().reserved_micro_usd(), 0);
  EXPECT_EQ(paused->tiers(0).phases(0).state(), v1::PHASE_STATE_COMPLETE);
  EXPECT_EQ(paused->tiers(0).phases(1).state(), v1::PHASE_STATE_BUDGET_EXHAUSTED);
  const std::string workspace = (*suite)->workspace_root() + "/paused/repo";
  auto subjects = CommitSubjects(workspace);
  ASSERT_TRUE(subjects.ok()) << subjects.status();
  EXPECT_THAT(*subjects, ElementsAre(StartsWith("autopack: p1 note 1")));
  // It stays paused: nothing is driven until a caller raises the cap.
  absl::SleepFor(absl::Milliseconds(500));
  {
    grpc::ClientContext context;
    v1::GetRunRequest request;
    request.set_run_id("paused");
    v1::Run run;
    ASSERT_TRUE(alice->GetRun(&context, request, &run).ok());
    EXPECT_EQ(run.state(), v1::RUN_STATE_PAUSED_BUDGET);
  }

  // Another submitter may not raise Alice's budget.
  {
    auto bob = (*suite)->SupervisorStub(**supervisor, "bob");
    grpc::ClientContext context;
    v1::RaiseBudgetRequest request;
    request.set_run_id("paused");
    (*request.mutable_phases())["p2"].set_max_tokens(1000000);
    v1::Run run;
    EXPECT_EQ(bob->RaiseBudget(&context, request, &run).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // Alice raises it with the command line.
  const std::string token_file = (*suite)->dir() + "/alice.token";
  std::ofstream(token_file) << (*suite)->Token("alice");
  constexpr int64_t kRaised = 80000;
  auto raised = Shell(absl::StrCat(
      "cli/autopackctl --supervisor=", (*supervisor)->address(),
      " --tls_ca=", (*suite)->pki("ca.pem"), " --token_file=", token_file,
      " budget paused --phase=p2 --max-tokens=", kRaised, " 2>&1"));
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_THAT(*raised, HasSubstr("paused"));

  auto done = WaitForRunEnd(alice.get(), "paused", absl::Minutes(2));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::RUN_STATE_DONE_SUCCESS) << done->state_reason();
  EXPECT_EQ(done->spec().tiers(0).phases(1).budget().max_tokens(), kRaised);
  const v1::UsageLine& p2 = done->tiers(0).phases(1).usage();
  EXPECT_GT(p2.calls(), 0);
  const int64_t p2_tokens = p2.usage().input_tokens() + p2.usage().cached_input_tokens() +
                            p2.usage().output_tokens() + p2.usage().reasoning_tokens();
  EXPECT_LE(p2_tokens, kRaised);
  EXPECT_EQ(done->usage().reserved_tokens(), 0);
  // Same branch, p1 not redone, p2's paused attempt went on.
  EXPECT_EQ(done->branch(), paused->branch());
  EXPECT_EQ(done->tiers(0).phases(1).attempts(), 1);
  subjects = CommitSubjects(workspace);
  ASSERT_TRUE(subjects.ok()) << subjects.status();
  EXPECT_THAT(*subjects, ElementsAre(StartsWith("autopack: p1 note 1"),
                                     StartsWith("autopack: p2 note 2")));
}

}  // namespace
}  // namespace autopack::testing
