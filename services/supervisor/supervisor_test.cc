// Run ownership in the Supervisor core: a real SQLite store and the shipped
// policy; the core is never started, so no run is driven and the peers (gMock
// stubs) are never called.
#include "services/supervisor/supervisor.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autopack/v1/auditor_mock.grpc.pb.h"
#include "autopack/v1/builder_mock.grpc.pb.h"
#include "autopack/v1/gitadapter_mock.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"
#include "services/supervisor/store/sqlite_store.h"

namespace autopack::supervisor {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StrictMock;
using ::testing::UnorderedElementsAre;

Caller User(const std::string& name) {
  return Caller{name, static_cast<uint32_t>(Right::kSubmit) |
                          static_cast<uint32_t>(Right::kRead) |
                          static_cast<uint32_t>(Right::kCancel)};
}

class SupervisorOwnershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policy = policy::PolicyConfig::LoadDir("config");
    ASSERT_THAT(policy, IsOk());
    policy_ = std::make_unique<policy::PolicyConfig>(std::move(*policy));
    auto store = OpenSqliteStore(absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    peers_ = std::make_unique<Peers>(
        std::make_shared<StrictMock<v1::MockBuilderServiceStub>>(),
        std::make_shared<StrictMock<v1::MockAuditorServiceStub>>(),
        std::make_shared<StrictMock<v1::MockGitAdapterServiceStub>>(), PeerOptions());
    core_ = std::make_unique<Supervisor>(store_.get(), policy_.get(), peers_.get(),
                                         SupervisorOptions());
  }

  static v1::CreateRunRequest Request(const std::string& run_id, const std::string& project) {
    v1::CreateRunRequest request;
    v1::RunSpec* spec = request.mutable_spec();
    spec->set_run_id(run_id);
    spec->set_project_id(project);
    spec->set_repo_url("/srv/hello");
    spec->set_check_command("pytest -q");
    v1::TierSpec* tier = spec->add_tiers();
    tier->set_tier_id("t1");
    v1::PhaseSpec* phase = tier->add_phases();
    phase->set_phase_id("p1");
    phase->set_name("phase 1");
    phase->set_description("do it");
    phase->set_task_category("feature_scaffolding");
    phase->set_complexity(v1::COMPLEXITY_LOW);
    return request;
  }

  void Create(const std::string& run_id, const Caller& caller,
              const std::string& project = "hello") {
    absl::StatusOr<v1::CreateRunResponse> created =
        core_->CreateRun(Request(run_id, project), caller);
    ASSERT_THAT(created, IsOk());
    EXPECT_EQ(created->run().created_by(), caller.name);
  }

  std::vector<std::string> Listed(const Caller& caller) {
    absl::StatusOr<v1::ListRunsResponse> listed = core_->ListRuns(v1::ListRunsRequest(), caller);
    EXPECT_THAT(listed, IsOk());
    std::vector<std::string> ids;
    if (listed.ok()) {
      for (const v1::Run& run : listed->runs()) ids.push_back(run.run_id());
    }
    return ids;
  }

  std::unique_ptr<policy::PolicyConfig> policy_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Peers> peers_;
  std::unique_ptr<Supervisor> core_;
};

TEST_F(SupervisorOwnershipTest, AnotherCallersRunIsPermissionDeniedAndUntouched) {
  Create("alices", User("alice"));
  const Caller bob = User("bob");
  v1::GetRunRequest get;
  get.set_run_id("alices");
  EXPECT_THAT(core_->GetRun(get, bob),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("alices"), Not(HasSubstr("alice ")))));
  v1::GetUsageRequest usage;
  usage.set_run_id("alices");
  EXPECT_THAT(core_->GetUsage(usage, bob), StatusHasCode(absl::StatusCode::kPermissionDenied));
  v1::ListIssuesRequest issues;
  issues.set_run_id("alices");
  EXPECT_THAT(core_->ListIssues(issues, bob), StatusHasCode(absl::StatusCode::kPermissionDenied));
  v1::WatchRunRequest watch;
  watch.set_run_id("alices");
  int emitted = 0;
  EXPECT_THAT(core_->WatchRun(watch, bob, [&](const v1::RunEvent&) { return ++emitted < 0; }, [] { return false; }),
              StatusHasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(emitted, 0);

  v1::CancelRunRequest cancel;
  cancel.set_run_id("alices");
  EXPECT_THAT(core_->CancelRun(cancel, bob), StatusHasCode(absl::StatusCode::kPermissionDenied));
  absl::StatusOr<RunRecord> stored = store_->GetRun("alices");
  ASSERT_THAT(stored, IsOk());
  EXPECT_FALSE(stored->cancel_requested);

  // The same request from Bob neither creates a second run nor returns hers.
  EXPECT_THAT(core_->CreateRun(Request("alices", "hello"), bob),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("another caller")));
  // Alice herself gets her run back, idempotently.
  absl::StatusOr<v1::CreateRunResponse> again =
      core_->CreateRun(Request("alices", "hello"), User("alice"));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->already_existed());

  EXPECT_THAT(core_->CancelRun(cancel, User("alice")), IsOk());
  stored = store_->GetRun("alices");
  ASSERT_THAT(stored, IsOk());
  EXPECT_TRUE(stored->cancel_requested);
}

