#include "services/gitadapter/check_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/gitadapter/check_output.h"

namespace autopack::gitadapter {
namespace {

constexpr absl::Duration kDrainGrace = absl::Milliseconds(500);

struct Exit {
  int status = 0;
  bool timed_out = false;
  std::string tail;
  bool truncated = false;
};

// Keeps the last `cap` bytes of everything appended.
class TailBuffer {
 public:
  explicit TailBuffer(size_t cap) : cap_(cap) {}
  void Append(const char* data, size_t n) {
    buffer_.append(data, n);
    if (buffer_.size() > 2 * cap_ + 65536) Trim();
  }
  std::string Take(bool* truncated) {
    Trim();
    *truncated = truncated_;
    return std::move(buffer_);
  }

 private:
  void Trim() {
    if (buffer_.size() <= cap_) return;
    buffer_.erase(0, buffer_.size() - cap_);
    truncated_ = true;
  }
  size_t cap_;
  std::string buffer_;
  bool truncated_ = false;
};

// Reads what is available; false at end of file.
bool ReadSome(int fd, TailBuffer& tail) {
  char buffer[65536];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      tail.Append(buffer, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

int PollMillis(absl::Duration left) {
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60000));
}

// Forks `argv` in its own process group with stdout+stderr into one pipe, and
// waits for it up to `timeout`; then kills the whole group.
absl::StatusOr<Exit> RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                const std::string& dir, absl::Duration timeout, size_t cap) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  std::vector<char*> c_argv, c_env;
  std::vector<std::string> argv_copy = argv, env_copy = env;
  for (std::string& a : argv_copy) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (std::string& e : env_copy) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    // The server blocks SIGTERM/SIGINT for its signal thread; children must not inherit that.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    if (chdir(dir.c_str()) != 0) _exit(126);
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so the group exists before any kill below
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));

  Exit exit;
  TailBuffer tail(cap);
  const absl::Time deadline = absl::Now() + timeout;
  bool pipe_open = true;
  bool exited = false;
  while (!exited) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      exit.timed_out = true;
      break;
    }
    pollfd polls[2] = {{pipe_open ? fds[0] : -1, POLLIN, 0}, {pidfd, POLLIN, 0}};
    const int ready = poll(polls, 2, pidfd >= 0 || pipe_open ? PollMillis(left) : std::min(PollMillis(left), 50));
    if (ready < 0 && errno != EINTR) break;
    if (pipe_open && (polls[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) pipe_open = ReadSome(fds[0], tail);
    if (pidfd >= 0) {
      exited = (polls[1].revents & POLLIN) != 0;
    } else {
      siginfo_t info{};
      exited = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
    }
  }
  // Whatever the command left running (background jobs, a hung test) dies
  // with its group; sandboxed ones also with their pid namespace.
  kill(-pid, SIGKILL);
  while (waitpid(pid, &exit.status, 0) < 0 && errno == EINTR) {
  }
  if (pidfd >= 0) close(pidfd);
  const absl::Time drain_deadline = absl::Now() + kDrainGrace;
  while (pipe_open && absl::Now() < drain_deadline) {
    pollfd poll_pipe = {fds[0], POLLIN, 0};
    if (poll(&poll_pipe, 1, PollMillis(drain_deadline - absl::Now())) <= 0) break;
    pipe_open = ReadSome(fds[0], tail);
  }
  close(fds[0]);
  exit.tail = tail.Take(&exit.truncated);
  return exit;
}

std::vector<std::string> SandboxArgs(const std::string& bwrap, const std::string& dir) {
  std::vector<std::string> args = {bwrap,          "--ro-bind", "/",     "/",    "--dev",  "/dev",
                                   "--proc",       "/proc",     "--tmpfs", "/tmp", "--bind", dir,
                                   dir};
  // The repository's own metadata stays read-only: a check must not move refs.
  const std::string git_dir = dir + "/.git";
  struct stat st;
  if (stat(git_dir.c_str(), &st) == 0) args.insert(args.end(), {"--ro-bind", git_dir, git_dir});
  args.insert(args.end(), {"--chdir", dir, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                           "--die-with-parent", "--"});
  return args;
}

}  // namespace

