#include "services/gitadapter/check_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/common/status_macros.h"
#include "services/gitadapter/check_output.h"
#include "services/gitadapter/working_tree.h"

namespace autopack::gitadapter {
namespace {

constexpr absl::Duration kDrainGrace = absl::Milliseconds(500);
// In the child's private mount namespace (root mode): a small tmpfs over /tmp
// (the host's /tmp is not shown to checks anyway) holding the workspace's
// bind mount, a path every uid can traverse.
constexpr char kStagingTmpfs[] = "/tmp";
constexpr char kStagedWorkspace[] = "/tmp/workspace";
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

// What the child does between fork and exec. Prepared by the parent: the
// child of a threaded process may only make system calls (no allocation).
struct Launch {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string dir;  // working directory of the exec'd program
  // Root mode: a pid and mount namespace of the child's own, with
  // `workspace` bound at kStagedWorkspace.
  bool own_namespaces = false;
  std::string workspace;
  // An fd the exec'd program inherits (bubblewrap's --args), or -1.
  int inherited_fd = -1;
  std::vector<std::pair<int, rlim_t>> limits;
};

void WriteAll(int fd, const char* text) {
  size_t left = strlen(text);
  while (left > 0) {
    const ssize_t n = write(fd, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

// Writes `value` in decimal to the end of `buffer` (no allocation); returns
// where it starts.
char* Decimal(int value, char* buffer, size_t size) {
  char* at = buffer + size - 1;
  *at = '\0';
  do {
    *--at = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && at > buffer);
  return at;
}

// Reports a failed set-up step on the output pipe (strerror may allocate).
[[noreturn]] void ChildFail(const char* step) {
  char digits[16];
  const char* error = Decimal(errno, digits, sizeof(digits));
  WriteAll(STDERR_FILENO, "autopack sandbox set-up failed: ");
  WriteAll(STDERR_FILENO, step);
  WriteAll(STDERR_FILENO, ": errno ");
  WriteAll(STDERR_FILENO, error);
  WriteAll(STDERR_FILENO, "\n");
  _exit(125);
}

[[noreturn]] void RunChild(const Launch& launch, char* const* argv, char* const* env, int out_fd) {
  setpgid(0, 0);
  // The server blocks SIGTERM/SIGINT for its signal thread; children must not inherit that.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(out_fd, STDERR_FILENO);
  if (launch.own_namespaces) {
    // Private, so nothing below reaches the host's mount table.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ChildFail("make mounts private");
    // Opened in this namespace (a bind needs a mount of its own namespace)
    // and before the tmpfs, which may hide it.
    const int workspace = open(launch.workspace.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (workspace < 0) ChildFail("open workspace");
    char fd_path[64] = "/proc/self/fd/";
    char digits[16];
    const char* number = Decimal(workspace, digits, sizeof(digits));
    strncat(fd_path, number, sizeof(fd_path) - strlen(fd_path) - 1);
    if (mount("tmpfs", kStagingTmpfs, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=65536") != 0) {
      ChildFail("mount staging tmpfs");
    }
    if (mkdir(kStagedWorkspace, 0755) != 0) ChildFail("create staging directory");
    if (mount(fd_path, kStagedWorkspace, nullptr, MS_BIND, nullptr) != 0) ChildFail("bind workspace");
  }
  for (const auto& [resource, value] : launch.limits) {
    // A soft CPU limit sends SIGXCPU; the hard one a second later SIGKILL.
    const rlimit limit{value, resource == RLIMIT_CPU ? value + 1 : value};
    if (setrlimit(resource, &limit) != 0) ChildFail("setrlimit");
  }
  if (launch.inherited_fd >= 0 && fcntl(launch.inherited_fd, F_SETFD, 0) != 0) ChildFail("pass bubblewrap's arguments");
  if (chdir(launch.dir.c_str()) != 0) ChildFail("chdir");
  execve(argv[0], argv, env);
  ChildFail("exec");
}

// Starts `launch` in its own process group with stdout+stderr into one pipe,
// and waits for it up to `timeout`; then kills the whole group (and, in its
// own pid namespace, everything in it: waitpid returns only once the kernel
// has reaped them all).
absl::StatusOr<Exit> RunProcess(const Launch& launch, absl::Duration timeout, size_t cap) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  std::vector<char*> c_argv, c_env;
  std::vector<std::string> argv_copy = launch.argv, env_copy = launch.env;
  for (std::string& a : argv_copy) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (std::string& e : env_copy) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  // A raw clone, as fork() has no way to ask for namespaces; the child only
  // makes system calls, so glibc's fork handlers are not needed.
  const pid_t pid = launch.own_namespaces
                        ? static_cast<pid_t>(syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, nullptr,
                                                     nullptr, nullptr, nullptr))
                        : fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(launch.own_namespaces
                                   ? absl::StrCat("clone of a pid and mount namespace (as root, the sandbox needs "
                                                  "CAP_SYS_ADMIN for it; or run GitAdapter as a non-root user): ",
                                                  std::strerror(errno))
                                   : absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) RunChild(launch, c_argv.data(), c_env.data(), fds[1]);
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

std::string Mib(int64_t bytes) { return absl::StrCat(bytes >> 20, " MiB"); }

absl::Status CheckPath(const std::string& path, absl::string_view field) {
  if (path.empty() || path[0] != '/' || absl::StrContains(path, "/../") || absl::EndsWith(path, "/..")) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", path, "\" is not an absolute path"));
  }
  if (path.find_first_not_of('/') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": binding \"/\" would show the whole host"));
  }
  return absl::OkStatus();
}

absl::Status CheckEntryName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || absl::StrContains(name, "/") ||
      name.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("read_only_entries: \"", name, "\" is not a plain name"));
  }
  return absl::OkStatus();
}

