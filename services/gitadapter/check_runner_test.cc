#include "services/gitadapter/check_runner.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "services/common/status_matchers.h"
#include "services/gitadapter/test_repo.h"

namespace autopack::gitadapter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

CheckSpec Spec(const std::string& dir, const std::string& command, absl::Duration timeout = absl::Seconds(30)) {
  CheckSpec spec;
  spec.dir = dir;
  spec.command = command;
  spec.timeout = timeout;
  spec.max_output_bytes = 64 * 1024;
  return spec;
}

std::unique_ptr<ProcessCheckRunner> MakeRunner(ProcessCheckRunnerOptions options) {
  auto runner = ProcessCheckRunner::Create(std::move(options));
  EXPECT_THAT(runner, IsOk());
  return runner.ok() ? *std::move(runner) : nullptr;
}

class CheckRunnerTest : public ::testing::TestWithParam<SandboxMode> {
 protected:
  void SetUp() override {
    ProcessCheckRunnerOptions options;
    options.sandbox = GetParam();
    runner_ = MakeRunner(options);
    ASSERT_NE(runner_, nullptr);
    dir_ = testing::NewTempDir("ws");
  }
  bool sandboxed() const { return GetParam() == SandboxMode::kBubblewrap; }

  std::unique_ptr<ProcessCheckRunner> runner_;
  std::string dir_;
};

TEST_P(CheckRunnerTest, ReportsExitCodeOutputAndCounts) {
  auto result = runner_->Run(Spec(dir_, "echo '== 2 failed, 5 passed in 0.10s =='; echo oops >&2; exit 3"));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code(), 3);
  EXPECT_FALSE(result->passed());
  EXPECT_FALSE(result->timed_out());
  EXPECT_THAT(result->output_tail(), HasSubstr("oops"));
  EXPECT_EQ(result->tests_passed(), 5);
  EXPECT_EQ(result->tests_failed(), 2);
  EXPECT_EQ(result->output_format(), "pytest");
  EXPECT_EQ(result->sandboxed(), sandboxed());
  EXPECT_EQ(result->sandbox_note(), runner_->description());
  EXPECT_THAT(result->sandbox_note(), HasSubstr(sandboxed() ? "bubblewrap as uid" : "unsandboxed"));

  result = runner_->Run(Spec(dir_, "pwd; echo created > out.txt"));
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->passed()) << result->output_tail();
  EXPECT_EQ(result->output_tail(), dir_ + "\n");
  EXPECT_EQ(result->tests_passed(), -1);
  EXPECT_THAT(ReadFile(dir_ + "/out.txt"), IsOkAndHolds(std::string("created\n")));
}

TEST_P(CheckRunnerTest, KeepsOnlyTheTailOfLongOutput) {
  CheckSpec spec = Spec(dir_, "seq 1 200000; echo THE-END");
  spec.max_output_bytes = 1000;
  auto result = runner_->Run(spec);
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->output_truncated());
  EXPECT_EQ(result->output_tail().size(), 1000u);
  EXPECT_TRUE(absl::EndsWith(result->output_tail(), "200000\nTHE-END\n"));
}

TEST_P(CheckRunnerTest, TimeoutKillsEveryProcessWithinTheLimitPlusTwoSeconds) {
  const std::string marker = sandboxed() ? "97.1234" : "97.4321";
  // A background job, a job in its own session (sandboxed only: it escapes a
  // process group, not a pid namespace) and the foreground sleep.
  const std::string command = sandboxed() ? absl::StrCat("sleep ", marker, " & setsid sleep ", marker,
                                                         " & echo started; sleep ", marker)
                                          : absl::StrCat("sleep ", marker, " & echo started; sleep ", marker);
  const absl::Time start = absl::Now();
  auto result = runner_->Run(Spec(dir_, command, absl::Seconds(1)));
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(result, IsOk());
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_TRUE(result->timed_out());
  EXPECT_FALSE(result->passed());
  EXPECT_EQ(result->exit_code(), -1);
  EXPECT_EQ(result->signal(), 9);
  EXPECT_THAT(result->output_tail(), HasSubstr("started"));
  EXPECT_EQ(testing::CountProcesses(marker), 0);
}

