// State-machine tests of the run loop: a real SQLite store and the shipped
// policy, with the three services replaced by generated gMock stubs.
#include "services/supervisor/run_driver.h"

#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "autopack/v1/auditor_mock.grpc.pb.h"
#include "autopack/v1/builder_mock.grpc.pb.h"
#include "autopack/v1/gitadapter_mock.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "absl/time/clock.h"
#include "services/common/billed_usage.h"
#include "services/common/grpc_status.h"
#include "services/common/status_matchers.h"
#include "services/supervisor/store/sqlite_store.h"

namespace autopack::supervisor {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::NiceMock;
using ::testing::Return;

constexpr char kBase[] = "0000000000000000000000000000000000000base";

class RunDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policy = policy::PolicyConfig::LoadDir("config");
    ASSERT_THAT(policy, IsOk());
    policy_ = std::make_unique<policy::PolicyConfig>(std::move(*policy));
    const std::string path = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db");
    auto store = OpenSqliteStore(path);
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    PeerOptions peer_options;
    peer_options.sleep = [](absl::Duration) {};
    peers_ = std::make_unique<Peers>(builder_, auditor_, git_, peer_options);

    ON_CALL(*git_, OpenWorkspace(_, _, _))
        .WillByDefault(Invoke([](grpc::ClientContext*, const v1::OpenWorkspaceRequest& r,
                                 v1::OpenWorkspaceResponse* out) {
          out->set_workspace_id(r.workspace_id());
          out->set_branch("autopack/" + r.run_id());
          out->set_base_sha(kBase);
          out->set_head_sha(kBase);
          return grpc::Status::OK;
        }));
    ON_CALL(*git_, ReadFiles(_, _, _))
        .WillByDefault(Invoke([](grpc::ClientContext*, const v1::ReadFilesRequest&,
                                 v1::ReadFilesResponse* out) {
          v1::ContextFile* f = out->add_files();
          f->set_path("hello/greet.py");
          f->set_content("def greet(name):\n    return f'Hello, {name}!'\n");
          return grpc::Status::OK;
        }));
    ON_CALL(*builder_, GeneratePatch(_, _, _))
        .WillByDefault(Invoke([this](grpc::ClientContext*, const v1::GeneratePatchRequest& r,
                                     v1::GeneratePatchResponse* out) {
          builder_requests_.push_back(r);
          out->set_outcome(v1::PATCH_OUTCOME_OK);
          out->set_patch("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
          out->set_summary("change x");
          out->set_model_used(r.model());
          out->mutable_usage()->set_input_tokens(call_input_tokens_);
          out->mutable_usage()->set_output_tokens(200);
          return grpc::Status::OK;
        }));
    ON_CALL(*auditor_, ReviewPatch(_, _, _))
        .WillByDefault(Invoke([this](grpc::ClientContext*, const v1::ReviewPatchRequest& r,
                                     v1::ReviewPatchResponse* out) {
          review_requests_.push_back(r);
          out->set_approved(true);
          out->set_model_used(r.model());
          out->mutable_usage()->set_input_tokens(call_input_tokens_);
          out->mutable_usage()->set_output_tokens(100);
          return grpc::Status::OK;
        }));
    ON_CALL(*git_, ApplyPatch(_, _, _))
        .WillByDefault(Invoke([this](grpc::ClientContext*, const v1::ApplyPatchRequest& r,
                                     v1::ApplyPatchResponse* out) {
          apply_requests_.push_back(r);
          out->set_commit_sha(absl::StrCat("commit-", apply_requests_.size()));
          return grpc::Status::OK;
        }));
    ON_CALL(*git_, RunChecks(_, _, _))
        .WillByDefault(Invoke([](grpc::ClientContext*, const v1::RunChecksRequest&,
                                 v1::RunChecksResponse* out) {
          out->mutable_result()->set_passed(true);
          out->mutable_result()->set_sandboxed(true);
          out->mutable_result()->set_output_tail("3 passed in 0.01s");
          return grpc::Status::OK;
        }));
    ON_CALL(*git_, Rollback(_, _, _))
        .WillByDefault(Invoke([this](grpc::ClientContext*, const v1::RollbackRequest& r,
                                     v1::RollbackResponse* out) {
          rollbacks_.push_back(r.commit_sha());
          out->set_head_sha(r.commit_sha());
          return grpc::Status::OK;
        }));
  }

