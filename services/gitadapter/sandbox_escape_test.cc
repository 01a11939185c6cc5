// Escape attempts against the check sandbox, run as CI runs them (as root).
// Each test fails if the escape works, asserts on what stopped it and logs
// the check's own output. Where it is safe, the same command first runs
// unsandboxed (or with a looser limit) and must succeed there, so a test
// cannot pass because its attack was broken.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "services/common/status_matchers.h"
#include "services/gitadapter/check_runner.h"
#include "services/gitadapter/test_repo.h"

namespace autopack::gitadapter {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// A listening AF_UNIX socket at `path` ('@' first: the abstract namespace).
int ListenOnUnixSocket(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  if (path[0] == '@') address.sun_path[0] = '\0';
  const socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(fd, 8) != 0) return -1;
  return fd;
}

std::string PythonConnect(const std::string& path) {
  const std::string target = path[0] == '@' ? absl::StrCat("'\\0", path.substr(1), "'") : absl::StrCat("'", path, "'");
  return absl::StrCat("python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); s.connect(", target,
                      "); print('connected')\"");
}

class SandboxEscapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Two workspaces side by side, as under GitAdapter's --workspace_root.
    root_ = testing::NewTempDir("workspaces");
    ws_ = root_ + "/ws1";
    other_ = root_ + "/ws2";
    outside_ = testing::NewTempDir("outside");
    ASSERT_THAT(testing::Sh(root_, "mkdir ws1 ws2 && echo other-workspace-secret > ws2/secret && "
                                   "cd ws1 && git init -q -b main . && echo one > f && git add f && "
                                   "git commit -qm one"),
                IsOk());
  }

  // Runs `command` in ws1 with `options` (the defaults unless changed).
  v1::CheckResult Check(const std::string& command, ProcessCheckRunnerOptions options = {}) {
    auto runner = ProcessCheckRunner::Create(std::move(options));
    EXPECT_THAT(runner, IsOk());
    if (!runner.ok()) return {};
    CheckSpec spec;
    spec.dir = ws_;
    spec.command = command;
    spec.timeout = absl::Seconds(60);
    spec.max_output_bytes = 16 * 1024;
    spec.read_only_entries = {".git"};
    auto result = (*runner)->Run(spec);
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return {};
    std::cout << "[" << ::testing::UnitTest::GetInstance()->current_test_info()->name() << "] "
              << (result->sandboxed() ? "sandboxed" : "unsandboxed") << ", exit " << result->exit_code()
              << ", output:\n" << result->output_tail() << std::endl;
    return *result;
  }

  static ProcessCheckRunnerOptions Unsandboxed() {
    ProcessCheckRunnerOptions options;
    options.sandbox = SandboxMode::kNone;
    return options;
  }

  std::string root_, ws_, other_, outside_;
};

TEST_F(SandboxEscapeTest, RemountingTheRootFilesystemReadWriteFails) {
  const std::string marker = outside_ + "/written-through-remount";
  const v1::CheckResult result = Check(absl::StrCat(
      "mkdir -p /tmp/h && mount --bind / /tmp/h && mount -o remount,bind,rw /tmp/h && touch /tmp/h", marker,
      "; unshare -Urm sh -c 'mount --bind / /tmp/h && touch /tmp/h", marker, "'; grep Cap /proc/self/status"));
  EXPECT_TRUE(result.sandboxed());
  EXPECT_FALSE(PathExists(marker));
  // Not root, no capabilities, and no user namespace to get them in.
  EXPECT_THAT(result.output_tail(), HasSubstr("mount: "));
  EXPECT_THAT(result.output_tail(), HasSubstr("unshare failed"));
  EXPECT_THAT(result.output_tail(), HasSubstr("CapEff:\t0000000000000000"));
  EXPECT_THAT(result.output_tail(), HasSubstr("CapBnd:\t0000000000000000"));
}

TEST_F(SandboxEscapeTest, EtcShadowAndRootsHomeAreNotThere) {
  const std::string command = "cat /etc/shadow && echo read-shadow; ls /root/.ssh /etc/ssh 2>&1";
  if (geteuid() == 0) EXPECT_THAT(Check(command, Unsandboxed()).output_tail(), HasSubstr("read-shadow"));
  const v1::CheckResult result = Check(command);
  EXPECT_THAT(result.output_tail(), Not(HasSubstr("read-shadow")));
  EXPECT_THAT(result.output_tail(), HasSubstr("/etc/shadow: No such file or directory"));
  EXPECT_THAT(result.output_tail(), HasSubstr("/root/.ssh': No such file or directory"));
}