ProcessCheckRunner::ProcessCheckRunner(ProcessCheckRunnerOptions options) : options_(std::move(options)) {
  if (options_.sandbox == SandboxMode::kOff) {
    sandbox_note_ = "sandbox disabled by configuration (--sandbox=off)";
    return;
  }
  if (access(options_.bwrap_path.c_str(), X_OK) != 0) {
    sandbox_note_ = absl::StrCat("bubblewrap not found at ", options_.bwrap_path);
    return;
  }
  std::vector<std::string> probe = SandboxArgs(options_.bwrap_path, "/");
  probe.push_back("/bin/true");
  const absl::StatusOr<Exit> exit = RunProcess(probe, {"PATH=/usr/bin:/bin"}, "/", absl::Seconds(10), 4096);
  if (exit.ok() && WIFEXITED(exit->status) && WEXITSTATUS(exit->status) == 0) {
    sandbox_available_ = true;
    return;
  }
  sandbox_note_ = absl::StrCat("bubblewrap at ", options_.bwrap_path, " does not work here: ",
                               exit.ok() ? exit->tail : exit.status().ToString());
}

absl::StatusOr<v1::CheckResult> ProcessCheckRunner::Run(const CheckSpec& spec) {
  if (spec.command.empty()) return absl::InvalidArgumentError("command is empty");
  if (spec.dir.empty() || spec.dir[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("working directory \"", spec.dir, "\" is not absolute"));
  }
  if (spec.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("timeout must be positive");
  if (spec.max_output_bytes <= 0) return absl::InvalidArgumentError("max_output_bytes must be positive");
  if (!sandbox_available_ && options_.sandbox == SandboxMode::kRequired) {
    return absl::FailedPreconditionError(absl::StrCat("sandbox required but unavailable: ", sandbox_note_));
  }
  std::vector<std::string> env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                  "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8"};
  for (const auto& [key, value] : spec.env) {
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("env: invalid variable name \"", key, "\""));
    }
    env.push_back(absl::StrCat(key, "=", value));
  }
  std::vector<std::string> argv;
  if (sandbox_available_) argv = SandboxArgs(options_.bwrap_path, spec.dir);
  argv.insert(argv.end(), {"/bin/sh", "-c", spec.command});

  const absl::Time start = absl::Now();
  absl::StatusOr<Exit> exit = RunProcess(argv, env, spec.dir, spec.timeout, static_cast<size_t>(spec.max_output_bytes));
  if (!exit.ok()) return exit.status();
  const absl::Duration elapsed = absl::Now() - start;

  v1::CheckResult result;
  result.set_timed_out(exit->timed_out);
  if (!exit->timed_out && WIFEXITED(exit->status)) {
    result.set_exit_code(WEXITSTATUS(exit->status));
  } else {
    result.set_exit_code(-1);
    if (WIFSIGNALED(exit->status)) result.set_signal(WTERMSIG(exit->status));
  }
  result.set_passed(!exit->timed_out && WIFEXITED(exit->status) && WEXITSTATUS(exit->status) == 0);
  result.mutable_duration()->set_seconds(absl::ToInt64Seconds(elapsed));
  result.mutable_duration()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(elapsed - absl::Seconds(absl::ToInt64Seconds(elapsed)))));
  result.set_output_tail(SanitizeUtf8(exit->tail));
  result.set_output_truncated(exit->truncated);
  const TestCounts counts = ParseTestCounts(exit->tail);
  result.set_tests_passed(counts.passed);
  result.set_tests_failed(counts.failed);
  result.set_output_format(counts.format);
  result.set_sandboxed(sandbox_available_);
  if (!sandbox_available_) result.set_sandbox_note(sandbox_note_);
  return result;
}

}  // namespace autopack::gitadapter