// Read-only binds of the system paths, or the same symlink for one that is a
// link on the host (/bin -> usr/bin).
absl::Status AddSystemPaths(const std::vector<std::string>& paths, bool skip_missing, std::vector<std::string>* args) {
  for (const std::string& path : paths) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      if (skip_missing && errno == ENOENT) continue;
      return absl::FailedPreconditionError(absl::StrCat("read-only path ", path, ": ", std::strerror(errno)));
    }
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      const ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
      if (n < 0) return absl::FailedPreconditionError(absl::StrCat("readlink ", path, ": ", std::strerror(errno)));
      args->insert(args->end(), {"--symlink", std::string(target, static_cast<size_t>(n)), path});
    } else {
      args->insert(args->end(), {"--ro-bind", path, path});
    }
  }
  return absl::OkStatus();
}

// A memfd holding bubblewrap's NUL-separated --args, read from the start.
absl::StatusOr<int> ArgumentsFd(const std::string& args) {
  const int fd = memfd_create("bwrap-args", MFD_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  if (write(fd, args.data(), args.size()) != static_cast<ssize_t>(args.size()) || lseek(fd, 0, SEEK_SET) != 0) {
    const int error = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("writing bubblewrap's arguments: ", std::strerror(error)));
  }
  return fd;
}

