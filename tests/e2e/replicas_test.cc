// Must show (issue 6): two supervisor replicas on one PostgreSQL and twenty
// runs: every run completes exactly once, also when one replica is killed
// half way.
#include <signal.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/suite.h"
#include "tests/testing/postgres/postgres_server.h"

namespace autopack::testing {
namespace {

using ::testing::SizeIs;

constexpr int kRuns = 20;

// Runs in RUNNING that `owner` holds the lease of.
std::set<std::string> RunningOn(v1::SupervisorService::Stub* stub, const std::string& owner) {
  grpc::ClientContext context;
  v1::ListRunsRequest request;
  request.add_states(v1::RUN_STATE_RUNNING);
  request.set_page_size(100);
  v1::ListRunsResponse response;
  std::set<std::string> runs;
  if (!stub->ListRuns(&context, request, &response).ok()) return runs;
  for (const v1::Run& run : response.runs()) {
    if (run.owner() == owner) runs.insert(run.run_id());
  }
  return runs;
}

int CountDone(v1::SupervisorService::Stub* stub) {
  grpc::ClientContext context;
  v1::ListRunsRequest request;
  request.add_states(v1::RUN_STATE_DONE_SUCCESS);
  request.set_page_size(100);
  v1::ListRunsResponse response;
  if (!stub->ListRuns(&context, request, &response).ok()) return -1;
  return response.runs_size();
}

TEST(ReplicasTest, TwentyRunsCompleteExactlyOnceWhenAReplicaIsKilled) {
  auto pg = PostgresServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  auto conninfo = (*pg)->CreateDatabase();
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  const std::string store = "postgres:" + *conninfo;

  auto suite = Suite::Start("replicas", NotesAnswers(1));
  ASSERT_TRUE(suite.ok()) << suite.status();
  auto repo = (*suite)->MakeRepo("repo");
  ASSERT_TRUE(repo.ok()) << repo.status();
  auto a = (*suite)->StartSupervisor(store, {"--replica_id=replica-a"});
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = (*suite)->StartSupervisor(store, {"--replica_id=replica-b"});
  ASSERT_TRUE(b.ok()) << b.status();
  auto stub_a = (*suite)->SupervisorStub(**a);
  auto stub_b = (*suite)->SupervisorStub(**b);

  for (int i = 0; i < kRuns; ++i) {
    grpc::ClientContext context;
    v1::CreateRunRequest request;
    *request.mutable_spec() = NotesSpec(absl::StrCat("run-", i), *repo, 1, 1);
    v1::CreateRunResponse response;
    // Either replica accepts runs; both drive them.
    auto* stub = i % 2 == 0 ? stub_a.get() : stub_b.get();
    const grpc::Status status = stub->CreateRun(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // Kill replica A once some runs are done and A is in the middle of others.
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  std::set<std::string> in_flight_on_a;
  while (absl::Now() < deadline) {
    if (CountDone(stub_b.get()) >= kRuns / 4) {
      in_flight_on_a = RunningOn(stub_b.get(), "replica-a");
      if (!in_flight_on_a.empty()) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  const std::string a_log_before_kill = (*a)->Log();
  auto killed = (*a)->Stop(SIGKILL, absl::Seconds(10));
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(*killed, 128 + SIGKILL);

  for (int i = 0; i < kRuns; ++i) {
    const std::string run_id = absl::StrCat("run-", i);
    auto run = WaitForRunEnd(stub_b.get(), run_id, deadline - absl::Now());
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->state(), v1::RUN_STATE_DONE_SUCCESS) << run_id << ": " << run->state_reason();
    // Exactly once: one commit for its one phase, one attempt, and the events
    // record one start and one end.
    auto subjects = CommitSubjects((*suite)->workspace_root() + "/" + run_id + "/repo");
    ASSERT_TRUE(subjects.ok()) << subjects.status();
    EXPECT_THAT(*subjects, SizeIs(1)) << run_id;
    EXPECT_EQ(run->tiers(0).phases(0).attempts(), 1) << run_id;
  }
  EXPECT_EQ(CountDone(stub_b.get()), kRuns);
  // A was driving runs when it died (it may still have finished some in the
  // instant before the kill); B took over the others.
  ASSERT_FALSE(in_flight_on_a.empty());
  int taken_over = 0;
  for (const std::string& run_id : in_flight_on_a) {
    taken_over += (*b)->Log().find(absl::StrCat("\"msg\":\"driving run\",\"run_id\":\"",
                                                run_id, "\"")) != std::string::npos;
  }
  EXPECT_GT(taken_over, 0);
  // Both replicas drove runs.
  EXPECT_NE(a_log_before_kill.find("driving run"), std::string::npos);
  EXPECT_NE((*b)->Log().find("driving run"), std::string::npos);
  auto stopped = (*b)->Stop(SIGTERM, absl::Seconds(10));
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0);
}

}  // namespace
}  // namespace autopack::testing