TEST_P(CheckRunnerTest, BackgroundJobsDoNotOutliveAFinishedCommand) {
  const std::string marker = sandboxed() ? "96.1234" : "96.4321";
  const absl::Time start = absl::Now();
  auto result = runner_->Run(Spec(dir_, absl::StrCat("sleep ", marker, " & echo done")));
  ASSERT_THAT(result, IsOk());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(result->passed());
  EXPECT_EQ(testing::CountProcesses(marker), 0);
}

TEST_P(CheckRunnerTest, NetworkIsUnreachableOnlyInTheSandbox) {
  int listener = -1;
  const int port = testing::ListenOnLoopback(&listener);
  ASSERT_NE(port, 0);
  auto result = runner_->Run(
      Spec(dir_, absl::StrCat("bash -c 'exec 3<>/dev/tcp/127.0.0.1/", port, "' && echo connected")));
  close(listener);
  ASSERT_THAT(result, IsOk());
  if (sandboxed()) {
    EXPECT_FALSE(result->passed()) << result->output_tail();
    EXPECT_THAT(result->output_tail(), ::testing::Not(HasSubstr("connected")));
  } else {
    EXPECT_TRUE(result->passed()) << result->output_tail();
    EXPECT_THAT(result->output_tail(), HasSubstr("connected"));
  }
}

TEST_P(CheckRunnerTest, EnvironmentIsMinimalPlusTheRequestedVariables) {
  setenv("AUTOPACK_TEST_SECRET", "leak", 1);
  CheckSpec spec = Spec(dir_, "echo \"[$AUTOPACK_TEST_SECRET][$EXTRA]\"");
  spec.env["EXTRA"] = "given";
  auto result = runner_->Run(spec);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->output_tail(), "[][given]\n");
  spec.env["BAD=NAME"] = "x";
  EXPECT_THAT(runner_->Run(spec), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("BAD=NAME")));
}

INSTANTIATE_TEST_SUITE_P(Modes, CheckRunnerTest, ::testing::Values(SandboxMode::kBubblewrap, SandboxMode::kNone),
                         [](const auto& info) { return info.param == SandboxMode::kNone ? "Unsandboxed" : "Sandboxed"; });

TEST(SandboxTest, EverythingButTheWorkspaceIsReadOnly) {
  auto runner = MakeRunner({});
  ASSERT_NE(runner, nullptr);
  const std::string dir = testing::NewTempDir("ro");
  ASSERT_THAT(testing::Sh(dir, "git init -q . && mkdir outside_probe"), IsOk());
  const std::string outside = testing::NewTempDir("outside");
  CheckSpec spec = Spec(dir, absl::StrCat("touch ", outside, "/x; touch /usr/autopack_probe; "
                                          "touch .git/probe; touch inside && echo wrote-inside"));
  spec.read_only_entries = {".git"};
  auto result = runner->Run(spec);
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->output_tail(), HasSubstr("wrote-inside"));
  EXPECT_THAT(result->output_tail(), HasSubstr("Read-only file system"));
  EXPECT_FALSE(ReadFile(outside + "/x").ok());
  EXPECT_FALSE(ReadFile(dir + "/.git/probe").ok());
  EXPECT_TRUE(ReadFile(dir + "/inside").ok());
}