  v1::RunSpec Spec(int phases) {
    v1::RunSpec spec;
    spec.set_run_id("run-1");
    spec.set_project_id("hello");
    spec.set_repo_url("/srv/hello");
    spec.set_check_command("pytest -q");
    v1::TierSpec* tier = spec.add_tiers();
    tier->set_tier_id("t1");
    for (int i = 1; i <= phases; ++i) {
      v1::PhaseSpec* phase = tier->add_phases();
      phase->set_phase_id(absl::StrCat("p", i));
      phase->set_name(absl::StrCat("phase ", i));
      phase->set_description("do it");
      phase->set_task_category("feature_scaffolding");
      phase->set_complexity(v1::COMPLEXITY_LOW);
      phase->add_context_paths("hello/*.py");
    }
    return spec;
  }

  // Creates the run, claims it and drives it to its end.
  RunRecord CreateAndDrive(const v1::RunSpec& spec) {
    EXPECT_THAT(store_->CreateRun(spec, "", {}), IsOk());
    return ClaimAndDrive(spec.run_id());
  }

  // Claims the (one claimable) run and drives it until it ends or pauses.
  RunRecord ClaimAndDrive(const std::string& run_id) {
    auto leases = store_->ClaimRuns("test-replica", 1, absl::Minutes(5));
    EXPECT_THAT(leases, IsOk());
    EXPECT_EQ(leases->size(), 1u);
    const Lease lease = leases->at(0);
    RunDriver driver(DriverContext{store_.get(), policy_.get(), peers_.get(), DriverOptions()},
                     [lease] { return lease; }, [] { return false; });
    EXPECT_THAT(driver.Drive(), IsOk());
    // As the Supervisor does once a drive ends well (a paused run, too).
    EXPECT_THAT(store_->ReleaseLease(lease), IsOk());
    auto record = store_->GetRun(run_id);
    EXPECT_THAT(record, IsOk());
    return *record;
  }

  const v1::PhaseStatus& Phase(const RunRecord& record, int tier, int phase) {
    return record.run.tiers(tier).phases(phase);
  }

  // The run's ledger, rebuilt from its durable journal.
  std::unique_ptr<policy::BudgetLedger> Ledger(const v1::RunSpec& spec) {
    policy::BudgetLedger::Options options;
    options.run_id = spec.run_id();
    auto limits = policy::RunLimits::FromSpec(spec, policy_->strategy);
    EXPECT_THAT(limits, IsOk());
    options.limits = *limits;
    auto entries = store_->ReadLedger(spec.run_id());
    EXPECT_THAT(entries, IsOk());
    auto ledger = policy::BudgetLedger::Restore(*policy_, options, *entries);
    EXPECT_THAT(ledger, IsOk());
    return std::move(*ledger);
  }

  // `expected_calls` calls were settled, nothing stays reserved, and the
  // settled cost is exactly the price of what the mocks reported.
  void ExpectLedgerSettled(const v1::RunSpec& spec, int expected_calls) {
    auto entries = store_->ReadLedger(spec.run_id());
    ASSERT_THAT(entries, IsOk());
    int settled = 0;
    int64_t cost = 0;
    for (const policy::LedgerEntry& e : *entries) {
      if (e.kind != policy::LedgerEntryKind::kSettle) continue;
      ++settled;
      auto priced = policy_->prices.Cost(e.model, e.usage);
      ASSERT_THAT(priced, IsOk());
      cost += *priced;
    }
    EXPECT_EQ(settled, expected_calls);
    std::unique_ptr<policy::BudgetLedger> ledger = Ledger(spec);
    EXPECT_TRUE(ledger->OpenReservations().empty());
    const v1::UsageReport report = ledger->Report();
    EXPECT_EQ(report.total().reserved_micro_usd(), 0);
    EXPECT_EQ(report.total().cost_micro_usd(), cost);
  }

  std::shared_ptr<NiceMock<v1::MockBuilderServiceStub>> builder_ =
      std::make_shared<NiceMock<v1::MockBuilderServiceStub>>();
  std::shared_ptr<NiceMock<v1::MockAuditorServiceStub>> auditor_ =
      std::make_shared<NiceMock<v1::MockAuditorServiceStub>>();
  std::shared_ptr<NiceMock<v1::MockGitAdapterServiceStub>> git_ =
      std::make_shared<NiceMock<v1::MockGitAdapterServiceStub>>();
  std::unique_ptr<policy::PolicyConfig> policy_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Peers> peers_;
  int64_t call_input_tokens_ = 1000;
  std::vector<v1::GeneratePatchRequest> builder_requests_;
  std::vector<v1::ApplyPatchRequest> apply_requests_;
  std::vector<v1::ReviewPatchRequest> review_requests_;
  std::vector<std::string> rollbacks_;
};

