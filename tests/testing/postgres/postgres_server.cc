#include "tests/testing/postgres/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <postgresql/libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace autopack::testing {
namespace {

constexpr char kReady[] = "database system is ready to accept connections";

// Who the cluster runs as: the postgres user when we are root (initdb and
// postgres refuse root), else ourselves.
struct Identity {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

absl::StatusOr<Identity> ClusterIdentity() {
  Identity id;
  if (geteuid() != 0) return id;
  const struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) {
    return absl::FailedPreconditionError(
        "running as root and there is no 'postgres' user to run PostgreSQL as "
        "(install Debian's postgresql package)");
  }
  id.switch_user = true;
  id.uid = pw->pw_uid;
  id.gid = pw->pw_gid;
  return id;
}

// Forks and execs argv[0] with stdout and stderr on `out_fd`, in `cwd`, as
// `id`. With `die_with_parent` the child gets SIGQUIT (PostgreSQL's immediate
// shutdown) when the forking thread dies.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const Identity& id,
                            const std::string& cwd, int out_fd, bool die_with_parent) {
  std::vector<std::string> storage = argv;
  std::vector<char*> args;
  for (std::string& a : storage) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (id.switch_user &&
        (setgroups(0, nullptr) != 0 || setgid(id.gid) != 0 || setuid(id.uid) != 0)) {
      fprintf(stderr, "cannot switch to the postgres user: %s\n", strerror(errno));
      _exit(126);
    }
    // After setuid: changing credentials clears the parent-death signal.
    if (die_with_parent) prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execv(args[0], args.data());
    fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  return pid;
}

// Runs a command to completion; its output is the error message on failure.
absl::Status Run(const std::vector<std::string>& argv, const Identity& id,
                 const std::string& cwd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  absl::StatusOr<pid_t> pid = Spawn(argv, id, cwd, fds[1], /*die_with_parent=*/true);
  close(fds[1]);
  std::string output;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (!pid.ok()) return pid.status();
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(argv, " "), " failed (status ", status, "):\n", output));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("cannot find a free port: ", strerror(errno)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(Options options) {
  std::unique_ptr<PostgresServer> server(new PostgresServer(std::move(options)));
  absl::Status status = server->InitCluster();
  if (!status.ok()) return status;
  // The free port can be taken between finding and binding it; try again then.
  for (int attempt = 0; attempt < 3; ++attempt) {
    status = server->StartServer();
    if (!absl::IsUnavailable(status)) break;
  }
  if (!status.ok()) return status;
  return server;
}

absl::Status PostgresServer::InitCluster() {
  absl::StatusOr<Identity> id = ClusterIdentity();
  if (!id.ok()) return id.status();
  std::string pattern = absl::StrCat(options_.parent_dir, "/autopack-pg-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", strerror(errno)));
  }
  dir_ = pattern;
  if (id->switch_user && chown(dir_.c_str(), id->uid, id->gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", dir_, ": ", strerror(errno)));
  }
  return Run({options_.bin_dir + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U",
              options_.user, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
             *id, dir_);
}

absl::Status PostgresServer::StartServer() {
  absl::StatusOr<Identity> id = ClusterIdentity();
  if (!id.ok()) return id.status();
  absl::StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  {
    absl::MutexLock lock(&mu_);
    log_.clear();
    eof_ = false;
  }
  absl::StatusOr<pid_t> pid =
      Spawn({options_.bin_dir + "/postgres", "-D", dir_ + "/data", "-p", absl::StrCat(*port),
             "-k", dir_, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
             "full_page_writes=off", "-c", "max_connections=300"},
            *id, dir_, fds[1], /*die_with_parent=*/true);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status();
  }
  pid_ = *pid;
  port_ = *port;
  reader_ = std::thread([this, fd = fds[0]] { ReadLog(fd); });

  absl::MutexLock lock(&mu_);
  const bool done = mu_.AwaitWithTimeout(
      absl::Condition(
          +[](PostgresServer* s) {
            s->mu_.AssertHeld();
            return s->eof_ || absl::StrContains(s->log_, kReady);
          },
          this),
      options_.start_timeout);
  if (done && absl::StrContains(log_, kReady)) return absl::OkStatus();
  const std::string log = log_;
  mu_.Unlock();
  Stop().IgnoreError();
  mu_.Lock();
  if (!done) {
    return absl::DeadlineExceededError(absl::StrCat(
        "PostgreSQL was not ready within ", absl::FormatDuration(options_.start_timeout),
        ":\n", log));
  }
  if (absl::StrContains(log, "could not bind") || absl::StrContains(log, "already in use")) {
    return absl::UnavailableError(absl::StrCat("port ", port_, " was taken:\n", log));
  }
  return absl::InternalError(absl::StrCat("PostgreSQL exited at start:\n", log));
}

void PostgresServer::ReadLog(int fd) {
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    absl::MutexLock lock(&mu_);
    log_.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  absl::MutexLock lock(&mu_);
  eof_ = true;
}

std::string PostgresServer::ConnectionString(const std::string& database) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=", options_.user,
                      " dbname=", database, " connect_timeout=10");
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase() {
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    name = absl::StrCat("test_", ++databases_);
  }
  PGconn* conn = PQconnectdb(ConnectionString().c_str());
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(
        absl::StrCat("cannot connect to the test server: ", PQerrorMessage(conn)));
  } else {
    PGresult* result = PQexec(conn, absl::StrCat("CREATE DATABASE ", name).c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      status = absl::InternalError(
          absl::StrCat("CREATE DATABASE ", name, ": ", PQerrorMessage(conn)));
    }
    PQclear(result);
  }
  PQfinish(conn);
  if (!status.ok()) return status;
  return ConnectionString(name);
}

absl::Status PostgresServer::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGINT);  // fast shutdown: disconnect clients, checkpoint, exit
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (reader_.joinable()) reader_.join();
  return absl::OkStatus();
}

std::string PostgresServer::Log() const {
  absl::MutexLock lock(&mu_);
  return log_;
}

PostgresServer::~PostgresServer() {
  Stop().IgnoreError();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

}  // namespace autopack::testing
