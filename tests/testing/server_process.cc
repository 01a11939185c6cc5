#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace autopack::testing {
namespace {

// Port from the first "listening on HOST:PORT" in the log; 0 if none yet.
int FindPort(const std::string& log) {
  const std::string marker = "listening on ";
  const size_t at = log.find(marker);
  if (at == std::string::npos) return 0;
  const size_t end = log.find_first_of("\"\n ", at + marker.size());
  if (end == std::string::npos) return 0;
  const std::string address = log.substr(at + marker.size(), end - at - marker.size());
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) return 0;
  return port;
}

// Waits for `pid` for at most `timeout`; true and the raw status if it exited.
bool WaitWithTimeout(pid_t pid, absl::Duration timeout, int* status) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const pid_t done = waitpid(pid, status, WNOHANG);
    if (done == pid) return true;
    if (done < 0 && errno != EINTR) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const std::vector<std::string>& env, absl::Duration timeout) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");

  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& entry : env_storage) envp.push_back(entry.data());
  envp.push_back(nullptr);

  std::unique_ptr<ServerProcess> process(new ServerProcess);
  process->pid_ = fork();
  if (process->pid_ < 0) return absl::InternalError("fork failed");
  if (process->pid_ == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    // A child must not inherit the test's blocked-signal mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(binary.c_str(), argv.data(), envp.data());
    fprintf(stderr, "execve %s: %s\n", binary.c_str(), strerror(errno));
    _exit(127);
  }
  close(pipe_fds[1]);
  const int read_fd = pipe_fds[0];
  process->reader_ = std::thread([p = process.get(), read_fd] { p->ReadOutput(read_fd); });

  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&process->mu_);
  while (true) {
    const int port = FindPort(process->log_);
    if (port != 0) {
      process->port_ = port;
      return process;
    }
    if (process->eof_) {
      return absl::InternalError(absl::StrCat(binary, " exited before listening:\n",
                                              process->log_));
    }
    if (process->mu_.AwaitWithDeadline(
            absl::Condition(
                +[](ServerProcess* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
                  return p->eof_ || FindPort(p->log_) != 0;
                },
                process.get()),
            deadline)) {
      continue;
    }
    return absl::DeadlineExceededError(
        absl::StrCat(binary, " did not log 'listening on' within ",
                     absl::FormatDuration(timeout), ":\n", process->log_));
  }
}

void ServerProcess::ReadOutput(int fd) {
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    // Mirrored to the test log so failures show what the server said.
    fwrite(buffer, 1, static_cast<size_t>(n), stderr);
    absl::MutexLock lock(&mu_);
    log_.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  absl::MutexLock lock(&mu_);
  eof_ = true;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (reader_.joinable()) reader_.join();
}

std::string ServerProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::StatusOr<int> ServerProcess::Stop(int signal, absl::Duration timeout) {
  if (reaped_) return absl::FailedPreconditionError("process already stopped");
  kill(pid_, signal);
  int status = 0;
  if (!WaitWithTimeout(pid_, timeout, &status)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return absl::DeadlineExceededError(absl::StrCat(
        "pid ", pid_, " did not exit within ", absl::FormatDuration(timeout)));
  }
  reaped_ = true;
  return ExitCode(status);
}

std::string ServerProcess::Log() const {
  absl::MutexLock lock(&mu_);
  return log_;
}

}  // namespace autopack::testing
