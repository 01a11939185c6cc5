// The check sandbox inside GitAdapter's container image (issue 9): the image
// is built with podman from the local Debian base, gitadapter_server runs in
// it as it would be deployed, and checks that try to escape are sent over
// gRPC. Each case fails if the escape works. Where podman cannot run, the
// test fails saying so; it never skips.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "autopack/v1/gitadapter.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/containers/podman.h"
#include "tests/e2e/suite.h"

namespace autopack::testing {
namespace {

class GitAdapterContainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto built = Shell(PodmanSh("image runtime && ") + PodmanSh("image gitadapter deploy/opt/gitadapter_server deploy/opt/health_probe"));
    ASSERT_TRUE(built.ok()) << "podman could not build the GitAdapter image here: " << built.status();
    repos_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/repos");
    ASSERT_TRUE(Shell(absl::StrCat("set -e; rm -rf ", repos_, "; mkdir -p ", repos_, "/hello; cd ", repos_,
                                   "/hello; git init -q -b main .; printf 'print(1)\\n' > app.py;"
                                   " git add -A; git -c user.name=t -c user.email=t@t commit -q -m initial"))
                    .ok());
    port_ = FreePort();
    name_ = absl::StrCat("autopack-ga-test-", getpid());
    auto started = Shell(PodmanSh(absl::StrCat(
        "podman run -d --init --name ", name_, " --network=host --security-opt systempaths=unconfined -v ", repos_, ":/repos:ro ",
        "localhost/autopack-gitadapter:dev --listen=127.0.0.1:", port_,
        " --local_repo_roots=/repos --sandbox_max_processes=64 --sandbox_tmpfs_bytes=67108864"
        " --sandbox_max_memory_bytes=1073741824 2>&1")));
    ASSERT_TRUE(started.ok()) << started.status();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    auto health = grpc::health::v1::Health::NewStub(channel_);
    bool serving = false;
    for (int i = 0; i < 300 && !serving; ++i) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
      grpc::health::v1::HealthCheckResponse response;
      serving = health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok() &&
                response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      if (!serving) absl::SleepFor(absl::Milliseconds(100));
    }
    ASSERT_TRUE(serving) << "gitadapter_server in the container never became healthy:\n" << Logs();
    git_ = v1::GitAdapterService::NewStub(channel_);
    for (const char* run : {"run1", "other"}) {  // "other" is the workspace a check must not see
      grpc::ClientContext context;
      v1::OpenWorkspaceRequest open;
      open.set_run_id(run);
      open.set_repo_url("/repos/hello");
      v1::OpenWorkspaceResponse opened;
      const grpc::Status status = git_->OpenWorkspace(&context, open, &opened);
      ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << Logs();
    }
  }

  void TearDown() override {
    (void)Shell(PodmanSh(absl::StrCat("podman rm -f -t 3 ", name_, " >/dev/null 2>&1")));
    auto left = Shell(PodmanSh(absl::StrCat("podman ps -a --filter name=", name_, " --format '{{.Names}}'")));
    EXPECT_TRUE(left.ok() && left->empty()) << "container left behind";
  }

  std::string Logs() {
    auto logs = Shell(PodmanSh(absl::StrCat("podman logs ", name_, " 2>&1")));
    return logs.ok() ? *logs : logs.status().ToString();
  }

  v1::CheckResult Check(const std::string& command) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
    v1::RunChecksRequest request;
    request.set_workspace_id("run1");
    request.set_command(command);
    request.mutable_timeout()->set_seconds(60);
    v1::RunChecksResponse response;
    const grpc::Status status = git_->RunChecks(&context, request, &response);
    EXPECT_TRUE(status.ok()) << command << ": " << status.error_message();
    EXPECT_TRUE(response.result().sandboxed()) << response.result().sandbox_note();
    return response.result();
  }

  std::string repos_, name_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::GitAdapterService::Stub> git_;
};

