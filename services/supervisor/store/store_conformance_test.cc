// The same store tests against every implementation: SQLite on a file, and
// PostgreSQL on a real server started for this test (tests/testing/postgres).
#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"
#include "services/supervisor/store/migrations.h"
#include "services/supervisor/store/open_store.h"
#include "services/supervisor/store/postgres_store.h"
#include "services/supervisor/store/sqlite_store.h"
#include "services/supervisor/store/store.h"
#include "services/supervisor/store/store_ledger_journal.h"
#include "services/supervisor/store/store_test_backends.h"

namespace autopack::supervisor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

v1::RunSpec MakeSpec(const std::string& run_id, const std::string& project = "proj") {
  v1::RunSpec spec;
  spec.set_run_id(run_id);
  spec.set_project_id(project);
  spec.set_repo_url("file:///repo");
  for (int t = 0; t < 2; ++t) {
    v1::TierSpec* tier = spec.add_tiers();
    tier->set_tier_id(absl::StrCat("t", t + 1));
    for (int p = 0; p < 2; ++p) {
      v1::PhaseSpec* phase = tier->add_phases();
      phase->set_phase_id(absl::StrCat("t", t + 1, "p", p + 1));
      phase->set_name("phase");
    }
  }
  (*spec.mutable_labels())["a"] = "1";
  (*spec.mutable_labels())["b"] = "2";
  (*spec.mutable_labels())["c"] = "3";
  return spec;
}

v1::RunEvent StateEvent(v1::RunState from, v1::RunState to) {
  v1::RunEvent event;
  event.mutable_run_state()->set_from(from);
  event.mutable_run_state()->set_to(to);
  return event;
}

v1::Issue MakeIssue(const std::string& fingerprint, v1::Severity severity) {
  v1::Issue issue;
  issue.set_fingerprint(fingerprint);
  issue.set_severity(severity);
  issue.set_category("correctness");
  issue.set_message(absl::StrCat("problem ", fingerprint));
  return issue;
}

policy::LedgerEntry Ledger(const std::string& run_id, int64_t sequence,
                          policy::LedgerEntryKind kind, const std::string& reservation,
                          int64_t cost = 0) {
  policy::LedgerEntry e;
  e.run_id = run_id;
  e.sequence = sequence;
  e.kind = kind;
  e.reservation_id = reservation;
  e.tier_id = "t1";
  e.phase_id = "t1p1";
  e.role = "builder";
  e.model = "openai/gpt-4o";
  e.tokens = 1000;
  e.cost_micro_usd = cost;
  e.output_limit = 512;
  e.usage.set_input_tokens(100);
  e.usage.set_output_tokens(cost);
  e.time = absl::FromUnixMicros(1700000000123456);
  return e;
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestDatabase>> db = NewTestDatabase(GetParam());
    ASSERT_THAT(db, IsOk());
    db_ = std::move(*db);
    absl::StatusOr<std::unique_ptr<Store>> store = db_->Open();
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  // A run as a driver leaves it at a cap: PAUSED_BUDGET, its lease given up.
  void CreatePaused(const std::string& run_id) {
    const Lease lease = CreateAndClaim(run_id);
    Transition pause;
    pause.run.state = v1::RUN_STATE_PAUSED_BUDGET;
    ASSERT_THAT(store_->Commit(lease, pause), IsOk());
    ASSERT_THAT(store_->ReleaseLease(lease), IsOk());
  }

  // Creates a run and claims it for "replica-a".
  Lease CreateAndClaim(const std::string& run_id) {
    EXPECT_THAT(store_->CreateRun(MakeSpec(run_id), "", {}), IsOk());
    absl::StatusOr<std::vector<Lease>> leases =
        store_->ClaimRuns("replica-a", 100, absl::Minutes(5));
    EXPECT_THAT(leases, IsOk());
    for (const Lease& lease : *leases) {
      if (lease.run_id == run_id) return lease;
    }
    ADD_FAILURE() << "run " << run_id << " was not claimed";
    return Lease();
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
};

// --- Migrations -----------------------------------------------------------

TEST_P(StoreTest, FreshDatabaseGetsEveryMigrationAndReapplyingIsANoOp) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> fresh = NewTestDatabase(GetParam());
  ASSERT_THAT(fresh, IsOk());
  absl::StatusOr<std::unique_ptr<SqlConnection>> c = (*fresh)->Connect();
  ASSERT_THAT(c, IsOk());
  std::vector<int> all;
  for (const Migration& m : EmbeddedMigrations()) all.push_back(m.version);
  ASSERT_THAT(all, Not(IsEmpty()));

  absl::StatusOr<MigrationReport> first =
      ApplyMigrations(**c, (*fresh)->dialect(), EmbeddedMigrations());
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->applied, all);
  EXPECT_EQ(first->schema_version, all.back());

  absl::StatusOr<MigrationReport> again =
      ApplyMigrations(**c, (*fresh)->dialect(), EmbeddedMigrations());
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(again->applied, IsEmpty());
  EXPECT_EQ(again->schema_version, all.back());
  // A store opened on the migrated database works and applies nothing more.
  absl::StatusOr<std::unique_ptr<Store>> store = (*fresh)->Open();
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->CreateRun(MakeSpec("r1"), "", {}), IsOk());
}

TEST_P(StoreTest, RunsCreatedBeforeTheCreatorColumnBelongToNobody) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> fresh = NewTestDatabase(GetParam());
  ASSERT_THAT(fresh, IsOk());
  absl::StatusOr<std::unique_ptr<SqlConnection>> c = (*fresh)->Connect();
  ASSERT_THAT(c, IsOk());
  const std::vector<Migration> all = EmbeddedMigrations();
  ASSERT_GE(all.size(), 2u);
  ASSERT_THAT(ApplyMigrations(**c, (*fresh)->dialect(), {all[0]}), IsOk());
  ASSERT_THAT((*c)->Query("INSERT INTO runs (run_id, project_id, spec, spec_hash, state, "
                          "created_us) VALUES ('old', 'p', '', 'h', 1, 1)"),
              IsOk());
  absl::StatusOr<std::unique_ptr<Store>> store = (*fresh)->Open();
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<RunRecord> old = (*store)->GetRun("old");
  ASSERT_THAT(old, IsOk());
  EXPECT_EQ(old->run.created_by(), "");
}

