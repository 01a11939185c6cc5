// `autopackctl watch` on a terminal is a live view redrawn in place; into a
// pipe it is the event log, one line per event. The terminal is a
// pseudo-terminal made by script(1).
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/suite.h"

namespace autopack::testing {
namespace {

TEST(WatchTtyTest, LiveViewOnATerminalEventLogOtherwise) {
  auto suite = Suite::Start("watch_tty", NotesAnswers(2));
  ASSERT_TRUE(suite.ok()) << suite.status();
  auto repo = (*suite)->MakeRepo("repo");
  ASSERT_TRUE(repo.ok()) << repo.status();
  auto supervisor = (*suite)->StartSupervisor("sqlite:" + (*suite)->dir() + "/watch.db");
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  {
    grpc::ClientContext context;
    v1::CreateRunRequest request;
    *request.mutable_spec() = NotesSpec("tty", *repo, 2, 1);
    v1::CreateRunResponse response;
    ASSERT_TRUE((*suite)->SupervisorStub(**supervisor)->CreateRun(&context, request, &response).ok());
  }
  const std::string token_file = (*suite)->dir() + "/alice.token";
  std::ofstream(token_file) << (*suite)->Token("alice") << "\n";
  const std::string watch =
      absl::StrCat("cli/autopackctl --supervisor=", (*supervisor)->address(), " --tls_ca=",
                   (*suite)->pki("ca.pem"), " --token_file=", token_file, " watch tty");

  // On a terminal: frames redrawn in place (cursor up, clear), the last one
  // the finished run with every tier and phase.
  auto tty = Shell(absl::StrCat("script -qefc '", watch, "' /dev/null"));
  ASSERT_TRUE(tty.ok()) << tty.status();
  EXPECT_TRUE(absl::StrContains(*tty, "\x1b[")) << "no redraw on a terminal:\n" << *tty;
  const std::string last = tty->substr(tty->rfind("\x1b[J") + 3);
  for (const char* want : {"run tty  DONE_SUCCESS  elapsed ", "budget used $", "tier t1  COMPLETE", "tier t2  COMPLETE",
                           "p1               COMPLETE         attempt 1  builder ", "p2               COMPLETE"}) {
    EXPECT_TRUE(absl::StrContains(last, want)) << want << " not in the last frame:\n" << last;
  }
  EXPECT_FALSE(absl::StrContains(*tty, "[   1] run CREATED")) << "the event log on a terminal";

  // Into a pipe: the event log, no escape sequences.
  auto piped = Shell(watch + " | cat");
  ASSERT_TRUE(piped.ok()) << piped.status();
  EXPECT_FALSE(absl::StrContains(*piped, "\x1b")) << *piped;
  EXPECT_TRUE(absl::StrContains(*piped, "run DONE_SUCCESS")) << *piped;
  EXPECT_TRUE(absl::StrContains(*piped, "phase p1 attempt 1 COMPLETE")) << *piped;
}

}  // namespace
}  // namespace autopack::testing