absl::Status CheckExecutable(const std::string& path, absl::string_view field) {
  if (access(path.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": ", path, " is not executable (", std::strerror(errno), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> DefaultSystemPaths() {
  return {"/usr",           "/bin",           "/sbin",          "/lib",
          "/lib32",         "/lib64",         "/libx32",        "/etc/alternatives",
          "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d"};
}

ProcessCheckRunner::ProcessCheckRunner(ProcessCheckRunnerOptions options)
    : options_(std::move(options)), as_root_(geteuid() == 0) {
  if (!sandboxed()) {
    description_ = "unsandboxed: the sandbox was turned off (--sandbox=none)";
    return;
  }
  const std::string who = as_root_ ? absl::StrCat("uid ", options_.sandbox_uid, ":", options_.sandbox_gid,
                                                  " (setpriv: no groups, no capabilities)")
                                   : absl::StrCat("uid ", getuid(), " in an unprivileged user namespace");
  description_ = absl::StrCat("bubblewrap as ", who, ", no network; limits: ", options_.max_processes,
                              " processes of the uid, ", Mib(options_.max_memory_bytes), " address space, ",
                              absl::ToInt64Seconds(options_.max_cpu_time), " s CPU, ",
                              Mib(options_.max_file_bytes), " per file, ", Mib(options_.tmpfs_bytes), " each for /tmp and /dev/shm");
}

absl::StatusOr<std::unique_ptr<ProcessCheckRunner>> ProcessCheckRunner::Create(ProcessCheckRunnerOptions options) {
  if (options.sandbox == SandboxMode::kBubblewrap) {
    RETURN_IF_ERROR(CheckExecutable(options.bwrap_path, "bwrap_path"));
    if (geteuid() == 0) {
      RETURN_IF_ERROR(CheckExecutable(options.setpriv_path, "setpriv_path"));
      if (options.sandbox_uid == 0 || options.sandbox_gid == 0) {
        return absl::FailedPreconditionError("sandbox_uid and sandbox_gid must not be 0 (root)");
      }
    }
    const std::pair<const char*, int64_t> limits[] = {{"max_processes", options.max_processes},
                                                      {"max_memory_bytes", options.max_memory_bytes},
                                                      {"max_file_bytes", options.max_file_bytes},
                                                      {"tmpfs_bytes", options.tmpfs_bytes}};
    for (const auto& [field, value] : limits) {
      if (value <= 0) return absl::InvalidArgumentError(absl::StrCat(field, " must be positive, not ", value));
    }
    if (options.max_cpu_time < absl::Seconds(1)) {
      return absl::InvalidArgumentError("max_cpu_time must be at least 1s");
    }
    for (const std::string& path : options.system_paths) RETURN_IF_ERROR(CheckPath(path, "system_paths"));
    for (const std::string& path : options.extra_read_only_paths) {
      RETURN_IF_ERROR(CheckPath(path, "extra_read_only_paths"));
      if (struct stat st; lstat(path.c_str(), &st) != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("extra_read_only_paths: ", path, ": ", std::strerror(errno)));
      }
    }
  }
  return std::unique_ptr<ProcessCheckRunner>(new ProcessCheckRunner(std::move(options)));
}

absl::Status ProcessCheckRunner::Probe(const std::string& dir) {
  if (!sandboxed()) return absl::OkStatus();
  CheckSpec spec;
  spec.dir = dir;
  // The expected uid, a writable workspace and no /etc/shadow: what every
  // check relies on, on this host, with these paths and limits.
  spec.command = "id -u; touch .autopack-probe && rm .autopack-probe && echo writable; "
                 "test -e /etc/shadow && echo shadow-visible; exit 0";
  spec.timeout = absl::Seconds(30);
  spec.max_output_bytes = 4096;
  absl::StatusOr<v1::CheckResult> result = Run(spec);
  if (!result.ok()) return absl::FailedPreconditionError(absl::StrCat("sandbox probe: ", result.status().message()));
  const std::string expected = absl::StrCat(as_root_ ? options_.sandbox_uid : getuid(), "\nwritable\n");
  if (!result->passed() || result->output_tail() != expected) {
    return absl::FailedPreconditionError(absl::StrCat("the check sandbox does not work here (", description_,
                                                      "); probe in ", dir, " printed: ", result->output_tail()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CheckResult> ProcessCheckRunner::Run(const CheckSpec& spec) {
  if (spec.command.empty()) return absl::InvalidArgumentError("command is empty");
  if (spec.dir.empty() || spec.dir[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("working directory \"", spec.dir, "\" is not absolute"));
  }
  if (spec.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("timeout must be positive");
  if (spec.max_output_bytes <= 0) return absl::InvalidArgumentError("max_output_bytes must be positive");
  for (const std::string& name : spec.read_only_entries) RETURN_IF_ERROR(CheckEntryName(name));
  std::vector<std::pair<std::string, std::string>> env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", "/tmp"},
      {"TMPDIR", "/tmp"},
      {"LANG", "C.UTF-8"}};
  for (const auto& [key, value] : spec.env) {
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("env: invalid variable name \"", key, "\""));
    }
    if (value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("env: value of ", key, " contains a NUL byte"));
    }
    env.emplace_back(key, value);
  }
  Launch launch;
  launch.dir = spec.dir;
  // What bubblewrap reads from a memfd (--args): the check's environment, so
  // none of it (LD_PRELOAD, say) reaches setpriv or bubblewrap themselves,
  // which run outside the sandbox (setpriv as root), nor their command lines.
  std::string bwrap_args;
  size_t args_fd_at = 0;
  if (sandboxed()) {
    // Inside, .git belongs to an unmapped uid; git (which many test suites
    // call) would refuse the repository as "dubious". Command-line scope, so
    // the repository's own config cannot override it.
    env.insert(env.end(), {{"GIT_CONFIG_COUNT", "1"}, {"GIT_CONFIG_KEY_0", "safe.directory"},
                           {"GIT_CONFIG_VALUE_0", spec.dir}});
    auto add = [&bwrap_args](absl::string_view arg) {
      bwrap_args.append(arg.data(), arg.size());
      bwrap_args.push_back('\0');
    };
    add("--clearenv");
    for (const auto& [key, value] : env) {
      add("--setenv");
      add(key);
      add(value);
    }
    launch.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    // Bound by bubblewrap as the unprivileged uid: in root mode from the
    // staged bind (the path to the workspace may not be traversable for it).
    const std::string source = as_root_ ? kStagedWorkspace : spec.dir;
    std::vector<std::string> ro_binds;
    for (const std::string& name : spec.read_only_entries) {
      struct stat st;
      if (lstat(absl::StrCat(spec.dir, "/", name).c_str(), &st) != 0) continue;
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat(spec.dir, "/", name, " is neither a file nor a directory; refusing to bind it"));
      }
      ro_binds.insert(ro_binds.end(), {"--ro-bind", absl::StrCat(source, "/", name), absl::StrCat(spec.dir, "/", name)});
    }
    if (as_root_) {
      launch.argv = {options_.setpriv_path,
                     absl::StrCat("--reuid=", options_.sandbox_uid),
                     absl::StrCat("--regid=", options_.sandbox_gid),
                     "--clear-groups",
                     "--inh-caps=-all",
                     "--bounding-set=-all",
                     "--no-new-privs",
                     "--"};
      // Bound by root in the child, so the sandbox uid never has to resolve
      // the path (it may lie under a 0700 home directory).
      launch.own_namespaces = true;
      launch.workspace = spec.dir;
      launch.dir = "/";
    }
    const std::string tmpfs_size = absl::StrCat(options_.tmpfs_bytes);
    launch.argv.insert(launch.argv.end(), {options_.bwrap_path, "--args"});
    args_fd_at = launch.argv.size();
    launch.argv.push_back("");  // the memfd, created last
    launch.argv.insert(launch.argv.end(), {"--unshare-all", "--unshare-user", "--disable-userns",
                                           "--die-with-parent", "--new-session"});
    RETURN_IF_ERROR(AddSystemPaths(options_.system_paths, true, &launch.argv));
    RETURN_IF_ERROR(AddSystemPaths(options_.extra_read_only_paths, false, &launch.argv));
    // /dev is bubblewrap's own tmpfs of device nodes: read-only, so the only
    // writable memory-backed places are the two size-limited tmpfs.
    launch.argv.insert(launch.argv.end(),
                       {"--proc", "/proc", "--dev", "/dev", "--size", tmpfs_size, "--tmpfs", "/dev/shm",
                        "--remount-ro", "/dev", "--size", tmpfs_size, "--tmpfs", "/tmp", "--bind", source, spec.dir});
    launch.argv.insert(launch.argv.end(), ro_binds.begin(), ro_binds.end());
    launch.argv.insert(launch.argv.end(), {"--remount-ro", "/", "--chdir", spec.dir, "--"});
    launch.limits = {{RLIMIT_NPROC, static_cast<rlim_t>(options_.max_processes)},
                     {RLIMIT_AS, static_cast<rlim_t>(options_.max_memory_bytes)},
                     {RLIMIT_CPU, static_cast<rlim_t>(absl::ToInt64Seconds(options_.max_cpu_time))},
                     {RLIMIT_FSIZE, static_cast<rlim_t>(options_.max_file_bytes)},
                     {RLIMIT_CORE, 0}};
  } else {
    for (const auto& [key, value] : env) launch.env.push_back(absl::StrCat(key, "=", value));
  }
  launch.argv.insert(launch.argv.end(), {"/bin/sh", "-c", spec.command});
  if (sandboxed()) {
    ASSIGN_OR_RETURN(launch.inherited_fd, ArgumentsFd(bwrap_args));
    launch.argv[args_fd_at] = absl::StrCat(launch.inherited_fd);
  }
  // The tree belongs to the sandbox uid only while the check runs, so it
  // owns nothing on the host between checks (and host git accepts the tree).
  const absl::Status handed_over =
      launch.own_namespaces
          ? ChownWorkingTree(spec.dir, spec.read_only_entries, options_.sandbox_uid, options_.sandbox_gid)
          : absl::OkStatus();
  const absl::Time start = absl::Now();
  absl::StatusOr<Exit> exit = handed_over.ok()
                                  ? RunProcess(launch, spec.timeout, static_cast<size_t>(spec.max_output_bytes))
                                  : absl::StatusOr<Exit>(handed_over);
  if (launch.inherited_fd >= 0) close(launch.inherited_fd);
  if (launch.own_namespaces) {
    // Every sandbox process is gone (its pid namespace is empty) by now.
    RETURN_IF_ERROR(ChownWorkingTree(spec.dir, spec.read_only_entries, geteuid(), getegid()));
  }
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
  result.set_sandboxed(sandboxed());
  result.set_sandbox_note(description_);
  return result;
}

}  // namespace autopack::gitadapter