TEST_P(StoreTest, RunsRememberTheirCreatorAndListByIt) {
  ASSERT_THAT(store_->CreateRun(MakeSpec("a1"), "alice", {}), IsOk());
  ASSERT_THAT(store_->CreateRun(MakeSpec("b1"), "bob", {}), IsOk());
  ASSERT_THAT(store_->CreateRun(MakeSpec("a2"), "alice", {}), IsOk());
  ASSERT_THAT(store_->CreateRun(MakeSpec("n1"), "", {}), IsOk());
  absl::StatusOr<RunRecord> b1 = store_->GetRun("b1");
  ASSERT_THAT(b1, IsOk());
  EXPECT_EQ(b1->run.created_by(), "bob");
  // Idempotent creation returns the stored creator, not the new caller.
  absl::StatusOr<CreateRunResult> again = store_->CreateRun(MakeSpec("b1"), "alice", {});
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->already_existed);
  EXPECT_EQ(again->record.run.created_by(), "bob");

  auto ids = [&](std::optional<std::string> created_by, int page_size) {
    ListRunsQuery query;
    query.created_by = std::move(created_by);
    query.page_size = page_size;
    std::vector<std::string> seen;
    do {
      absl::StatusOr<ListRunsPage> page = store_->ListRuns(query);
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) break;
      for (const RunRecord& r : page->runs) seen.push_back(r.run.run_id());
      query.page_token = page->next_page_token;
    } while (!query.page_token.empty());
    return seen;
  };
  EXPECT_THAT(ids(std::string("alice"), 1), ElementsAre("a2", "a1"));
  EXPECT_THAT(ids(std::string("bob"), 10), ElementsAre("b1"));
  EXPECT_THAT(ids(std::string(""), 10), ElementsAre("n1"));
  EXPECT_THAT(ids(std::string("carol"), 10), IsEmpty());
  EXPECT_THAT(ids(std::nullopt, 10), SizeIs(4));
}

TEST_P(StoreTest, MigrationsApplyInOrderAndRefuseChangedOrUnknownOnes) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> fresh = NewTestDatabase(GetParam());
  ASSERT_THAT(fresh, IsOk());
  absl::StatusOr<std::unique_ptr<SqlConnection>> c = (*fresh)->Connect();
  ASSERT_THAT(c, IsOk());
  const SqlDialect& dialect = (*fresh)->dialect();
  std::vector<Migration> v1 = {{1, "a", "CREATE TABLE a (x INTEGER)"}};
  std::vector<Migration> v2 = {v1[0], {2, "b", "INSERT INTO a (x) VALUES (7)"}};

  EXPECT_THAT(ApplyMigrations(**c, dialect, v1), IsOk());
  absl::StatusOr<MigrationReport> report = ApplyMigrations(**c, dialect, v2);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->applied, ElementsAre(2));
  absl::StatusOr<SqlRows> rows = (*c)->Query("SELECT x FROM a");
  ASSERT_THAT(rows, IsOk());
  ASSERT_THAT(*rows, SizeIs(1));
  EXPECT_EQ((*rows)[0].Int(0), 7);

  // An older binary meets a newer schema.
  EXPECT_THAT(ApplyMigrations(**c, dialect, v1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("2_b")));
  // An applied migration was edited.
  std::vector<Migration> edited = v2;
  edited[1].sql = "INSERT INTO a (x) VALUES (8)";
  EXPECT_THAT(ApplyMigrations(**c, dialect, edited),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("was changed")));
  // Versions out of order.
  std::vector<Migration> swapped = {v2[1], v2[0]};
  EXPECT_THAT(ApplyMigrations(**c, dialect, swapped),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("increasing")));
  // A failing migration leaves nothing: neither its table nor its record.
  std::vector<Migration> broken = {v2[0], v2[1],
                                   {3, "c", "CREATE TABLE c (y INTEGER); NOT SQL AT ALL"}};
  EXPECT_THAT(ApplyMigrations(**c, dialect, broken), StatusHasCode(absl::StatusCode::kInternal));
  EXPECT_THAT((*c)->Query("SELECT y FROM c"), Not(IsOk()));
  report = ApplyMigrations(**c, dialect, v2);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->schema_version, 2);
}

TEST_P(StoreTest, ConcurrentStartsApplyEachMigrationOnce) {
  absl::StatusOr<std::unique_ptr<TestDatabase>> fresh = NewTestDatabase(GetParam());
  ASSERT_THAT(fresh, IsOk());
  std::vector<std::thread> threads;
  absl::Mutex mu;
  std::vector<int> applied;
  std::vector<absl::Status> statuses;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<std::unique_ptr<SqlConnection>> c = (*fresh)->Connect();
      absl::StatusOr<MigrationReport> report =
          c.ok() ? ApplyMigrations(**c, (*fresh)->dialect(), EmbeddedMigrations())
                 : absl::StatusOr<MigrationReport>(c.status());
      absl::MutexLock lock(&mu);
      statuses.push_back(report.status());
      if (report.ok()) applied.insert(applied.end(), report->applied.begin(),
                                      report->applied.end());
    });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& s : statuses) EXPECT_THAT(s, IsOk());
  EXPECT_EQ(applied.size(), EmbeddedMigrations().size());
}

// --- Runs -----------------------------------------------------------------

TEST_P(StoreTest, CreateRunIsIdempotentOnTheRunId) {
  absl::StatusOr<CreateRunResult> created =
      store_->CreateRun(MakeSpec("r1"), "", {StateEvent(v1::RUN_STATE_UNSPECIFIED,
                                                    v1::RUN_STATE_CREATED)});
  ASSERT_THAT(created, IsOk());
  EXPECT_FALSE(created->already_existed);
  const v1::Run& run = created->record.run;
  EXPECT_EQ(run.run_id(), "r1");
  EXPECT_EQ(run.state(), v1::RUN_STATE_CREATED);
  EXPECT_TRUE(run.has_created_at());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(run.spec(), MakeSpec("r1")));
  ASSERT_EQ(run.tiers_size(), 2);
  EXPECT_EQ(run.tiers(1).tier_id(), "t2");
  EXPECT_EQ(run.tiers(1).state(), v1::TIER_STATE_PENDING);
  ASSERT_EQ(run.tiers(1).phases_size(), 2);
  EXPECT_EQ(run.tiers(1).phases(1).phase_id(), "t2p2");
  EXPECT_EQ(run.tiers(1).phases(1).state(), v1::PHASE_STATE_QUEUED);
  EXPECT_EQ(created->record.last_sequence, 1);
  EXPECT_EQ(created->record.spec_hash.size(), 64u);

  // Same spec (labels built in another order): the existing run, nothing new.
  v1::RunSpec same = MakeSpec("r1");
  same.mutable_labels()->clear();
  (*same.mutable_labels())["c"] = "3";
  (*same.mutable_labels())["a"] = "1";
  (*same.mutable_labels())["b"] = "2";
  absl::StatusOr<CreateRunResult> again = store_->CreateRun(same, "", {StateEvent(
      v1::RUN_STATE_UNSPECIFIED, v1::RUN_STATE_CREATED)});
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->already_existed);
  EXPECT_EQ(again->record.last_sequence, 1);
  EXPECT_THAT(store_->ReadEvents("r1", 0, 100), IsOkAndHolds(SizeIs(1)));

  v1::RunSpec different = MakeSpec("r1");
  different.set_check_command("make test");
  EXPECT_THAT(store_->CreateRun(different, "", {}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("r1")));
}