TEST_F(RunDriverTest, SucceedsFirstTime) {
  const RunRecord record = CreateAndDrive(Spec(2));
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_SUCCESS) << record.run.state_reason();
  EXPECT_EQ(Phase(record, 0, 0).state(), v1::PHASE_STATE_COMPLETE);
  EXPECT_EQ(Phase(record, 0, 0).attempts(), 1);
  EXPECT_EQ(Phase(record, 0, 0).commit_sha(), "commit-1");
  EXPECT_EQ(Phase(record, 0, 1).commit_sha(), "commit-2");
  EXPECT_EQ(record.run.head_sha(), "commit-2");
  EXPECT_EQ(record.run.tiers(0).state(), v1::TIER_STATE_COMPLETE);
  ASSERT_EQ(apply_requests_.size(), 2u);
  EXPECT_EQ(apply_requests_[0].commit_message().substr(0, 36),
            "autopack: p1 phase 1 (attempt 1)\n\nch");
  EXPECT_EQ(apply_requests_[0].idempotency_key(), "run-1/p1/1");
  // GitAdapter enforces the protected paths the Auditor checked.
  ASSERT_FALSE(review_requests_.empty());
  EXPECT_FALSE(apply_requests_[0].protected_paths().empty());
  EXPECT_EQ(std::vector<std::string>(apply_requests_[0].protected_paths().begin(),
                                     apply_requests_[0].protected_paths().end()),
            std::vector<std::string>(review_requests_[0].protected_paths().begin(),
                                     review_requests_[0].protected_paths().end()));
  ExpectLedgerSettled(Spec(2), 4);
  // Builder calls carry the reservation as idempotency key and a granted limit.
  ASSERT_EQ(builder_requests_.size(), 2u);
  EXPECT_THAT(builder_requests_[0].idempotency_key(), HasSubstr("run-1/rsv-"));
  EXPECT_GT(builder_requests_[0].max_output_tokens(), 0);
  EXPECT_EQ(builder_requests_[0].model(), "openai/gpt-4o-mini");
  // Asked for the edit format the catalog (config/pricing.yaml) names for it.
  auto info = policy_->prices.Info("openai/gpt-4o-mini");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(builder_requests_[0].edit_format(), info->edit_format);
  EXPECT_NE(builder_requests_[0].edit_format(), v1::EDIT_FORMAT_UNSPECIFIED);
  EXPECT_EQ(builder_requests_[0].context_files_size(), 1);
  auto events = store_->ReadEvents("run-1", 0, 1000);
  ASSERT_THAT(events, IsOk());
  int64_t previous = 0;
  for (const v1::RunEvent& e : *events) {
    EXPECT_EQ(e.sequence(), previous + 1);
    previous = e.sequence();
  }
  EXPECT_TRUE(events->back().has_run_state());
  EXPECT_EQ(events->back().run_state().to(), v1::RUN_STATE_DONE_SUCCESS);
}

TEST_F(RunDriverTest, AuditorRejectionThenSuccess) {
  int reviews = 0;
  EXPECT_CALL(*auditor_, ReviewPatch(_, _, _))
      .Times(2)
      .WillRepeatedly(Invoke([&](grpc::ClientContext*, const v1::ReviewPatchRequest& r,
                                 v1::ReviewPatchResponse* out) {
        out->set_model_used(r.model());
        out->mutable_usage()->set_input_tokens(500);
        if (++reviews == 1) {
          v1::Issue* issue = out->add_issues();
          issue->set_severity(v1::SEVERITY_MAJOR);
          issue->set_category("correctness");
          issue->set_path("x");
          issue->set_message("greet() drops the name");
          issue->set_fingerprint("fp-1");
          issue->set_source(v1::ISSUE_SOURCE_LLM);
          out->set_approved(false);
        } else {
          out->set_approved(true);
        }
        return grpc::Status::OK;
      }));
  const RunRecord record = CreateAndDrive(Spec(1));
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_SUCCESS);
  EXPECT_EQ(Phase(record, 0, 0).attempts(), 2);
  ASSERT_EQ(builder_requests_.size(), 2u);
  ASSERT_EQ(builder_requests_[1].feedback_size(), 1);
  EXPECT_EQ(builder_requests_[1].feedback(0).auditor_issues(0).message(),
            "greet() drops the name");
  EXPECT_FALSE(builder_requests_[1].feedback(0).previous_patch().empty());
  auto issues = store_->ListRunIssues("run-1", IssueQuery());
  ASSERT_THAT(issues, IsOk());
  ASSERT_EQ(issues->issues.size(), 1u);
  EXPECT_EQ(issues->issues[0].occurrences(), 1);
  EXPECT_EQ(apply_requests_.size(), 1u);
  ExpectLedgerSettled(Spec(1), 4);
}