TEST_F(SandboxEscapeTest, AnotherWorkspaceIsNotThere) {
  const std::string command = absl::StrCat("cat ../ws2/secret ", other_, "/secret; ls ", root_);
  EXPECT_THAT(Check(command, Unsandboxed()).output_tail(), HasSubstr("other-workspace-secret"));
  const v1::CheckResult result = Check(command);
  EXPECT_THAT(result.output_tail(), Not(HasSubstr("other-workspace-secret")));
  EXPECT_THAT(result.output_tail(), HasSubstr("ws2/secret: No such file or directory"));
  // The workspace root shows only the workspace itself.
  EXPECT_THAT(result.output_tail(), HasSubstr("\nws1\n"));
}

TEST_F(SandboxEscapeTest, NothingOutsideTheWorkspaceIsWritable) {
  const std::string command =
      absl::StrCat("for p in ", outside_, "/x ", other_, "/x /usr/x /etc/x /x /dev/x ", root_,
                   "/x; do echo pwned > $p && echo wrote $p; done; echo ok > inside");
  const v1::CheckResult result = Check(command);
  // Judged on the host: a write may land in the sandbox's own tmpfs (the
  // directories leading to the workspace are created there).
  for (const std::string& path : {outside_ + "/x", other_ + "/x", root_ + "/x", std::string("/usr/x"),
                                  std::string("/etc/x"), std::string("/x")}) {
    EXPECT_FALSE(PathExists(path)) << path;
  }
  EXPECT_THAT(result.output_tail(), HasSubstr("Read-only file system"));
  EXPECT_THAT(ReadFile(ws_ + "/inside"), IsOkAndHolds(std::string("ok\n")));
}

TEST_F(SandboxEscapeTest, GitMetadataCannotBeChangedOrReplaced) {
  const std::string head = testing::Trim(testing::Sh(ws_, "git rev-parse main"));
  const std::string command =
      "git update-ref refs/heads/main $(git commit-tree -m evil 'HEAD^{tree}') && echo moved-branch; "
      "echo 0000 > .git/refs/heads/main; rm -rf .git/objects; mv .git gone && echo moved-git; "
      "rm -rf .git; ln -s /tmp .git && echo replaced-git; exit 0";
  const v1::CheckResult result = Check(command);
  EXPECT_THAT(result.output_tail(), Not(AnyOf(HasSubstr("moved-branch"), HasSubstr("moved-git"),
                                              HasSubstr("replaced-git"))));
  EXPECT_THAT(result.output_tail(), HasSubstr("Read-only file system"));
  EXPECT_EQ(testing::Trim(testing::Sh(ws_, "git rev-parse main && git cat-file -e main^{tree} && echo ok")),
            head + "\nok");
}

TEST_F(SandboxEscapeTest, HostUnixSocketsAreUnreachable) {
  // In the host's /tmp (as /run would be), open to everyone: only the
  // sandbox's view can keep a check out.
  char dir_template[] = "/tmp/autopack-sock-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/s";
  const std::string abstract = absl::StrCat("@autopack-escape-test-", getpid());
  const int fd = ListenOnUnixSocket(path);
  const int abstract_fd = ListenOnUnixSocket(abstract);
  ASSERT_GE(fd, 0);
  ASSERT_GE(abstract_fd, 0);
  chmod(dir.c_str(), 0777);
  chmod(path.c_str(), 0777);
  const std::string command = absl::StrCat(PythonConnect(path), "; ", PythonConnect(abstract));
  const v1::CheckResult control = Check(command, Unsandboxed());
  const v1::CheckResult result = Check(command);
  close(fd);
  close(abstract_fd);
  unlink(path.c_str());
  rmdir(dir.c_str());
  EXPECT_THAT(control.output_tail(), HasSubstr("connected\nconnected\n"));
  EXPECT_THAT(result.output_tail(), Not(HasSubstr("connected")));
  // The path is not in the sandbox's filesystem; the abstract name is not in
  // its network namespace.
  EXPECT_THAT(result.output_tail(), HasSubstr("FileNotFoundError"));
  EXPECT_THAT(result.output_tail(), HasSubstr("ConnectionRefusedError"));
}

TEST_F(SandboxEscapeTest, LoopbackTcpIsUnreachable) {
  int listener = -1;
  const int port = testing::ListenOnLoopback(&listener);
  ASSERT_NE(port, 0);
  const std::string command =
      absl::StrCat("python3 -c \"import socket; socket.create_connection(('127.0.0.1', ", port,
                   ")); print('connected')\"");
  const v1::CheckResult control = Check(command, Unsandboxed());
  const v1::CheckResult result = Check(command);
  close(listener);
  EXPECT_THAT(control.output_tail(), HasSubstr("connected"));
  EXPECT_THAT(result.output_tail(), Not(HasSubstr("connected")));
  EXPECT_THAT(result.output_tail(), AnyOf(HasSubstr("Network is unreachable"), HasSubstr("Connection refused")));
}