TEST_F(SupervisorOwnershipTest, ListRunsShowsOwnRunsAndAdminOrNoAuthSeesAll) {
  Create("a1", User("alice"));
  Create("b1", User("bob"));
  Create("a2", User("alice"));
  EXPECT_THAT(Listed(User("alice")), ElementsAre("a2", "a1"));
  EXPECT_THAT(Listed(User("bob")), ElementsAre("b1"));
  EXPECT_THAT(Listed(User("carol")), ElementsAre());
  const Caller admin{"root", static_cast<uint32_t>(Right::kAdmin)};
  EXPECT_THAT(Listed(admin), UnorderedElementsAre("a1", "a2", "b1"));
  EXPECT_THAT(Listed(Caller::AuthenticationOff()), UnorderedElementsAre("a1", "a2", "b1"));
  v1::CancelRunRequest cancel;
  cancel.set_run_id("b1");
  EXPECT_THAT(core_->CancelRun(cancel, admin), IsOk());
}

TEST_F(SupervisorOwnershipTest, ProjectBacklogNeedsARunInTheProjectOrAdmin) {
  Create("a1", User("alice"), "shared");
  v1::ListIssuesRequest request;
  request.set_project_id("shared");
  EXPECT_THAT(core_->ListIssues(request, User("alice")), IsOk());
  EXPECT_THAT(core_->ListIssues(request, User("bob")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("project_id")));
  EXPECT_THAT(core_->ListIssues(request, Caller{"root", static_cast<uint32_t>(Right::kAdmin)}),
              IsOk());
  EXPECT_THAT(core_->ListIssues(request, Caller::AuthenticationOff()), IsOk());
}

TEST_F(SupervisorOwnershipTest, WithoutAuthenticationRunsBelongToNobodyAndAllAreVisible) {
  Create("open", Caller::AuthenticationOff());
  v1::GetRunRequest get;
  get.set_run_id("open");
  EXPECT_THAT(core_->GetRun(get, Caller::AuthenticationOff()), IsOk());
  // Once authentication is turned on, only admins see such runs.
  EXPECT_THAT(core_->GetRun(get, User("alice")),
              StatusHasCode(absl::StatusCode::kPermissionDenied));
}

// Puts a stored run where a driver leaves it at a cap: PAUSED_BUDGET, no lease.
void PauseInStore(Store* store, const std::string& run_id) {
  absl::StatusOr<std::vector<Lease>> leases = store->ClaimRuns("test", 1, absl::Minutes(1));
  ASSERT_THAT(leases, IsOk());
  ASSERT_EQ(leases->size(), 1u);
  Transition pause;
  pause.run.state = v1::RUN_STATE_PAUSED_BUDGET;
  ASSERT_THAT(store->Commit(leases->at(0), pause), IsOk());
  ASSERT_THAT(store->ReleaseLease(leases->at(0)), IsOk());
}

TEST_F(SupervisorOwnershipTest, RaiseBudgetRaisesThePausedRunsCapsDurablyForItsOwnerOnly) {
  v1::CreateRunRequest create = Request("alices", "hello");
  create.mutable_spec()->mutable_budget()->set_max_tokens(40000);
  create.mutable_spec()->mutable_tiers(0)->mutable_budget()->set_max_cost_micro_usd(1000000);
  ASSERT_THAT(core_->CreateRun(create, User("alice")), IsOk());
  v1::RaiseBudgetRequest raise;
  raise.set_run_id("alices");
  raise.mutable_run()->set_max_tokens(100000);
  EXPECT_THAT(core_->RaiseBudget(raise, User("alice")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not paused")));
  PauseInStore(store_.get(), "alices");

  EXPECT_THAT(core_->RaiseBudget(raise, User("bob")),
              StatusHasCode(absl::StatusCode::kPermissionDenied));
  v1::RaiseBudgetRequest lower = raise;
  lower.mutable_run()->set_max_tokens(30000);
  EXPECT_THAT(core_->RaiseBudget(lower, User("alice")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run.max_tokens")));
  v1::RaiseBudgetRequest uncapped = raise;  // p1 has no cap: it is unlimited already
  (*uncapped.mutable_phases())["p1"].set_max_tokens(50000);
  EXPECT_THAT(core_->RaiseBudget(uncapped, User("alice")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unlimited")));
  v1::RaiseBudgetRequest unknown = raise;
  (*unknown.mutable_phases())["p9"].set_max_tokens(1);
  EXPECT_THAT(core_->RaiseBudget(unknown, User("alice")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("p9")));
  absl::StatusOr<RunRecord> stored = store_->GetRun("alices");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->run.state(), v1::RUN_STATE_PAUSED_BUDGET);  // refused raises change nothing

  (*raise.mutable_tiers())["t1"].set_max_cost_micro_usd(5000000);
  absl::StatusOr<v1::Run> resumed = core_->RaiseBudget(raise, User("alice"));
  ASSERT_THAT(resumed, IsOk());
  EXPECT_EQ(resumed->state(), v1::RUN_STATE_RUNNING);
  stored = store_->GetRun("alices");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->run.spec().budget().max_tokens(), 100000);
  EXPECT_EQ(stored->run.spec().tiers(0).budget().max_cost_micro_usd(), 5000000);
  absl::StatusOr<std::vector<v1::RunEvent>> events = store_->ReadEvents("alices", 0);
  ASSERT_THAT(events, IsOk());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->back().run_state().to(), v1::RUN_STATE_RUNNING);
  EXPECT_THAT(events->back().run_state().reason(), HasSubstr("100000 tokens"));
  // Resumed once: a second raise finds it running. The created spec still
  // identifies the run for a retried CreateRun.
  EXPECT_THAT(core_->RaiseBudget(raise, User("alice")),
              StatusHasCode(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<v1::CreateRunResponse> again = core_->CreateRun(create, User("alice"));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->already_existed());
}

}  // namespace
}  // namespace autopack::supervisor
