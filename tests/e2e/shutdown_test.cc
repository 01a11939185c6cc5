// A Supervisor told to stop while one of its runs waits in a model call
// (issue 15): it exits within its grace period instead of waiting for the call,
// and the run completes after a restart, the call billed once.
#include <signal.h>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/suite.h"

namespace autopack::testing {
namespace {

TEST(ShutdownTest, SigtermDuringAModelCallExitsInTimeAndTheRunCompletesAfterARestart) {
  auto suite = Suite::Start("shutdown", NotesAnswers(1));
  ASSERT_TRUE(suite.ok()) << suite.status();
  Suite& s = **suite;
  // The first model call is held until the Supervisor has been stopped.
  absl::Notification arrived, release;
  std::atomic<int> calls{0};
  FakeProviderServer::Responder plan = PlanResponder(NotesAnswers(1));
  s.fake().SetResponder([&, plan](const RecordedExchange& request) {
    if (calls++ == 0) {
      arrived.Notify();
      release.WaitForNotificationWithTimeout(absl::Seconds(60));
    }
    return plan(request);
  });
  auto repo = s.MakeRepo("repo");
  ASSERT_TRUE(repo.ok()) << repo.status();
  const std::string store = "sqlite:" + s.dir() + "/shutdown.db";
  auto supervisor = s.StartSupervisor(store);
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  {
    auto stub = s.SupervisorStub(**supervisor);
    grpc::ClientContext context;
    v1::CreateRunRequest request;
    *request.mutable_spec() = NotesSpec("held", *repo, 1, 1);
    v1::CreateRunResponse response;
    ASSERT_TRUE(stub->CreateRun(&context, request, &response).ok());
  }
  ASSERT_TRUE(arrived.WaitForNotificationWithTimeout(absl::Seconds(60)));

  const absl::Time start = absl::Now();
  absl::StatusOr<int> exit = (*supervisor)->Stop(SIGTERM, absl::Seconds(30));
  const absl::Duration took = absl::Now() - start;
  release.Notify();
  ASSERT_TRUE(exit.ok()) << exit.status() << "\n" << (*supervisor)->Log();
  EXPECT_EQ(*exit, 0) << (*supervisor)->Log();
  // The suite's Supervisor has --shutdown_grace=2s; a stop that waited for
  // the call would take until the test released it (never, here).
  EXPECT_LT(took, absl::Seconds(10)) << "stopping took " << took;

  auto restarted = s.StartSupervisor(store);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  auto stub = s.SupervisorStub(**restarted);
  absl::StatusOr<v1::Run> run = WaitForRunEnd(stub.get(), "held", absl::Seconds(120));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->state(), v1::RUN_STATE_DONE_SUCCESS) << run->state_reason();
  // The held call was answered once and served from the Builder's
  // idempotency cache after the restart: one Builder and one Auditor call.
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace autopack::testing