TEST_P(StoreTest, CreateRunRejectsMissingAndDuplicateIds) {
  EXPECT_THAT(store_->CreateRun(MakeSpec(""), "", {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_id")));
  v1::RunSpec spec = MakeSpec("r1");
  spec.mutable_tiers(1)->mutable_phases(0)->set_phase_id("t1p1");
  EXPECT_THAT(store_->CreateRun(spec, "", {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tiers[1].phases[0]")));
  EXPECT_THAT(store_->GetRun("r1"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("r1")));
}

TEST_P(StoreTest, ConcurrentCreatesOfOneIdMakeOneRun) {
  std::atomic<int> fresh{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<std::unique_ptr<Store>> store = db_->Open();
      ASSERT_THAT(store, IsOk());
      absl::StatusOr<CreateRunResult> r = (*store)->CreateRun(MakeSpec("same"), "", {});
      ASSERT_THAT(r, IsOk());
      if (!r->already_existed) ++fresh;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(fresh.load(), 1);
}

TEST_P(StoreTest, ListRunsFiltersAndPagesNewestFirst) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_THAT(store_->CreateRun(MakeSpec(absl::StrCat("r", i), i % 2 ? "odd" : "even"), "", {}),
                IsOk());
  }
  // r3 starts running.
  absl::StatusOr<std::vector<Lease>> leases = store_->ClaimRuns("a", 100, absl::Minutes(1));
  ASSERT_THAT(leases, IsOk());
  for (const Lease& lease : *leases) {
    if (lease.run_id != "r3") continue;
    Transition t;
    t.run.state = v1::RUN_STATE_RUNNING;
    ASSERT_THAT(store_->Commit(lease, t), IsOk());
  }

  std::vector<std::string> seen;
  ListRunsQuery query;
  query.page_size = 3;
  int pages = 0;
  do {
    absl::StatusOr<ListRunsPage> page = store_->ListRuns(query);
    ASSERT_THAT(page, IsOk());
    for (const RunRecord& r : page->runs) seen.push_back(r.run.run_id());
    query.page_token = page->next_page_token;
    ++pages;
  } while (!query.page_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  // Created in order r0..r6; ties in creation time fall back to the id.
  EXPECT_THAT(seen, ElementsAre("r6", "r5", "r4", "r3", "r2", "r1", "r0"));

  ListRunsQuery odd_running;
  odd_running.project_id = "odd";
  odd_running.states = {v1::RUN_STATE_RUNNING, v1::RUN_STATE_DONE_SUCCESS};
  absl::StatusOr<ListRunsPage> filtered = store_->ListRuns(odd_running);
  ASSERT_THAT(filtered, IsOk());
  ASSERT_THAT(filtered->runs, SizeIs(1));
  EXPECT_EQ(filtered->runs[0].run.run_id(), "r3");
  EXPECT_EQ(filtered->runs[0].run.tiers_size(), 2);
  EXPECT_THAT(filtered->next_page_token, IsEmpty());

  ListRunsQuery even;
  even.project_id = "even";
  absl::StatusOr<ListRunsPage> evens = store_->ListRuns(even);
  ASSERT_THAT(evens, IsOk());
  EXPECT_THAT(evens->runs, SizeIs(4));

  ListRunsQuery bad;
  bad.page_token = "not a token";
  EXPECT_THAT(store_->ListRuns(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  bad.page_token.clear();
  bad.page_size = 501;
  EXPECT_THAT(store_->ListRuns(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
}

TEST_P(StoreTest, CommitWritesRunTierPhaseAttemptAndEventsTogether) {
  const Lease lease = CreateAndClaim("r1");
  Transition t;
  t.run.state = v1::RUN_STATE_RUNNING;
  t.run.state_reason = "started";
  t.run.started_at = absl::FromUnixSeconds(1700000000);
  t.run.branch = "autopack/r1";
  t.run.head_sha = "abc";
  v1::TierStatus tier;
  tier.set_tier_id("t1");
  tier.set_state(v1::TIER_STATE_RUNNING);
  t.tiers.push_back(tier);
  v1::PhaseStatus phase;
  phase.set_phase_id("t1p1");
  phase.set_state(v1::PHASE_STATE_BUILDING);
  phase.set_attempts(1);
  phase.set_builder_model("openai/gpt-4o");
  phase.set_auditor_model("anthropic/claude");
  phase.set_selection_rationale("medium complexity");
  phase.set_last_error("none yet");
  t.phases.push_back(phase);
  t.events = {StateEvent(v1::RUN_STATE_CREATED, v1::RUN_STATE_RUNNING), v1::RunEvent()};
  t.events[1].mutable_phase_state()->set_phase_id("t1p1");

  absl::StatusOr<CommitResult> result = store_->Commit(lease, t);
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->sequences, ElementsAre(1, 2));

  absl::StatusOr<RunRecord> record = store_->GetRun("r1");
  ASSERT_THAT(record, IsOk());
  const v1::Run& run = record->run;
  EXPECT_EQ(run.state(), v1::RUN_STATE_RUNNING);
  EXPECT_EQ(run.state_reason(), "started");
  EXPECT_EQ(run.started_at().seconds(), 1700000000);
  EXPECT_FALSE(run.has_finished_at());
  EXPECT_EQ(run.branch(), "autopack/r1");
  EXPECT_EQ(run.head_sha(), "abc");
  EXPECT_EQ(run.owner(), "replica-a");
  EXPECT_EQ(run.tiers(0).state(), v1::TIER_STATE_RUNNING);
  EXPECT_EQ(run.tiers(1).state(), v1::TIER_STATE_PENDING);
  EXPECT_EQ(run.tiers(0).phases(0).SerializeAsString(), phase.SerializeAsString());
  EXPECT_EQ(record->last_sequence, 2);

  absl::StatusOr<std::vector<v1::RunEvent>> events = store_->ReadEvents("r1", 0, 100);
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(2));
  EXPECT_EQ((*events)[0].sequence(), 1);
  EXPECT_EQ((*events)[0].run_id(), "r1");
  EXPECT_TRUE((*events)[0].has_time());
  EXPECT_EQ((*events)[0].run_state().to(), v1::RUN_STATE_RUNNING);
  EXPECT_EQ((*events)[1].phase_state().phase_id(), "t1p1");
  EXPECT_THAT(store_->ReadEvents("r1", 1, 100), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(store_->ReadEvents("r1", 2, 100), IsOkAndHolds(IsEmpty()));
}

TEST_P(StoreTest, FailedCommitLeavesNothing) {
  const Lease lease = CreateAndClaim("r1");
  Transition first;
  first.ledger.push_back(Ledger("r1", 1, policy::LedgerEntryKind::kReserve, "call-1"));
  ASSERT_THAT(store_->Commit(lease, first), IsOk());

  // Everything below is valid except the second reservation of call-1.
  Transition t;
  t.run.state = v1::RUN_STATE_RUNNING;
  v1::PhaseStatus phase;
  phase.set_phase_id("t1p1");
  phase.set_state(v1::PHASE_STATE_BUILDING);
  t.phases.push_back(phase);
  AttemptRecord attempt;
  attempt.phase_id = "t1p1";
  attempt.attempt = 1;
  t.attempts.push_back(attempt);
  t.issues.push_back(MakeIssue("fp", v1::SEVERITY_MINOR));
  t.events.push_back(StateEvent(v1::RUN_STATE_CREATED, v1::RUN_STATE_RUNNING));
  t.ledger.push_back(Ledger("r1", 2, policy::LedgerEntryKind::kReserve, "call-2"));
  t.ledger.push_back(Ledger("r1", 3, policy::LedgerEntryKind::kReserve, "call-1"));
  EXPECT_THAT(store_->Commit(lease, t),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("call-1")));

  // An unknown phase fails the same way.
  Transition unknown = t;
  unknown.ledger.clear();
  unknown.phases[0].set_phase_id("nope");
  EXPECT_THAT(store_->Commit(lease, unknown),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));

  absl::StatusOr<RunRecord> record = store_->GetRun("r1");
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->run.state(), v1::RUN_STATE_CREATED);
  EXPECT_EQ(record->run.tiers(0).phases(0).state(), v1::PHASE_STATE_QUEUED);
  EXPECT_EQ(record->last_sequence, 0);
  EXPECT_THAT(store_->ReadEvents("r1", 0, 100), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->ListAttempts("r1", ""), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->ReadLedger("r1"), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(store_->ListRunIssues("r1", {}), IsOkAndHolds(::testing::Field(
                                                   &IssuePage::issues, IsEmpty())));

  // The same transition without the duplicate commits, and sequences go on from 1.
  t.ledger.pop_back();
  absl::StatusOr<CommitResult> result = store_->Commit(lease, t);
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->sequences, ElementsAre(1));
}

TEST_P(StoreTest, AttemptRecordsKeepEachStepsOutcome) {
  const Lease lease = CreateAndClaim("r1");
  AttemptRecord a;
  a.phase_id = "t1p1";
  a.attempt = 1;
  a.builder_model = "openai/gpt-4o";
  a.auditor_model = "anthropic/claude";
  Transition started;
  started.attempts.push_back(a);
  ASSERT_THAT(store_->Commit(lease, started), IsOk());

  a.step = AttemptStep::kBuilt;
  a.build.emplace();
  a.build->set_patch("diff --git a/x b/x\n");
  a.build->mutable_usage()->set_input_tokens(1234);
  a.build->set_cost_micro_usd(99);
  Transition built;
  built.attempts.push_back(a);
  ASSERT_THAT(store_->Commit(lease, built), IsOk());

  a.step = AttemptStep::kChecked;
  a.review.emplace();
  a.review->set_approved(true);
  a.apply.emplace();
  a.apply->set_commit_sha("c0ffee");
  a.check.emplace();
  a.check->set_passed(false);
  a.check->set_output_tail("1 failed");
  a.rolled_back_to = "base";
  a.feedback.emplace();
  a.feedback->set_attempt(1);
  Transition checked;
  checked.attempts.push_back(a);
  AttemptRecord second;
  second.phase_id = "t1p1";
  second.attempt = 2;
  checked.attempts.push_back(second);
  AttemptRecord other;
  other.phase_id = "t1p2";
  other.attempt = 1;
  checked.attempts.push_back(other);
  ASSERT_THAT(store_->Commit(lease, checked), IsOk());

  absl::StatusOr<std::vector<AttemptRecord>> attempts = store_->ListAttempts("r1", "t1p1");
  ASSERT_THAT(attempts, IsOk());
  ASSERT_THAT(*attempts, SizeIs(2));
  const AttemptRecord& got = (*attempts)[0];
  EXPECT_EQ(got.step, AttemptStep::kChecked);
  EXPECT_EQ(got.builder_model, "openai/gpt-4o");
  EXPECT_EQ(got.auditor_model, "anthropic/claude");
  ASSERT_TRUE(got.build.has_value());
  EXPECT_EQ(got.build->SerializeAsString(), a.build->SerializeAsString());
  ASSERT_TRUE(got.review && got.apply && got.check && got.feedback);
  EXPECT_TRUE(got.review->approved());
  EXPECT_EQ(got.apply->commit_sha(), "c0ffee");
  EXPECT_EQ(got.check->output_tail(), "1 failed");
  EXPECT_EQ(got.rolled_back_to, "base");
  EXPECT_EQ((*attempts)[1].attempt, 2);
  EXPECT_EQ((*attempts)[1].step, AttemptStep::kStarted);
  EXPECT_FALSE((*attempts)[1].build.has_value());
  EXPECT_THAT(store_->ListAttempts("r1", ""), IsOkAndHolds(SizeIs(3)));

  AttemptRecord zero;
  zero.phase_id = "t1p1";
  Transition bad;
  bad.attempts.push_back(zero);
  EXPECT_THAT(store_->Commit(lease, bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   HasSubstr("numbered from 1")));
}

// --- Ledger ---------------------------------------------------------------

TEST_P(StoreTest, LedgerJournalNeverCountsACallTwiceAndSurvivesARestart) {
  const Lease lease = CreateAndClaim("r1");
  using Kind = policy::LedgerEntryKind;
  StoreLedgerJournal journal(store_.get(), lease);
  const std::vector<policy::LedgerEntry> entries = {
      Ledger("r1", 1, Kind::kReserve, "k1"), Ledger("r1", 2, Kind::kReserve, "k2"),
      Ledger("r1", 3, Kind::kSettle, "k1", 4200), Ledger("r1", 4, Kind::kRelease, "k2"),
      Ledger("r1", 5, Kind::kReserve, "k3")};
  for (const policy::LedgerEntry& e : entries) ASSERT_THAT(journal.Append(e), IsOk());

  // A sequence number taken, a reservation settled twice, another run's entry.
  EXPECT_THAT(journal.Append(Ledger("r1", 5, Kind::kReserve, "k9")),
              StatusHasCode(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(journal.Append(Ledger("r1", 6, Kind::kSettle, "k1", 4200)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("k1")));
  EXPECT_THAT(journal.Append(Ledger("r2", 6, Kind::kReserve, "k4")),
              StatusHasCode(absl::StatusCode::kInvalidArgument));

  // A restarted process (a new store instance) reads back exactly what was written.
  absl::StatusOr<std::unique_ptr<Store>> restarted = db_->Open();
  ASSERT_THAT(restarted, IsOk());
  StoreLedgerJournal reread(restarted->get(), lease);
  absl::StatusOr<std::vector<policy::LedgerEntry>> got = reread.ReadRun("r1");
  ASSERT_THAT(got, IsOk());
  ASSERT_EQ(got->size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const policy::LedgerEntry& want = entries[i];
    const policy::LedgerEntry& e = (*got)[i];
    EXPECT_EQ(e.run_id, want.run_id);
    EXPECT_EQ(e.sequence, want.sequence);
    EXPECT_EQ(e.kind, want.kind);
    EXPECT_EQ(e.reservation_id, want.reservation_id);
    EXPECT_EQ(e.tier_id, want.tier_id);
    EXPECT_EQ(e.phase_id, want.phase_id);
    EXPECT_EQ(e.role, want.role);
    EXPECT_EQ(e.model, want.model);
    EXPECT_EQ(e.tokens, want.tokens);
    EXPECT_EQ(e.cost_micro_usd, want.cost_micro_usd);
    EXPECT_EQ(e.output_limit, want.output_limit);
    EXPECT_EQ(e.usage.SerializeAsString(), want.usage.SerializeAsString());
    EXPECT_EQ(e.time, want.time);
  }
  EXPECT_THAT(reread.ReadRun("unknown"), IsOkAndHolds(IsEmpty()));

  // Once another replica holds the run, the old holder's journal is fenced.
  ASSERT_THAT(store_->ReleaseLease(lease), IsOk());
  ASSERT_THAT(store_->ClaimRuns("replica-b", 1, absl::Minutes(1)), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(journal.Append(Ledger("r1", 6, Kind::kSettle, "k3", 1)),
              StatusHasCode(absl::StatusCode::kAborted));
  EXPECT_THAT(store_->ReadLedger("r1"), IsOkAndHolds(SizeIs(entries.size())));
}

// --- Issues ---------------------------------------------------------------

TEST_P(StoreTest, RunIssueIndexCountsOccurrencesAndPages) {
  const Lease a = CreateAndClaim("ra");
  Transition five;
  for (int i = 0; i < 5; ++i) five.issues.push_back(MakeIssue("minor-1", v1::SEVERITY_MINOR));
  five.issues.push_back(MakeIssue("major-1", v1::SEVERITY_MAJOR));
  absl::StatusOr<CommitResult> result = store_->Commit(a, five);
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->issue_occurrences, ElementsAre(1, 2, 3, 4, 5, 1));

  absl::StatusOr<IssuePage> all = store_->ListRunIssues("ra", {});
  ASSERT_THAT(all, IsOk());
  ASSERT_THAT(all->issues, SizeIs(2));
  EXPECT_EQ(all->issues[0].issue().fingerprint(), "minor-1");  // most frequent first
  EXPECT_EQ(all->issues[0].occurrences(), 5);
  EXPECT_EQ(all->issues[1].occurrences(), 1);
  IssueQuery majors;
  majors.min_severity = v1::SEVERITY_MAJOR;
  absl::StatusOr<IssuePage> major = store_->ListRunIssues("ra", majors);
  ASSERT_THAT(major, IsOk());
  ASSERT_THAT(major->issues, SizeIs(1));
  EXPECT_EQ(major->issues[0].issue().fingerprint(), "major-1");

  IssueQuery paged;
  paged.page_size = 1;
  absl::StatusOr<IssuePage> page1 = store_->ListRunIssues("ra", paged);
  ASSERT_THAT(page1, IsOk());
  ASSERT_THAT(page1->issues, SizeIs(1));
  EXPECT_EQ(page1->issues[0].issue().fingerprint(), "minor-1");
  paged.page_token = page1->next_page_token;
  absl::StatusOr<IssuePage> page2 = store_->ListRunIssues("ra", paged);
  ASSERT_THAT(page2, IsOk());
  ASSERT_THAT(page2->issues, SizeIs(1));
  EXPECT_EQ(page2->issues[0].issue().fingerprint(), "major-1");
  EXPECT_THAT(page2->next_page_token, IsEmpty());
  EXPECT_THAT(store_->ListRunIssues("other", {}),
              IsOkAndHolds(::testing::Field(&IssuePage::issues, IsEmpty())));

  Transition no_fingerprint;
  no_fingerprint.issues = {MakeIssue("", v1::SEVERITY_MINOR)};
  EXPECT_THAT(store_->Commit(a, no_fingerprint),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fingerprint")));
}

TEST_P(StoreTest, BacklogUpdatesAreAtomicAcrossReplicas) {
  // Four "replicas" each record the same issue 10 times in their own run.
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r) {
    threads.emplace_back([&, r] {
      absl::StatusOr<std::unique_ptr<Store>> store = db_->Open();
      ASSERT_THAT(store, IsOk());
      const std::string run = absl::StrCat("run-", r);
      for (int i = 0; i < 10; ++i) {
        absl::StatusOr<policy::BacklogEntry> written =
            (*store)->Update("proj", "fp-1", [&](policy::BacklogEntry& e) {
              if (e.occurrences == 0) e.first_run_id = run;
              e.issue = MakeIssue("fp-1", v1::SEVERITY_MINOR);
              e.worst_severity = v1::SEVERITY_MINOR;
              ++e.occurrences;
              if (std::find(e.run_ids.begin(), e.run_ids.end(), run) == e.run_ids.end()) {
                e.run_ids.push_back(run);
              }
              e.last_run_id = run;
              e.last_seen = absl::FromUnixSeconds(1000 + r);
              e.needs_cleanup = e.run_ids.size() >= 3;
              return absl::OkStatus();
            });
        ASSERT_THAT(written, IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();

  absl::StatusOr<std::vector<policy::BacklogEntry>> entries = store_->List("proj");
  ASSERT_THAT(entries, IsOk());
  ASSERT_THAT(*entries, SizeIs(1));
  const policy::BacklogEntry& e = (*entries)[0];
  EXPECT_EQ(e.project_id, "proj");
  EXPECT_EQ(e.fingerprint, "fp-1");
  EXPECT_EQ(e.occurrences, 40);  // no update lost
  EXPECT_THAT(e.run_ids, ::testing::UnorderedElementsAre("run-0", "run-1", "run-2", "run-3"));
  EXPECT_TRUE(e.needs_cleanup);
  EXPECT_EQ(e.issue.fingerprint(), "fp-1");
  EXPECT_EQ(e.worst_severity, v1::SEVERITY_MINOR);
  EXPECT_GE(e.last_seen, absl::FromUnixSeconds(1000));

  // Ids with any bytes round-trip; a failing mutation writes nothing.
  ASSERT_THAT(store_->Update("proj", "fp-2",
                             [](policy::BacklogEntry& e) {
                               e.issue = MakeIssue("fp-2", v1::SEVERITY_MAJOR);
                               e.tier_ids = {"tier\nwith newline", "", "t\\2"};
                               e.run_ids = {""};
                               return absl::OkStatus();
                             }),
              IsOk());
  EXPECT_THAT(store_->Update("proj", "fp-3",
                             [](policy::BacklogEntry& e) {
                               EXPECT_EQ(e.occurrences, 0);  // new entry: only the key set
                               EXPECT_EQ(e.project_id, "proj");
                               return absl::InvalidArgumentError("policy says no");
                             }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy says no")));
  entries = store_->List("proj");
  ASSERT_THAT(entries, IsOk());
  ASSERT_THAT(*entries, SizeIs(2));
  EXPECT_THAT((*entries)[1].tier_ids, ElementsAre("tier\nwith newline", "", "t\\2"));
  EXPECT_THAT((*entries)[1].run_ids, ElementsAre(""));
  EXPECT_THAT(store_->List("other-project"), IsOkAndHolds(IsEmpty()));
}

// --- Events ---------------------------------------------------------------

TEST_P(StoreTest, WaitForEventsWakesOnCommitAndTimesOut) {
  const Lease lease = CreateAndClaim("r1");
  EXPECT_THAT(store_->WaitForEvents("r1", 0, absl::Now() + absl::Milliseconds(50)),
              IsOkAndHolds(IsEmpty()));

  std::thread writer([&] {
    Transition t;
    t.events = {StateEvent(v1::RUN_STATE_CREATED, v1::RUN_STATE_RUNNING)};
    EXPECT_THAT(store_->Commit(lease, t), IsOk());
  });
  // Generous bound: the commit wakes the waiter long before it.
  absl::StatusOr<std::vector<v1::RunEvent>> events =
      store_->WaitForEvents("r1", 0, absl::Now() + absl::Seconds(30));
  writer.join();
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(1));
  EXPECT_EQ((*events)[0].sequence(), 1);
}

TEST_P(StoreTest, WaitForEventsSeesCommitsOfAnotherStoreInstance) {
  const Lease lease = CreateAndClaim("r1");
  absl::StatusOr<std::unique_ptr<Store>> other = db_->Open();
  ASSERT_THAT(other, IsOk());
  std::thread writer([&] {
    Transition t;
    t.events = {StateEvent(v1::RUN_STATE_CREATED, v1::RUN_STATE_RUNNING)};
    EXPECT_THAT((*other)->Commit(lease, t), IsOk());
  });
  absl::StatusOr<std::vector<v1::RunEvent>> events =
      store_->WaitForEvents("r1", 0, absl::Now() + absl::Seconds(30));
  writer.join();
  ASSERT_THAT(events, IsOk());
  EXPECT_THAT(*events, SizeIs(1));
}

TEST_P(StoreTest, EventSequencesStayGaplessUnderConcurrentCommits) {
  const Lease lease = CreateAndClaim("r1");
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<std::unique_ptr<Store>> store = db_->Open();
      ASSERT_THAT(store, IsOk());
      for (int j = 0; j < 10; ++j) {
        Transition t;
        t.events.resize(2);
        absl::StatusOr<CommitResult> r = (*store)->Commit(lease, t);
        ASSERT_THAT(r, IsOk());
        EXPECT_EQ(r->sequences[1], r->sequences[0] + 1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::StatusOr<std::vector<v1::RunEvent>> events = store_->ReadEvents("r1", 0, 1000);
  ASSERT_THAT(events, IsOk());
  ASSERT_THAT(*events, SizeIs(80));
  for (int i = 0; i < 80; ++i) EXPECT_EQ((*events)[i].sequence(), i + 1);
}

// --- Cancellation ---------------------------------------------------------

TEST_P(StoreTest, RequestCancelMarksALiveRunOnly) {
  const Lease lease = CreateAndClaim("r1");
  EXPECT_THAT(store_->RequestCancel("r1", "user asked"), IsOk());
  absl::StatusOr<RunRecord> record = store_->GetRun("r1");
  ASSERT_THAT(record, IsOk());
  EXPECT_TRUE(record->cancel_requested);
  EXPECT_EQ(record->cancel_reason, "user asked");

  Transition cancel;
  cancel.run.state = v1::RUN_STATE_CANCELLED;
  cancel.run.finished_at = absl::Now();
  ASSERT_THAT(store_->Commit(lease, cancel), IsOk());
  EXPECT_THAT(store_->RequestCancel("r1", "again"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("CANCELLED")));
  EXPECT_THAT(store_->RequestCancel("nope", "x"), StatusHasCode(absl::StatusCode::kNotFound));
}

// --- Pause at a budget cap -------------------------------------------------

TEST_P(StoreTest, APausedRunIsNotClaimedUntilResumedWithItsNewSpec) {
  ASSERT_NO_FATAL_FAILURE(CreatePaused("r1"));
  absl::StatusOr<std::vector<Lease>> none = store_->ClaimRuns("b", 10, absl::Minutes(1));
  ASSERT_THAT(none, IsOk());
  EXPECT_THAT(*none, SizeIs(0));

  v1::RunSpec raised = MakeSpec("r1");
  raised.mutable_budget()->set_max_tokens(123456);
  v1::RunEvent resumed;
  resumed.mutable_run_state()->set_from(v1::RUN_STATE_PAUSED_BUDGET);
  resumed.mutable_run_state()->set_to(v1::RUN_STATE_RUNNING);
  EXPECT_THAT(store_->ResumeRun("r1", MakeSpec("r2"), {resumed}),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(store_->ResumeRun("r1", raised, {resumed}), IsOk());
  EXPECT_THAT(store_->ResumeRun("r1", raised, {resumed}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("RUNNING")));
  EXPECT_THAT(store_->ResumeRun("nope", MakeSpec("nope"), {}),
              StatusHasCode(absl::StatusCode::kNotFound));
  absl::StatusOr<RunRecord> record = store_->GetRun("r1");
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->run.state(), v1::RUN_STATE_RUNNING);
  EXPECT_EQ(record->run.spec().budget().max_tokens(), 123456);
  absl::StatusOr<std::vector<v1::RunEvent>> events = store_->ReadEvents("r1", 0, 1000);
  ASSERT_THAT(events, IsOk());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->back().sequence(), record->last_sequence);
  EXPECT_EQ(events->back().run_state().to(), v1::RUN_STATE_RUNNING);
  // The created spec still names the run for an idempotent CreateRun.
  absl::StatusOr<CreateRunResult> again = store_->CreateRun(MakeSpec("r1"), "", {});
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->already_existed);
  absl::StatusOr<std::vector<Lease>> claimed = store_->ClaimRuns("b", 10, absl::Minutes(1));
  ASSERT_THAT(claimed, IsOk());
  EXPECT_THAT(*claimed, SizeIs(1));
}

TEST_P(StoreTest, APausedRunWithACancelRequestIsClaimedToEndIt) {
  ASSERT_NO_FATAL_FAILURE(CreatePaused("r1"));
  ASSERT_THAT(store_->RequestCancel("r1", "enough"), IsOk());
  absl::StatusOr<std::vector<Lease>> claimed = store_->ClaimRuns("b", 10, absl::Minutes(1));
  ASSERT_THAT(claimed, IsOk());
  EXPECT_THAT(*claimed, SizeIs(1));
}

// --- Leases and fencing -----------------------------------------------------

TEST_P(StoreTest, LeasesAreExclusiveRenewableAndFenceWrites) {
  ASSERT_THAT(store_->CreateRun(MakeSpec("r1"), "", {}), IsOk());
  absl::StatusOr<std::vector<Lease>> first = store_->ClaimRuns("a", 10, absl::Minutes(1));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(*first, SizeIs(1));
  const Lease lease = (*first)[0];
  EXPECT_EQ(lease.owner, "a");
  EXPECT_EQ(lease.epoch, 1);
  EXPECT_GT(lease.expires_at, absl::Now() + absl::Seconds(30));
  EXPECT_THAT(store_->ClaimRuns("b", 10, absl::Minutes(1)), IsOkAndHolds(IsEmpty()));

  absl::StatusOr<Lease> renewed = store_->RenewLease(lease, absl::Minutes(10));
  ASSERT_THAT(renewed, IsOk());
  EXPECT_GT(renewed->expires_at, lease.expires_at);
  EXPECT_EQ(renewed->epoch, lease.epoch);

  ASSERT_THAT(store_->ReleaseLease(*renewed), IsOk());
  EXPECT_THAT(store_->GetRun("r1"), IsOkAndHolds(::testing::Field(
                                        &RunRecord::run, ::testing::Property(&v1::Run::owner, ""))));
  absl::StatusOr<std::vector<Lease>> second = store_->ClaimRuns("b", 10, absl::Minutes(1));
  ASSERT_THAT(second, IsOk());
  ASSERT_THAT(*second, SizeIs(1));
  EXPECT_EQ((*second)[0].epoch, 2);

  // "a" lost the run: every write, renewal and release is refused.
  Transition t;
  t.run.state = v1::RUN_STATE_RUNNING;
  t.events.resize(1);
  EXPECT_THAT(store_->Commit(lease, t),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("lost")));
  EXPECT_THAT(store_->RenewLease(lease, absl::Minutes(1)),
              StatusHasCode(absl::StatusCode::kAborted));
  EXPECT_THAT(store_->ReleaseLease(lease), StatusHasCode(absl::StatusCode::kAborted));
  // Same owner name, older epoch: still refused.
  Lease stale = (*second)[0];
  stale.epoch = 1;
  EXPECT_THAT(store_->Commit(stale, t), StatusHasCode(absl::StatusCode::kAborted));
  absl::StatusOr<RunRecord> record = store_->GetRun("r1");
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->run.state(), v1::RUN_STATE_CREATED);
  EXPECT_EQ(record->last_sequence, 0);
  // The holder writes fine; finished runs are never claimed again.
  t.run.state = v1::RUN_STATE_DONE_SUCCESS;
  EXPECT_THAT(store_->Commit((*second)[0], t), IsOk());
  ASSERT_THAT(store_->ReleaseLease((*second)[0]), IsOk());
  EXPECT_THAT(store_->ClaimRuns("c", 10, absl::Minutes(1)), IsOkAndHolds(IsEmpty()));
  Lease unknown = lease;
  unknown.run_id = "nope";
  EXPECT_THAT(store_->Commit(unknown, t), StatusHasCode(absl::StatusCode::kNotFound));
}

TEST_P(StoreTest, ExpiredLeaseFencesWritesUntilRenewed) {
  ASSERT_THAT(store_->CreateRun(MakeSpec("r1"), "", {}), IsOk());
  absl::StatusOr<std::vector<Lease>> leases =
      store_->ClaimRuns("a", 1, absl::Milliseconds(200));
  ASSERT_THAT(leases, IsOk());
  ASSERT_THAT(*leases, SizeIs(1));
  absl::SleepFor(absl::Milliseconds(300));  // let the lease expire (database clock)
  Transition t;
  t.events.resize(1);
  EXPECT_THAT(store_->Commit((*leases)[0], t),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("expired")));
  // Nobody claimed it meanwhile, so the holder may renew and go on.
  absl::StatusOr<Lease> renewed = store_->RenewLease((*leases)[0], absl::Minutes(1));
  ASSERT_THAT(renewed, IsOk());
  EXPECT_THAT(store_->Commit(*renewed, t), IsOk());
}

TEST_P(StoreTest, TwoReplicasClaimTwentyRunsExactlyOnceAndTakeOverAfterExpiry) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(store_->CreateRun(MakeSpec(absl::StrCat("run-", i)), "", {}), IsOk());
  }
  absl::StatusOr<std::unique_ptr<Store>> a = db_->Open();
  absl::StatusOr<std::unique_ptr<Store>> b = db_->Open();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  const absl::Duration short_ttl = absl::Seconds(3);
  std::vector<Lease> leases_a, leases_b;
  auto claim_all = [short_ttl](Store* store, const std::string& owner, std::vector<Lease>* out) {
    while (true) {
      absl::StatusOr<std::vector<Lease>> got = store->ClaimRuns(owner, 3, short_ttl);
      ASSERT_THAT(got, IsOk());
      if (got->empty()) return;
      out->insert(out->end(), got->begin(), got->end());
    }
  };
  // A takes a first batch on its own, so the take-over below always has
  // something to take even when one racing claimer happens to win every round.
  absl::StatusOr<std::vector<Lease>> first = (*a)->ClaimRuns("replica-a", 5, short_ttl);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->size(), 5u);
  leases_a = *first;
  std::thread ta(claim_all, a->get(), "replica-a", &leases_a);
  std::thread tb(claim_all, b->get(), "replica-b", &leases_b);
  ta.join();
  tb.join();
  // B keeps renewing; A stops (it "died").
  for (Lease& lease : leases_b) {
    absl::StatusOr<Lease> renewed = (*b)->RenewLease(lease, absl::Minutes(5));
    ASSERT_THAT(renewed, IsOk());
    lease = *renewed;
  }
  std::set<std::string> claimed;
  for (const Lease& l : leases_a) EXPECT_TRUE(claimed.insert(l.run_id).second) << l.run_id;
  for (const Lease& l : leases_b) EXPECT_TRUE(claimed.insert(l.run_id).second) << l.run_id;
  EXPECT_EQ(claimed.size(), 20u);

  // Before A's leases expire, B finds nothing to claim.
  EXPECT_THAT((*b)->ClaimRuns("replica-b", 100, absl::Minutes(5)), IsOkAndHolds(IsEmpty()));
  absl::Time last_expiry = absl::InfinitePast();
  for (const Lease& l : leases_a) last_expiry = std::max(last_expiry, l.expires_at);
  absl::SleepFor(last_expiry - absl::Now() + absl::Milliseconds(100));

  absl::StatusOr<std::vector<Lease>> taken = (*b)->ClaimRuns("replica-b", 100, absl::Minutes(5));
  ASSERT_THAT(taken, IsOk());
  std::set<std::string> taken_ids, a_ids;
  for (const Lease& l : *taken) taken_ids.insert(l.run_id);
  for (const Lease& l : leases_a) a_ids.insert(l.run_id);
  EXPECT_EQ(taken_ids, a_ids);
  // A, waking up, can no longer write any of its old runs.
  Transition t;
  t.run.state = v1::RUN_STATE_RUNNING;
  for (const Lease& l : leases_a) {
    EXPECT_THAT((*a)->Commit(l, t), StatusHasCode(absl::StatusCode::kAborted)) << l.run_id;
    EXPECT_THAT((*a)->RenewLease(l, absl::Minutes(1)), StatusHasCode(absl::StatusCode::kAborted));
  }
  for (const Lease& l : *taken) EXPECT_THAT((*b)->Commit(l, t), IsOk());
}

// --- Errors ---------------------------------------------------------------

TEST_P(StoreTest, LostConnectionIsUnavailableAndTheNextCallReconnects) {
  ASSERT_THAT(store_->CreateRun(MakeSpec("r1"), "", {}), IsOk());
  const absl::Status dropped = db_->DropConnections();
  if (absl::IsUnimplemented(dropped)) GTEST_SKIP() << dropped;
  ASSERT_THAT(dropped, IsOk());
  EXPECT_THAT(store_->GetRun("r1"), StatusHasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store_->GetRun("r1"), IsOk());
  // The listener reconnects too: another instance's events still wake us.
  const Lease lease = CreateAndClaim("r2");
  absl::StatusOr<std::unique_ptr<Store>> other = db_->Open();
  ASSERT_THAT(other, IsOk());
  std::thread writer([&] {
    Transition t;
    t.events.resize(1);
    EXPECT_THAT((*other)->Commit(lease, t), IsOk());
  });
  EXPECT_THAT(store_->WaitForEvents("r2", 0, absl::Now() + absl::Seconds(30)),
              IsOkAndHolds(SizeIs(1)));
  writer.join();
}

TEST(StoreOpenTest, OpenStoreChoosesTheBackendByUrl) {
  const std::string path = absl::StrCat(getenv("TEST_TMPDIR"), "/open-store.db");
  absl::StatusOr<std::unique_ptr<Store>> sqlite = OpenStore("sqlite:" + path);
  ASSERT_THAT(sqlite, IsOk());
  EXPECT_THAT((*sqlite)->CreateRun(MakeSpec("r1"), "", {}), IsOk());
  EXPECT_THAT(OpenStore("postgresql://autopack@127.0.0.1:1/x?connect_timeout=5"),
              StatusHasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(OpenStore("postgres:host=127.0.0.1 port=1 connect_timeout=5"),
              StatusHasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(OpenStore("mysql://x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mysql://x")));
  EXPECT_THAT(OpenStore("sqlite:"), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST(StoreOpenTest, UnreachableDatabasesAreUnavailable) {
  EXPECT_THAT(OpenSqliteStore("/nonexistent-dir/store.db"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("/nonexistent-dir/store.db")));
  EXPECT_THAT(OpenPostgresStore("host=127.0.0.1 port=1 dbname=x connect_timeout=5"),
              StatusHasCode(absl::StatusCode::kUnavailable));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::ValuesIn(TestBackendNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace autopack::supervisor