constexpr char kForkLoop[] = R"(python3 -c "
import os
r, w = os.pipe()
children = 0
try:
    for _ in range(200):
        if os.fork() == 0:
            os.close(w)
            os.read(r, 1)  # until the parent exits
            os._exit(0)
        children += 1
    print('forked', children)
except OSError as e:
    print('fork refused after', children, 'children:', e.strerror)
")";

TEST_F(SandboxEscapeTest, ProcessLimitStopsAForkLoop) {
  ProcessCheckRunnerOptions loose;
  loose.max_processes = 1000;
  EXPECT_THAT(Check(kForkLoop, loose).output_tail(), HasSubstr("forked 200"));
  ProcessCheckRunnerOptions tight;
  tight.max_processes = 32;
  const v1::CheckResult result = Check(kForkLoop, tight);
  EXPECT_THAT(result.output_tail(), HasSubstr("fork refused after"));
  EXPECT_THAT(result.output_tail(), HasSubstr("Resource temporarily unavailable"));
}

TEST_F(SandboxEscapeTest, MemoryLimitStopsA2GiBAllocation) {
  const std::string command = "python3 -c \"b = bytearray(2 << 30); print('allocated', len(b))\"";
  ProcessCheckRunnerOptions loose;
  loose.max_memory_bytes = int64_t{4} << 30;
  EXPECT_THAT(Check(command, loose).output_tail(), HasSubstr("allocated 2147483648"));
  ProcessCheckRunnerOptions tight;
  tight.max_memory_bytes = int64_t{1} << 30;
  const v1::CheckResult result = Check(command, tight);
  EXPECT_THAT(result.output_tail(), Not(HasSubstr("allocated")));
  EXPECT_THAT(result.output_tail(), HasSubstr("MemoryError"));
}

TEST_F(SandboxEscapeTest, FileSizeLimitStopsAGrowingFile) {
  const std::string command = "head -c 2097152 /dev/zero > big; stat -c 'size %s' big";
  ProcessCheckRunnerOptions loose;
  loose.max_file_bytes = 4 << 20;
  EXPECT_THAT(Check(command, loose).output_tail(), HasSubstr("size 2097152"));
  ProcessCheckRunnerOptions tight;
  tight.max_file_bytes = 1 << 20;
  const v1::CheckResult result = Check(command, tight);
  EXPECT_THAT(result.output_tail(), HasSubstr("File size limit exceeded"));
  EXPECT_THAT(result.output_tail(), HasSubstr("size 1048576"));
}

TEST_F(SandboxEscapeTest, TmpfsAreSizeLimitedAndTheRestOfMemoryIsReadOnly) {
  const std::string command =
      "for d in /tmp /dev/shm; do for i in 1 2 3 4; do head -c 524288 /dev/zero > $d/fill$i; done; "
      "echo $d holds $(du -skx $d | cut -f1) KiB; done; "
      "echo $(touch /fill /dev/fill /root-fill 2>&1 | grep -c 'Read-only file system') read-only";
  ProcessCheckRunnerOptions loose;
  loose.tmpfs_bytes = 4 << 20;
  EXPECT_THAT(Check(command, loose).output_tail(),
              HasSubstr("/tmp holds 2048 KiB\n/dev/shm holds 2048 KiB\n3 read-only\n"));
  ProcessCheckRunnerOptions tight;
  tight.tmpfs_bytes = 1 << 20;
  const v1::CheckResult result = Check(command, tight);
  EXPECT_THAT(result.output_tail(), HasSubstr("No space left on device"));
  EXPECT_THAT(result.output_tail(), HasSubstr("/tmp holds 1024 KiB\n"));
  EXPECT_THAT(result.output_tail(), HasSubstr("/dev/shm holds 1024 KiB\n3 read-only\n"));
}

TEST_F(SandboxEscapeTest, CpuLimitStopsABusyLoop) {
  ProcessCheckRunnerOptions tight;
  tight.max_cpu_time = absl::Seconds(1);
  const v1::CheckResult result = Check("python3 -c 'while True: pass'", tight);
  EXPECT_FALSE(result.timed_out());
  EXPECT_FALSE(result.passed());
  // SIGXCPU at the soft limit (seen through the shell or bubblewrap).
  EXPECT_TRUE(result.exit_code() == 128 + SIGXCPU || result.signal() == SIGXCPU)
      << result.exit_code() << " " << result.signal();
}

}  // namespace
}  // namespace autopack::gitadapter