TEST_F(RunDriverTest, ApplyRejectionThenSuccess) {
  int applies = 0;
  EXPECT_CALL(*git_, ApplyPatch(_, _, _))
      .Times(2)
      .WillRepeatedly(Invoke([&](grpc::ClientContext*, const v1::ApplyPatchRequest&,
                                 v1::ApplyPatchResponse* out) {
        if (++applies == 1) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "hello/greet.py hunk 2: context does not match anywhere");
        }
        out->set_commit_sha("commit-ok");
        return grpc::Status::OK;
      }));
  const RunRecord record = CreateAndDrive(Spec(1));
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_SUCCESS);
  EXPECT_EQ(Phase(record, 0, 0).attempts(), 2);
  EXPECT_EQ(Phase(record, 0, 0).commit_sha(), "commit-ok");
  ASSERT_EQ(builder_requests_.size(), 2u);
  ASSERT_EQ(builder_requests_[1].feedback(0).apply_rejections_size(), 1);
  EXPECT_THAT(builder_requests_[1].feedback(0).apply_rejections(0).reason(),
              HasSubstr("hello/greet.py hunk 2"));
}

TEST_F(RunDriverTest, FailingChecksAreRolledBackAndRetried) {
  int checks = 0;
  EXPECT_CALL(*git_, RunChecks(_, _, _))
      .Times(3)  // the preflight on the base, then one per attempt
      .WillRepeatedly(Invoke([&](grpc::ClientContext*, const v1::RunChecksRequest& r,
                                 v1::RunChecksResponse* out) {
        EXPECT_EQ(r.command(), "pytest -q");
        out->mutable_result()->set_sandboxed(true);
        const bool pass = ++checks != 2;
        out->mutable_result()->set_passed(pass);
        out->mutable_result()->set_exit_code(pass ? 0 : 1);
        out->mutable_result()->set_tests_failed(pass ? 0 : 1);
        out->mutable_result()->set_output_tail(pass ? "4 passed" : "FAILED test_x - assert 1 == 2");
        return grpc::Status::OK;
      }));
  const RunRecord record = CreateAndDrive(Spec(1));
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_SUCCESS);
  ASSERT_EQ(rollbacks_.size(), 1u);
  EXPECT_EQ(rollbacks_[0], kBase);
  EXPECT_EQ(Phase(record, 0, 0).attempts(), 2);
  EXPECT_EQ(Phase(record, 0, 0).commit_sha(), "commit-2");
  ASSERT_EQ(builder_requests_.size(), 2u);
  EXPECT_THAT(builder_requests_[1].feedback(0).check_result().output_tail(),
              HasSubstr("assert 1 == 2"));
  auto attempts = store_->ListAttempts("run-1", "p1");
  ASSERT_THAT(attempts, IsOk());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].step, AttemptStep::kFailed);
  EXPECT_EQ((*attempts)[0].rolled_back_to, kBase);
  EXPECT_EQ((*attempts)[1].step, AttemptStep::kSucceeded);
}

TEST_F(RunDriverTest, OutOfAttemptsFailsThePhaseAndTheRun) {
  ON_CALL(*auditor_, ReviewPatch(_, _, _))
      .WillByDefault(Invoke([](grpc::ClientContext*, const v1::ReviewPatchRequest& r,
                               v1::ReviewPatchResponse* out) {
        v1::Issue* issue = out->add_issues();
        issue->set_severity(v1::SEVERITY_MAJOR);
        issue->set_category("security");
        issue->set_message("adds a hard-coded key");
        out->set_approved(false);
        out->set_model_used(r.model());
        return grpc::Status::OK;
      }));
  v1::RunSpec spec = Spec(2);
  const RunRecord record = CreateAndDrive(spec);
  const int max_attempts = policy_->strategy.Resolve("feature_scaffolding").strategy->max_attempts;
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_FAILED_POLICY_VIOLATION);
  EXPECT_THAT(record.run.state_reason(),
              HasSubstr(absl::StrCat("failed all ", max_attempts, " attempts")));
  EXPECT_EQ(Phase(record, 0, 0).state(), v1::PHASE_STATE_FAILED);
  EXPECT_EQ(Phase(record, 0, 0).attempts(), max_attempts);
  EXPECT_EQ(Phase(record, 0, 1).state(), v1::PHASE_STATE_SKIPPED);
  EXPECT_EQ(record.run.tiers(0).state(), v1::TIER_STATE_FAILED);
  EXPECT_EQ(static_cast<int>(builder_requests_.size()), max_attempts);
  EXPECT_TRUE(apply_requests_.empty());
  ExpectLedgerSettled(spec, 2 * max_attempts);
}

