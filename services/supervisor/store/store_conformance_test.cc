// The same store tests against every implementation: SQLite on a file, and
// PostgreSQL on a real server started for this test (tests/testing/postgres).
#include <atomic>
#include <map>
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
#include "services/supervisor/store/postgres_store.h"
#include "services/supervisor/store/sqlite_store.h"
#include "services/supervisor/store/store.h"
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

LedgerOp Ledger(LedgerOp::Kind kind, const std::string& key, int64_t cost = 0) {
  LedgerOp op;
  op.kind = kind;
  op.entry.key = key;
  op.entry.tier_id = "t1";
  op.entry.phase_id = "t1p1";
  op.entry.role = "builder";
  op.entry.model = "openai/gpt-4o";
  op.entry.reserved_tokens = 1000;
  op.entry.reserved_micro_usd = 5000;
  op.entry.usage.set_input_tokens(100);
  op.entry.usage.set_output_tokens(cost);
  op.entry.cost_micro_usd = cost;
  return op;
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

  // Creates a run and claims it for "replica-a".
  Lease CreateAndClaim(const std::string& run_id) {
    EXPECT_THAT(store_->CreateRun(MakeSpec(run_id), {}), IsOk());
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
  EXPECT_THAT((*store)->CreateRun(MakeSpec("r1"), {}), IsOk());
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
      store_->CreateRun(MakeSpec("r1"), {StateEvent(v1::RUN_STATE_UNSPECIFIED,
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
  absl::StatusOr<CreateRunResult> again = store_->CreateRun(same, {StateEvent(
      v1::RUN_STATE_UNSPECIFIED, v1::RUN_STATE_CREATED)});
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->already_existed);
  EXPECT_EQ(again->record.last_sequence, 1);
  EXPECT_THAT(store_->ReadEvents("r1", 0, 100), IsOkAndHolds(SizeIs(1)));

  v1::RunSpec different = MakeSpec("r1");
  different.set_check_command("make test");
  EXPECT_THAT(store_->CreateRun(different, {}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("r1")));
}

TEST_P(StoreTest, CreateRunRejectsMissingAndDuplicateIds) {
  EXPECT_THAT(store_->CreateRun(MakeSpec(""), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_id")));
  v1::RunSpec spec = MakeSpec("r1");
  spec.mutable_tiers(1)->mutable_phases(0)->set_phase_id("t1p1");
  EXPECT_THAT(store_->CreateRun(spec, {}),
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
      absl::StatusOr<CreateRunResult> r = (*store)->CreateRun(MakeSpec("same"), {});
      ASSERT_THAT(r, IsOk());
      if (!r->already_existed) ++fresh;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(fresh.load(), 1);
}

TEST_P(StoreTest, ListRunsFiltersAndPagesNewestFirst) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_THAT(store_->CreateRun(MakeSpec(absl::StrCat("r", i), i % 2 ? "odd" : "even"), {}),
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
  first.ledger.push_back(Ledger(LedgerOp::Kind::kReserve, "call-1"));
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
  t.issues.push_back({"t1", "t1p1", MakeIssue("fp", v1::SEVERITY_MINOR)});
  t.events.push_back(StateEvent(v1::RUN_STATE_CREATED, v1::RUN_STATE_RUNNING));
  t.ledger.push_back(Ledger(LedgerOp::Kind::kReserve, "call-2"));
  t.ledger.push_back(Ledger(LedgerOp::Kind::kReserve, "call-1"));
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
  EXPECT_THAT(store_->ListLedgerEntries("r1"), IsOkAndHolds(SizeIs(1)));
  EXPECT_THAT(store_->ListRunIssues("r1", {}), IsOkAndHolds(::testing::Field(
                                                   &IssuePage::issues, IsEmpty())));
  EXPECT_THAT(store_->ListBacklog("proj", {}),
              IsOkAndHolds(::testing::Field(&IssuePage::issues, IsEmpty())));

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

TEST_P(StoreTest, LedgerNeverCountsACallTwiceAndShowsOpenReservations) {
  const Lease lease = CreateAndClaim("r1");
  Transition reserve;
  reserve.ledger = {Ledger(LedgerOp::Kind::kReserve, "k1"),
                    Ledger(LedgerOp::Kind::kReserve, "k2"),
                    Ledger(LedgerOp::Kind::kReserve, "k3"),
                    Ledger(LedgerOp::Kind::kRecord, "k4", 7)};
  ASSERT_THAT(store_->Commit(lease, reserve), IsOk());
  Transition settle;
  settle.ledger = {Ledger(LedgerOp::Kind::kSettle, "k1", 4200),
                   Ledger(LedgerOp::Kind::kRelease, "k2")};
  ASSERT_THAT(store_->Commit(lease, settle), IsOk());

  Transition twice;
  twice.ledger = {Ledger(LedgerOp::Kind::kSettle, "k1", 4200)};
  EXPECT_THAT(store_->Commit(lease, twice),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already settled")));
  twice.ledger = {Ledger(LedgerOp::Kind::kRelease, "k2")};
  EXPECT_THAT(store_->Commit(lease, twice),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already released")));
  twice.ledger = {Ledger(LedgerOp::Kind::kSettle, "missing")};
  EXPECT_THAT(store_->Commit(lease, twice),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
  twice.ledger = {Ledger(LedgerOp::Kind::kRecord, "k4", 7)};
  EXPECT_THAT(store_->Commit(lease, twice), StatusHasCode(absl::StatusCode::kAlreadyExists));

  // A restarted process (a new store instance) rebuilds the same ledger.
  absl::StatusOr<std::unique_ptr<Store>> restarted = db_->Open();
  ASSERT_THAT(restarted, IsOk());
  absl::StatusOr<std::vector<LedgerEntry>> entries = (*restarted)->ListLedgerEntries("r1");
  ASSERT_THAT(entries, IsOk());
  std::map<std::string, LedgerEntry> by_key;
  for (const LedgerEntry& e : *entries) by_key[e.key] = e;
  ASSERT_EQ(by_key.size(), 4u);
  EXPECT_EQ(by_key["k1"].state, LedgerState::kSettled);
  EXPECT_EQ(by_key["k1"].cost_micro_usd, 4200);
  EXPECT_EQ(by_key["k1"].usage.output_tokens(), 4200);
  EXPECT_EQ(by_key["k1"].reserved_micro_usd, 5000);
  EXPECT_EQ(by_key["k1"].model, "openai/gpt-4o");
  EXPECT_EQ(by_key["k1"].tier_id, "t1");
  EXPECT_EQ(by_key["k1"].phase_id, "t1p1");
  EXPECT_EQ(by_key["k1"].role, "builder");
  EXPECT_EQ(by_key["k1"].run_id, "r1");
  EXPECT_EQ(by_key["k2"].state, LedgerState::kReleased);
  EXPECT_EQ(by_key["k2"].cost_micro_usd, 0);
  EXPECT_EQ(by_key["k3"].state, LedgerState::kReserved);  // left open by a "crash"
  EXPECT_EQ(by_key["k4"].state, LedgerState::kSettled);
  EXPECT_EQ(by_key["k4"].cost_micro_usd, 7);
}

// --- Issues ---------------------------------------------------------------

TEST_P(StoreTest, IssuesAreIndexedPerRunAndAgeOncePerRunInTheBacklog) {
  StoreOptions options;
  options.needs_cleanup = [](const v1::TrackedIssue& t) {
    return t.issue().severity() == v1::SEVERITY_MINOR &&
           (t.runs_seen() >= 3 || t.tiers_seen() >= 2);
  };
  absl::StatusOr<std::unique_ptr<Store>> store = db_->Open(options);
  ASSERT_THAT(store, IsOk());
  store_ = std::move(*store);

  const Lease a = CreateAndClaim("ra");
  Transition five;
  for (int i = 0; i < 5; ++i) {
    five.issues.push_back({"t1", "t1p1", MakeIssue("minor-1", v1::SEVERITY_MINOR)});
  }
  five.issues.push_back({"t1", "t1p1", MakeIssue("major-1", v1::SEVERITY_MAJOR)});
  absl::StatusOr<CommitResult> result = store_->Commit(a, five);
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->issue_occurrences, ElementsAre(1, 2, 3, 4, 5, 1));

  absl::StatusOr<IssuePage> backlog = store_->ListBacklog("proj", {});
  ASSERT_THAT(backlog, IsOk());
  ASSERT_THAT(backlog->issues, SizeIs(2));
  EXPECT_EQ(backlog->issues[0].issue().fingerprint(), "minor-1");
  EXPECT_EQ(backlog->issues[0].occurrences(), 5);
  EXPECT_EQ(backlog->issues[0].runs_seen(), 1);  // five times in one run: aged once
  EXPECT_EQ(backlog->issues[0].tiers_seen(), 1);
  EXPECT_FALSE(backlog->issues[0].needs_cleanup());
  EXPECT_EQ(backlog->issues[0].first_run_id(), "ra");

  // A second run sees it in two tiers: two (run, tier) pairs more.
  const Lease b = CreateAndClaim("rb");
  Transition two_tiers;
  two_tiers.issues = {{"t1", "t1p1", MakeIssue("minor-1", v1::SEVERITY_MINOR)},
                      {"t2", "t2p1", MakeIssue("minor-1", v1::SEVERITY_MINOR)},
                      {"t2", "t2p1", MakeIssue("major-1", v1::SEVERITY_MAJOR)}};
  ASSERT_THAT(store_->Commit(b, two_tiers), IsOk());
  IssueQuery cleanup;
  cleanup.needs_cleanup_only = true;
  backlog = store_->ListBacklog("proj", cleanup);
  ASSERT_THAT(backlog, IsOk());
  ASSERT_THAT(backlog->issues, SizeIs(1));
  const v1::TrackedIssue& minor = backlog->issues[0];
  EXPECT_EQ(minor.issue().fingerprint(), "minor-1");
  EXPECT_EQ(minor.runs_seen(), 2);
  EXPECT_EQ(minor.tiers_seen(), 3);
  EXPECT_TRUE(minor.needs_cleanup());
  EXPECT_EQ(minor.first_run_id(), "ra");
  EXPECT_EQ(minor.last_run_id(), "rb");

  // The run index counts within the run only; filtered and paged.
  absl::StatusOr<IssuePage> run_a = store_->ListRunIssues("ra", {});
  ASSERT_THAT(run_a, IsOk());
  ASSERT_THAT(run_a->issues, SizeIs(2));
  EXPECT_EQ(run_a->issues[0].occurrences(), 5);
  IssueQuery majors;
  majors.min_severity = v1::SEVERITY_MAJOR;
  majors.page_size = 1;
  absl::StatusOr<IssuePage> run_b = store_->ListRunIssues("rb", majors);
  ASSERT_THAT(run_b, IsOk());
  ASSERT_THAT(run_b->issues, SizeIs(1));
  EXPECT_EQ(run_b->issues[0].issue().fingerprint(), "major-1");
  EXPECT_THAT(run_b->next_page_token, IsEmpty());
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

  Transition no_fingerprint;
  no_fingerprint.issues = {{"t1", "t1p1", MakeIssue("", v1::SEVERITY_MINOR)}};
  EXPECT_THAT(store_->Commit(a, no_fingerprint),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fingerprint")));
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

// --- Leases and fencing -----------------------------------------------------

TEST_P(StoreTest, LeasesAreExclusiveRenewableAndFenceWrites) {
  ASSERT_THAT(store_->CreateRun(MakeSpec("r1"), {}), IsOk());
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
  ASSERT_THAT(store_->CreateRun(MakeSpec("r1"), {}), IsOk());
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
    ASSERT_THAT(store_->CreateRun(MakeSpec(absl::StrCat("run-", i)), {}), IsOk());
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
  ASSERT_FALSE(leases_a.empty()) << "replica-a claimed nothing; cannot test take-over";

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
  ASSERT_THAT(store_->CreateRun(MakeSpec("r1"), {}), IsOk());
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
