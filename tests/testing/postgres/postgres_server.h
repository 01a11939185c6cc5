// A throw-away PostgreSQL cluster for tests: initdb into a fresh directory,
// a server on a free 127.0.0.1 port (and a Unix socket in that directory),
// stopped and deleted by the destructor. The server runs as this process's
// child and gets SIGQUIT if the test process dies, so none is ever left over.
//
// Uses Debian's postgresql package (binaries in /usr/lib/postgresql/15/bin).
// initdb refuses to run as root, so when the test runs as root the cluster is
// created and run as the `postgres` system user.
//
//   ASSIGN_OR_RETURN(auto pg, PostgresServer::Start());
//   ASSIGN_OR_RETURN(std::string conninfo, pg->CreateDatabase());  // empty db
//   PGconn* c = PQconnectdb(conninfo.c_str());
//
// The cluster trusts every local connection and runs with fsync off: fast and
// fine for tests, never for data that matters.
#ifndef AUTOPACK_TESTS_TESTING_POSTGRES_POSTGRES_SERVER_H_
#define AUTOPACK_TESTS_TESTING_POSTGRES_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace autopack::testing {

class PostgresServer {
 public:
  struct Options {
    std::string bin_dir = "/usr/lib/postgresql/15/bin";
    // Superuser created by initdb.
    std::string user = "autopack";
    // Parent of the cluster directory; must be reachable by the postgres user.
    std::string parent_dir = "/tmp";
    absl::Duration start_timeout = absl::Seconds(60);
  };

  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start() { return Start(Options()); }

  // Stops the server (if running) and deletes the cluster directory.
  ~PostgresServer();

  int port() const { return port_; }
  const std::string& user() const { return options_.user; }
  const std::string& directory() const { return dir_; }

  // libpq connection string for `database` over TCP on 127.0.0.1.
  std::string ConnectionString(const std::string& database = "postgres") const;

  // Creates a new, empty database and returns its connection string.
  absl::StatusOr<std::string> CreateDatabase();

  // Fast shutdown (SIGINT); returns once the server exited. Idempotent.
  absl::Status Stop();

  // Everything the server logged so far.
  std::string Log() const;

 private:
  explicit PostgresServer(Options options) : options_(std::move(options)) {}
  absl::Status InitCluster();
  // Starts the server on a free port; UNAVAILABLE if it exited (port taken).
  absl::Status StartServer();
  void ReadLog(int fd);

  const Options options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::string log_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_TESTING_POSTGRES_POSTGRES_SERVER_H_