TEST_F(RunDriverTest, BudgetExhaustedMidRunEndsTheRunWithNothingReservedWhenTheSpecSaysFail) {
  // Each call reports 15k tokens; the run may spend 40k. Phase 1 fits (its
  // reservations are checked against what is left), phase 2's builder cannot.
  call_input_tokens_ = 15000;
  v1::RunSpec spec = Spec(2);
  spec.mutable_budget()->set_max_tokens(40000);
  spec.set_on_budget_exhausted(v1::BUDGET_EXHAUSTED_ACTION_FAIL);
  const RunRecord record = CreateAndDrive(spec);
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_FAILED_BUDGET_EXHAUSTED)
      << record.run.state_reason();
  EXPECT_THAT(record.run.state_reason(), HasSubstr("40000"));
  EXPECT_EQ(Phase(record, 0, 0).state(), v1::PHASE_STATE_COMPLETE);
  EXPECT_EQ(Phase(record, 0, 1).state(), v1::PHASE_STATE_BUDGET_EXHAUSTED);
  ExpectLedgerSettled(spec, 2);
  auto totals = Ledger(spec)->Totals("run");
  ASSERT_THAT(totals, IsOk());
  EXPECT_EQ(totals->reserved_tokens, 0);
  EXPECT_LE(totals->settled_tokens, 40000);
}

// By default a cap pauses the run with nothing reserved; once the cap is
// raised (ResumeRun) the run is claimable again and goes on with the call
// that did not fit, without redoing the completed phase.
TEST_F(RunDriverTest, ACapPausesTheRunAndARaisedCapResumesItWhereItStopped) {
  call_input_tokens_ = 15000;
  v1::RunSpec spec = Spec(2);
  spec.mutable_budget()->set_max_tokens(40000);
  const RunRecord paused = CreateAndDrive(spec);
  EXPECT_EQ(paused.run.state(), v1::RUN_STATE_PAUSED_BUDGET) << paused.run.state_reason();
  EXPECT_THAT(paused.run.state_reason(), HasSubstr("40000"));
  EXPECT_FALSE(paused.run.has_finished_at());
  EXPECT_EQ(paused.run.tiers(0).state(), v1::TIER_STATE_RUNNING);
  EXPECT_EQ(Phase(paused, 0, 0).state(), v1::PHASE_STATE_COMPLETE);
  EXPECT_EQ(Phase(paused, 0, 1).state(), v1::PHASE_STATE_BUDGET_EXHAUSTED);
  ExpectLedgerSettled(spec, 2);
  EXPECT_EQ(builder_requests_.size(), 1u);
  // Paused is not runnable: nobody claims it.
  auto none = store_->ClaimRuns("test-replica", 1, absl::Minutes(5));
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());

  spec.mutable_budget()->set_max_tokens(100000);
  ASSERT_THAT(store_->ResumeRun(spec.run_id(), spec, {}), IsOk());
  EXPECT_THAT(store_->ResumeRun(spec.run_id(), spec, {}),
              StatusHasCode(absl::StatusCode::kFailedPrecondition));
  const RunRecord done = ClaimAndDrive(spec.run_id());
  EXPECT_EQ(done.run.state(), v1::RUN_STATE_DONE_SUCCESS) << done.run.state_reason();
  EXPECT_EQ(done.run.branch(), paused.run.branch());
  EXPECT_EQ(Phase(done, 0, 1).state(), v1::PHASE_STATE_COMPLETE);
  EXPECT_EQ(Phase(done, 0, 1).attempts(), 1);  // the paused attempt went on
  EXPECT_EQ(builder_requests_.size(), 2u);      // phase 1 was not built again
  EXPECT_EQ(apply_requests_.size(), 2u);
  ExpectLedgerSettled(spec, 4);
  auto totals = Ledger(spec)->Totals("run");
  ASSERT_THAT(totals, IsOk());
  EXPECT_LE(totals->settled_tokens, 100000);
}

// A paused run that is cancelled is claimed once more, to end it CANCELLED.
TEST_F(RunDriverTest, CancellingAPausedRunEndsIt) {
  call_input_tokens_ = 15000;
  v1::RunSpec spec = Spec(2);
  spec.mutable_budget()->set_max_tokens(40000);
  ASSERT_EQ(CreateAndDrive(spec).run.state(), v1::RUN_STATE_PAUSED_BUDGET);
  ASSERT_THAT(store_->RequestCancel(spec.run_id(), "not worth more"), IsOk());
  const RunRecord record = ClaimAndDrive(spec.run_id());
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_CANCELLED);
  EXPECT_EQ(Phase(record, 0, 0).state(), v1::PHASE_STATE_COMPLETE);
}

