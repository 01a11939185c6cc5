#include "tests/testing/postgres/postgres_server.h"

#include <postgresql/libpq-fe.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::testing {
namespace {

// Runs `sql` and returns the first cell, or the error message.
std::string QueryOne(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string out;
  if (PQstatus(conn) != CONNECTION_OK) {
    out = PQerrorMessage(conn);
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    out = PQresultStatus(result) == PGRES_TUPLES_OK ? PQgetvalue(result, 0, 0)
                                                    : PQerrorMessage(conn);
    PQclear(result);
  }
  PQfinish(conn);
  return out;
}

TEST(PostgresServerTest, StartsServesIsolatedDatabasesAndCleansUp) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
  ASSERT_THAT(server, IsOk());
  const std::string dir = (*server)->directory();
  EXPECT_GT((*server)->port(), 0);
  EXPECT_THAT(QueryOne((*server)->ConnectionString(), "SELECT current_setting('server_version_num')"),
              ::testing::StartsWith("15"));

  absl::StatusOr<std::string> a = (*server)->CreateDatabase();
  absl::StatusOr<std::string> b = (*server)->CreateDatabase();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(QueryOne(*a, "SELECT current_database()"), "test_1");
  EXPECT_EQ(QueryOne(*b, "SELECT current_database()"), "test_2");

  ASSERT_THAT((*server)->Stop(), IsOk());
  EXPECT_THAT(QueryOne(*a, "SELECT 1"), ::testing::HasSubstr("connect"));
  server->reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(PostgresServerTest, ServerDiesWithTheProcessThatStartedIt) {
  // A child process starts a server and is killed; the server must follow.
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);  // the server must not hold the write end
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
    const std::string message =
        server.ok() ? (*server)->directory() + "\n" + (*server)->ConnectionString() : "";
    (void)!write(fds[1], message.data(), message.size());
    close(fds[1]);
    pause();  // until SIGKILL
    _exit(0);
  }
  close(fds[1]);
  std::string message;
  char buffer[256];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) message.append(buffer, n);
  close(fds[0]);
  const size_t newline = message.find('\n');
  ASSERT_NE(newline, std::string::npos) << "the child could not start a server";
  const std::string dir = message.substr(0, newline);
  const std::string conninfo = message.substr(newline + 1);
  EXPECT_EQ(QueryOne(conninfo, "SELECT 1"), "1");
  // The postmaster's pid is the first line of postmaster.pid; watch it exit.
  std::ifstream pid_file(dir + "/data/postmaster.pid");
  pid_t postmaster = 0;
  pid_file >> postmaster;
  ASSERT_GT(postmaster, 0);
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, postmaster, 0));
  ASSERT_GE(pidfd, 0) << strerror(errno);

  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  pollfd exited = {pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&exited, 1, /*timeout_ms=*/30000), 1) << "the server outlived its starter";
  close(pidfd);
  EXPECT_THAT(QueryOne(conninfo, "SELECT 1"), ::testing::HasSubstr("connect"));
  // The killed child could not delete its cluster directory.
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace autopack::testing