TEST_F(GitAdapterContainerTest, ChecksRunSandboxedAndEscapesFail) {
  // The project's own tests run: Python and pytest are in the image.
  const v1::CheckResult ok = Check("python3 app.py && python3 -m pytest --version");
  EXPECT_TRUE(ok.passed()) << ok.output_tail();

  const v1::CheckResult who = Check("id -u; grep CapEff /proc/self/status");
  EXPECT_TRUE(who.passed()) << who.output_tail();
  EXPECT_FALSE(absl::StartsWith(who.output_tail(), "0\n")) << "checks run as root: " << who.output_tail();
  EXPECT_TRUE(absl::StrContains(who.output_tail(), "CapEff:\t0000000000000000")) << who.output_tail();

  struct Escape {
    const char* what;
    const char* command;  // exits 0 only if the escape worked
  };
  const Escape escapes[] = {
      {"remount the root filesystem", "mkdir -p /tmp/h && mount --bind / /tmp/h && mount -o remount,bind,rw /tmp/h"},
      {"read /etc/shadow", "cat /etc/shadow"},
      {"read another workspace", "ls /var/lib/autopack/workspaces/other/repo/app.py"},
      {"read GitAdapter's workspace metadata", "cat /var/lib/autopack/workspaces/run1/workspace.meta"},
      {"write outside the workspace", "touch /usr/escaped || touch /escaped || touch /var/escaped"},
      {"move the branch", "git update-ref refs/heads/autopack/run1 HEAD~0 && echo x > .git/escaped"},
      {"reach a loopback TCP port", "python3 -c \"import socket,sys; s=socket.create_connection(('127.0.0.1', int(sys.argv[1])), 2)\" PORT"},
      {"exceed the process limit",
       "python3 -c \"import os,sys\nn=0\ntry:\n  for i in range(200):\n    if os.fork()==0:\n      import time; time.sleep(5); os._exit(0)\n    n+=1\nexcept OSError: sys.exit(1)\n\""},
      {"exceed the memory limit", "python3 -c \"b=bytearray(2*1024**3)\""},
      {"exceed the tmpfs size", "dd if=/dev/zero of=/tmp/fill bs=1M count=100"},
  };
  for (const Escape& e : escapes) {
    std::string command = e.command;
    if (size_t at = command.find("PORT"); at != std::string::npos) command.replace(at, 4, std::to_string(port_));
    const v1::CheckResult result = Check(command);
    EXPECT_FALSE(result.passed()) << e.what << " worked inside the container:\n" << result.output_tail();
    std::cout << e.what << ": stopped (exit " << result.exit_code() << "): "
              << result.output_tail().substr(0, 160) << "\n";
  }
  // Nothing of the escapes reached the container's own filesystem.
  auto leaked = Shell(PodmanSh(absl::StrCat("podman exec ", name_, " sh -c 'ls /usr/escaped /escaped /var/escaped 2>/dev/null'")));
  EXPECT_TRUE(!leaked.ok() || leaked->empty()) << *leaked;
}

// With the container's default masked /proc the sandbox cannot mount a fresh
// /proc: GitAdapter must refuse to start, saying why, not run checks
// unsandboxed.
TEST_F(GitAdapterContainerTest, WithoutAnUnmaskedProcTheServerRefusesToStart) {
  auto refused = Shell(PodmanSh(absl::StrCat(
      "podman run --rm --init --network=host localhost/autopack-gitadapter:dev --listen=127.0.0.1:", FreePort(),
      " 2>&1; echo \"exit=$?\"")));
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_TRUE(absl::StrContains(*refused, "exit=1")) << *refused;
  EXPECT_TRUE(absl::StrContains(*refused, "cannot set up the check sandbox")) << *refused;
  EXPECT_TRUE(absl::StrContains(*refused, "Can't mount proc")) << *refused;
}

}  // namespace
}  // namespace autopack::testing