// A Builder call that failed after the provider billed answers: the usage on
// the gRPC status is settled, not released, and the next attempt goes on.
TEST_F(RunDriverTest, UsageOfABilledFailureIsSettledFromTheGrpcStatus) {
  bool failed_once = false;
  ON_CALL(*builder_, GeneratePatch(_, _, _))
      .WillByDefault(Invoke([this, &failed_once](grpc::ClientContext*,
                                                 const v1::GeneratePatchRequest& r,
                                                 v1::GeneratePatchResponse* out) {
        builder_requests_.push_back(r);
        if (!failed_once) {
          failed_once = true;
          absl::Status billed = absl::ResourceExhaustedError("rate limited after 2 answers");
          v1::TokenUsage usage;
          usage.set_input_tokens(3000);
          usage.set_output_tokens(77);
          AddBilledUsage(usage, &billed);
          return ToGrpcStatus(billed);
        }
        out->set_outcome(v1::PATCH_OUTCOME_OK);
        out->set_patch("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
        out->set_model_used(r.model());
        out->mutable_usage()->set_input_tokens(call_input_tokens_);
        return grpc::Status::OK;
      }));
  const v1::RunSpec spec = Spec(1);
  const RunRecord record = CreateAndDrive(spec);
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_SUCCESS) << record.run.state_reason();
  // The failed call, the second Builder call and the Auditor call.
  ExpectLedgerSettled(spec, 3);
  auto entries = store_->ReadLedger(spec.run_id());
  ASSERT_THAT(entries, IsOk());
  int64_t billed_output = 0;
  for (const policy::LedgerEntry& e : *entries) {
    if (e.kind == policy::LedgerEntryKind::kSettle) billed_output += e.usage.output_tokens();
  }
  EXPECT_GE(billed_output, 77);
}

// The ledger refuses reservations past max_wall_time; a slow step with no
// model call after it (here the review, before the patch is applied) is
// stopped at the next safe point too.
TEST_F(RunDriverTest, PastMaxWallTimeTheRunEndsAtTheNextSafePoint) {
  ON_CALL(*auditor_, ReviewPatch(_, _, _))
      .WillByDefault(Invoke([](grpc::ClientContext*, const v1::ReviewPatchRequest& r,
                               v1::ReviewPatchResponse* out) {
        absl::SleepFor(absl::Milliseconds(2100));  // a slow review outlasts the run's time
        out->set_approved(true);
        out->set_model_used(r.model());
        out->mutable_usage()->set_input_tokens(100);
        return grpc::Status::OK;
      }));
  EXPECT_CALL(*git_, ApplyPatch(_, _, _)).Times(0);
  v1::RunSpec spec = Spec(1);
  spec.mutable_max_wall_time()->set_seconds(1);
  const RunRecord record = CreateAndDrive(spec);
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_FAILED_BUDGET_EXHAUSTED);
  EXPECT_THAT(record.run.state_reason(), HasSubstr("past its max wall time of 1s"));
  EXPECT_THAT(record.run.state_reason(), HasSubstr("stopped before apply_patch"));
  EXPECT_EQ(Phase(record, 0, 0).state(), v1::PHASE_STATE_BUDGET_EXHAUSTED);
  ExpectLedgerSettled(spec, 2);  // both billed answers are still settled
}

TEST_F(RunDriverTest, CancelRequestedBeforeStartEndsCancelled) {
  v1::RunSpec spec = Spec(1);
  ASSERT_THAT(store_->CreateRun(spec, "", {}), IsOk());
  ASSERT_THAT(store_->RequestCancel("run-1", "changed my mind"), IsOk());
  auto leases = store_->ClaimRuns("r", 1, absl::Minutes(1));
  ASSERT_THAT(leases, IsOk());
  ASSERT_EQ(leases->size(), 1u);
  const Lease lease = leases->at(0);
  RunDriver driver(DriverContext{store_.get(), policy_.get(), peers_.get(), DriverOptions()},
                   [lease] { return lease; }, [] { return false; });
  EXPECT_THAT(driver.Drive(), IsOk());
  auto record = store_->GetRun("run-1");
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->run.state(), v1::RUN_STATE_CANCELLED);
  EXPECT_EQ(record->run.state_reason(), "changed my mind");
  EXPECT_TRUE(builder_requests_.empty());
}

TEST_F(RunDriverTest, CancelDuringARunStopsAtTheNextSafePointAndReleasesTheReservation) {
  // The cancel arrives while the Builder is answering; the driver notices it
  // before the Auditor call and ends the run with nothing reserved.
  ON_CALL(*builder_, GeneratePatch(_, _, _))
      .WillByDefault(Invoke([this](grpc::ClientContext*, const v1::GeneratePatchRequest& r,
                                   v1::GeneratePatchResponse* out) {
        builder_requests_.push_back(r);
        EXPECT_THAT(store_->RequestCancel("run-1", "stop now"), IsOk());
        out->set_outcome(v1::PATCH_OUTCOME_OK);
        out->set_patch("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
        out->set_model_used(r.model());
        out->mutable_usage()->set_input_tokens(100);
        return grpc::Status::OK;
      }));
  EXPECT_CALL(*auditor_, ReviewPatch(_, _, _)).Times(0);
  const v1::RunSpec spec = Spec(2);
  const RunRecord record = CreateAndDrive(spec);
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_CANCELLED);
  EXPECT_EQ(record.run.state_reason(), "stop now");
  EXPECT_EQ(Phase(record, 0, 0).state(), v1::PHASE_STATE_CANCELLED);
  EXPECT_EQ(Phase(record, 0, 1).state(), v1::PHASE_STATE_SKIPPED);
  EXPECT_EQ(record.run.tiers(0).state(), v1::TIER_STATE_CANCELLED);
  ExpectLedgerSettled(spec, 1);
}