TEST(SandboxTest, TheWorkspaceBelongsToTheSandboxOnlyWhileTheCheckRuns) {
  auto runner = MakeRunner({});
  ASSERT_NE(runner, nullptr);
  const std::string dir = testing::NewTempDir("owner");
  ASSERT_THAT(testing::Sh(dir, "git init -q . && mkdir -p src && echo x > src/a"), IsOk());
  CheckSpec spec = Spec(dir, "stat -c '%u %n' . src src/a .git; echo new > src/b");
  spec.read_only_entries = {".git"};
  auto result = runner->Run(spec);
  ASSERT_THAT(result, IsOk());
  const std::string uid = absl::StrCat(geteuid() == 0 ? ProcessCheckRunnerOptions().sandbox_uid : geteuid());
  EXPECT_THAT(result->output_tail(), HasSubstr(absl::StrCat(uid, " src/a")));
  if (geteuid() == 0) EXPECT_THAT(result->output_tail(), Not(HasSubstr(absl::StrCat(uid, " .git"))));
  EXPECT_EQ(testing::Trim(testing::Sh(dir, "stat -c '%u' . src/a src/b | sort -u")), absl::StrCat(geteuid()));
}

TEST(SandboxTest, TheRequestsEnvironmentReachesOnlyTheCommandInside) {
  auto runner = MakeRunner({});
  ASSERT_NE(runner, nullptr);
  // The dynamic loader obeys LD_* variables: had they reached setpriv (root)
  // or bubblewrap (outside the sandbox), LD_PRELOAD could run code there.
  CheckSpec spec = Spec(testing::NewTempDir("env"), "echo \"[$MARK]\"");
  spec.env = {{"LD_DEBUG", "files"}, {"MARK", "inside"}};
  auto result = runner->Run(spec);
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->output_tail(), HasSubstr("[inside]"));
  EXPECT_THAT(result->output_tail(), HasSubstr("transferring control: /bin/sh"));
  EXPECT_THAT(result->output_tail(), Not(HasSubstr("transferring control: /usr/bin/setpriv")));
  EXPECT_THAT(result->output_tail(), Not(HasSubstr("transferring control: /usr/bin/bwrap")));
}

TEST(SandboxTest, OptionsAreValidatedNamingTheField) {
  ProcessCheckRunnerOptions missing;
  missing.bwrap_path = "/nonexistent/bwrap";
  EXPECT_THAT(ProcessCheckRunner::Create(missing),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("bwrap_path: /nonexistent/bwrap")));
  ProcessCheckRunnerOptions no_limit;
  no_limit.max_processes = 0;
  EXPECT_THAT(ProcessCheckRunner::Create(no_limit),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_processes")));
  for (const std::string path : {"/", "relative/dir", "/usr/../etc", "/nonexistent/autopack"}) {
    ProcessCheckRunnerOptions extra;
    extra.extra_read_only_paths = {path};
    EXPECT_THAT(ProcessCheckRunner::Create(extra),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("extra_read_only_paths")))
        << path;
  }
  if (geteuid() == 0) {
    ProcessCheckRunnerOptions as_root;
    as_root.sandbox_uid = 0;
    EXPECT_THAT(ProcessCheckRunner::Create(as_root),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("sandbox_uid")));
  }
  auto runner = MakeRunner({});
  ASSERT_NE(runner, nullptr);
  CheckSpec spec = Spec(testing::NewTempDir("entries"), "true");
  spec.read_only_entries = {"a/b"};
  EXPECT_THAT(runner->Run(spec), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("read_only_entries")));
}

TEST(SandboxTest, ProbeRefusesASandboxThatDoesNotWork) {
  auto working = MakeRunner({});
  ASSERT_NE(working, nullptr);
  EXPECT_THAT(working->Probe(testing::NewTempDir("probe")), IsOk());
  // Executable, so Create accepts it; but nothing runs sandboxed.
  ProcessCheckRunnerOptions broken;
  broken.bwrap_path = "/bin/false";
  auto runner = MakeRunner(broken);
  ASSERT_NE(runner, nullptr);
  EXPECT_THAT(runner->Probe(testing::NewTempDir("probe")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("does not work here")));
}

}  // namespace
}  // namespace autopack::gitadapter
