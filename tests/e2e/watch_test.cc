// Must show (issue 6): WatchRun delivers every event of a run, in order, to
// two concurrent watchers, one of which connected late.
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/e2e/suite.h"

namespace autopack::testing {
namespace {

struct Watched {
  std::vector<v1::RunEvent> events;
  grpc::Status status;
};

// Reads the whole stream; notifies `progress` after the first usage event.
Watched Watch(v1::SupervisorService::Stub* stub, const std::string& run_id,
              absl::Notification* progress) {
  Watched out;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
  v1::WatchRunRequest request;
  request.set_run_id(run_id);
  auto reader = stub->WatchRun(&context, request);
  v1::RunEvent event;
  while (reader->Read(&event)) {
    out.events.push_back(event);
    if (progress != nullptr && event.has_usage() && !progress->HasBeenNotified()) {
      progress->Notify();
    }
  }
  out.status = reader->Finish();
  return out;
}

TEST(WatchRunTest, TwoWatchersOneLateGetEveryEventInOrder) {
  auto suite = Suite::Start("watch", NotesAnswers(4));
  ASSERT_TRUE(suite.ok()) << suite.status();
  auto repo = (*suite)->MakeRepo("repo");
  ASSERT_TRUE(repo.ok()) << repo.status();
  auto supervisor = (*suite)->StartSupervisor("sqlite:" + (*suite)->dir() + "/watch.db");
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  auto stub = (*suite)->SupervisorStub(**supervisor);

  {
    grpc::ClientContext context;
    v1::CreateRunRequest request;
    *request.mutable_spec() = NotesSpec("watched", *repo, 2, 2);
    v1::CreateRunResponse response;
    ASSERT_TRUE(stub->CreateRun(&context, request, &response).ok());
  }
  absl::Notification progress;
  Watched early, late;
  std::thread first([&] { early = Watch(stub.get(), "watched", &progress); });
  progress.WaitForNotification();
  std::thread second([&] { late = Watch(stub.get(), "watched", nullptr); });
  first.join();
  second.join();

  for (const Watched* w : {&early, &late}) {
    ASSERT_TRUE(w->status.ok()) << w->status.error_message();
    ASSERT_GE(w->events.size(), 2u);
    // A snapshot first, then every event from 1 without a gap, ending with the run's end.
    EXPECT_TRUE(w->events[0].has_snapshot());
    EXPECT_EQ(w->events[0].sequence(), 0);
    for (size_t i = 1; i < w->events.size(); ++i) {
      EXPECT_EQ(w->events[i].sequence(), static_cast<int64_t>(i));
    }
    const v1::RunEvent& last = w->events.back();
    ASSERT_TRUE(last.has_run_state());
    EXPECT_EQ(last.run_state().to(), v1::RUN_STATE_DONE_SUCCESS);
  }
  // The late watcher saw the run in progress and then the same events.
  EXPECT_NE(late.events[0].snapshot().state(), v1::RUN_STATE_CREATED);
  ASSERT_EQ(early.events.size(), late.events.size());
  for (size_t i = 1; i < early.events.size(); ++i) {
    EXPECT_EQ(early.events[i].SerializeAsString(), late.events[i].SerializeAsString())
        << "event " << i;
  }
  // Every kind of event the run produced was delivered.
  bool phase = false, attempt = false, usage = false, tier = false;
  for (const v1::RunEvent& e : early.events) {
    phase |= e.has_phase_state();
    attempt |= e.has_attempt();
    usage |= e.has_usage();
    tier |= e.has_tier_state();
  }
  EXPECT_TRUE(phase && attempt && usage && tier);
}

}  // namespace
}  // namespace autopack::testing