TEST_F(RunDriverTest, AnUnavailableProviderFallsBackToAnotherOne) {
  ON_CALL(*builder_, GeneratePatch(_, _, _))
      .WillByDefault(Invoke([this](grpc::ClientContext*, const v1::GeneratePatchRequest& r,
                                   v1::GeneratePatchResponse* out) {
        builder_requests_.push_back(r);
        if (absl::StartsWith(r.model(), "openai/")) {
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "openai: 503 after 2 retries");
        }
        out->set_outcome(v1::PATCH_OUTCOME_OK);
        out->set_patch("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
        out->set_model_used(r.model());
        out->mutable_usage()->set_input_tokens(100);
        return grpc::Status::OK;
      }));
  const v1::RunSpec spec = Spec(1);
  const RunRecord record = CreateAndDrive(spec);
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_SUCCESS) << record.run.state_reason();
  const std::string fallback = policy_->models.FallbacksFor("openai/gpt-4o-mini").at(0);
  EXPECT_EQ(Phase(record, 0, 0).builder_model(), fallback);
  EXPECT_THAT(Phase(record, 0, 0).selection_rationale(), HasSubstr("unavailable"));
  EXPECT_EQ(Phase(record, 0, 0).attempts(), 1);
  EXPECT_EQ(builder_requests_.back().model(), fallback);
  // The failed call's reservation was released; the two answered calls settled.
  ExpectLedgerSettled(spec, 2);
}

TEST_F(RunDriverTest, WithNoProviderLeftTheRunPausesWithNothingReservedAndResumesLater) {
  bool down = true;
  ON_CALL(*builder_, GeneratePatch(_, _, _))
      .WillByDefault(Invoke([&](grpc::ClientContext*, const v1::GeneratePatchRequest& r,
                                v1::GeneratePatchResponse* out) {
        builder_requests_.push_back(r);
        if (down) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "provider down");
        out->set_outcome(v1::PATCH_OUTCOME_OK);
        out->set_patch("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
        out->set_model_used(r.model());
        out->mutable_usage()->set_input_tokens(10);
        return grpc::Status::OK;
      }));
  const v1::RunSpec spec = Spec(1);
  ASSERT_THAT(store_->CreateRun(spec, "", {}), IsOk());
  auto leases = store_->ClaimRuns("r", 1, absl::Minutes(1));
  ASSERT_THAT(leases, IsOk());
  const Lease lease = leases->at(0);
  {
    RunDriver driver(DriverContext{store_.get(), policy_.get(), peers_.get(), DriverOptions()},
                     [lease] { return lease; }, [] { return false; });
    EXPECT_THAT(driver.Drive(),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no fallback")));
  }
  EXPECT_TRUE(Ledger(spec)->OpenReservations().empty());
  auto record = store_->GetRun("run-1");
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->run.state(), v1::RUN_STATE_RUNNING);
  // Providers back: a later drive (another claim, another replica) finishes it.
  down = false;
  RunDriver again(DriverContext{store_.get(), policy_.get(), peers_.get(), DriverOptions()},
                  [lease] { return lease; }, [] { return false; });
  EXPECT_THAT(again.Drive(), IsOk());
  record = store_->GetRun("run-1");
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->run.state(), v1::RUN_STATE_DONE_SUCCESS);
  ExpectLedgerSettled(spec, 2);
}

}  // namespace
}  // namespace autopack::supervisor

namespace autopack::supervisor {
namespace {

TEST_F(RunDriverTest, ACheckCommandThatCannotRunEndsTheRunBeforeAnyModelCall) {
  ON_CALL(*git_, RunChecks(_, _, _))
      .WillByDefault(Invoke([](grpc::ClientContext*, const v1::RunChecksRequest&, v1::RunChecksResponse* out) {
        out->mutable_result()->set_sandboxed(true);
        out->mutable_result()->set_exit_code(127);
        out->mutable_result()->set_output_tail("sh: 1: pytest: not found\n");
        return grpc::Status::OK;
      }));
  const RunRecord record = CreateAndDrive(Spec(2));
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_FAILED_ENVIRONMENT);
  EXPECT_THAT(record.run.state_reason(), HasSubstr("exit 127"));
  EXPECT_THAT(record.run.state_reason(), HasSubstr("pytest: not found"));
  EXPECT_TRUE(builder_requests_.empty());
  EXPECT_EQ(Phase(record, 0, 0).state(), v1::PHASE_STATE_SKIPPED);
  ExpectLedgerSettled(Spec(2), 0);
}

TEST_F(RunDriverTest, AnUnopenableRepositoryEndsTheRunBeforeAnyModelCall) {
  ON_CALL(*git_, OpenWorkspace(_, _, _))
      .WillByDefault(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "repo_url: /srv/hello does not exist")));
  const RunRecord record = CreateAndDrive(Spec(1));
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_FAILED_ENVIRONMENT);
  EXPECT_THAT(record.run.state_reason(), HasSubstr("does not exist"));
  EXPECT_TRUE(builder_requests_.empty());
}

TEST_F(RunDriverTest, UnsandboxedChecksAreRefusedUnlessTheSpecAllowsThem) {
  ON_CALL(*git_, RunChecks(_, _, _))
      .WillByDefault(Invoke([](grpc::ClientContext*, const v1::RunChecksRequest&, v1::RunChecksResponse* out) {
        out->mutable_result()->set_passed(true);
        out->mutable_result()->set_sandboxed(false);
        out->mutable_result()->set_sandbox_note("unsandboxed: --sandbox=none");
        return grpc::Status::OK;
      }));
  const RunRecord refused = CreateAndDrive(Spec(1));
  EXPECT_EQ(refused.run.state(), v1::RUN_STATE_DONE_FAILED_ENVIRONMENT);
  EXPECT_THAT(refused.run.state_reason(), HasSubstr("without a sandbox (unsandboxed: --sandbox=none)"));
  EXPECT_TRUE(builder_requests_.empty());

  v1::RunSpec allowed = Spec(1);
  allowed.set_run_id("run-2");
  allowed.set_allow_unsandboxed_checks(true);
  const RunRecord done = CreateAndDrive(allowed);
  EXPECT_EQ(done.run.state(), v1::RUN_STATE_DONE_SUCCESS) << done.run.state_reason();
}

TEST_F(RunDriverTest, ChecksThatStopBeingSandboxedMidRunRollBackAndEndTheRun) {
  int checks = 0;
  ON_CALL(*git_, RunChecks(_, _, _))
      .WillByDefault(Invoke([&](grpc::ClientContext*, const v1::RunChecksRequest&, v1::RunChecksResponse* out) {
        out->mutable_result()->set_passed(true);
        out->mutable_result()->set_sandboxed(++checks == 1);  // the preflight only
        return grpc::Status::OK;
      }));
  const RunRecord record = CreateAndDrive(Spec(1));
  EXPECT_EQ(record.run.state(), v1::RUN_STATE_DONE_FAILED_ENVIRONMENT);
  ASSERT_EQ(rollbacks_.size(), 1u);
  EXPECT_EQ(rollbacks_[0], kBase);
  EXPECT_EQ(Phase(record, 0, 0).commit_sha(), "");
}

TEST_F(RunDriverTest, APeerDownLongerThanTheOutageLimitEndsTheRun) {
  ON_CALL(*git_, OpenWorkspace(_, _, _))
      .WillByDefault(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")));
  const v1::RunSpec spec = Spec(1);
  ASSERT_THAT(store_->CreateRun(spec, "", {}), IsOk());
  auto leases = store_->ClaimRuns("r", 1, absl::Minutes(1));
  ASSERT_THAT(leases, IsOk());
  const Lease lease = leases->at(0);
  DriverOptions options;
  options.max_peer_outage = absl::Minutes(10);
  options.peer_failing_since = absl::Now() - absl::Minutes(5);
  {
    RunDriver driver(DriverContext{store_.get(), policy_.get(), peers_.get(), options}, [lease] { return lease; },
                     [] { return false; });
    EXPECT_THAT(driver.Drive(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("connection refused")));
  }
  options.peer_failing_since = absl::Now() - absl::Minutes(11);
  RunDriver driver(DriverContext{store_.get(), policy_.get(), peers_.get(), options}, [lease] { return lease; },
                   [] { return false; });
  EXPECT_THAT(driver.Drive(), IsOk());
  auto record = store_->GetRun("run-1");
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->run.state(), v1::RUN_STATE_DONE_FAILED_ENVIRONMENT);
  EXPECT_THAT(record->run.state_reason(), HasSubstr("unreachable for more than 10m"));
}

}  // namespace
}  // namespace autopack::supervisor
