#include "services/supervisor/store/store_test_backends.h"

#include <stdlib.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "services/supervisor/store/postgres_store.h"
#include "services/supervisor/store/sqlite_store.h"
#include "tests/testing/postgres/postgres_server.h"

namespace autopack::supervisor {
namespace {

class SqliteTestDatabase : public TestDatabase {
 public:
  explicit SqliteTestDatabase(std::string path) : path_(std::move(path)) {}

  absl::StatusOr<std::unique_ptr<Store>> Open(StoreOptions options) override {
    // Short polling: another instance's commits are only seen by polling.
    options.event_poll_interval = absl::Milliseconds(20);
    return OpenSqliteStore(path_, std::move(options));
  }
  absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() override {
    return OpenSqliteConnection(path_);
  }
  const SqlDialect& dialect() const override { return SqliteDialect(); }
  absl::Status DropConnections() override {
    return absl::UnimplementedError("SQLite has no server");
  }

 private:
  std::string path_;
};

class PostgresTestDatabase : public TestDatabase {
 public:
  explicit PostgresTestDatabase(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  absl::StatusOr<std::unique_ptr<Store>> Open(StoreOptions options) override {
    // No polling: waiters must be woken by LISTEN/NOTIFY alone.
    options.event_poll_interval = absl::Hours(1);
    return OpenPostgresStore(conninfo_, std::move(options));
  }
  absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() override {
    return OpenPostgresConnection(conninfo_);
  }
  const SqlDialect& dialect() const override { return PostgresDialect(); }
  absl::Status DropConnections() override {
    absl::StatusOr<std::unique_ptr<SqlConnection>> c = Connect();
    if (!c.ok()) return c.status();
    return (*c)
        ->Query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        .status();
  }

 private:
  std::string conninfo_;
};

// One server for the whole test binary (each test gets its own database);
// stopped and deleted at exit.
absl::StatusOr<testing::PostgresServer*> SharedServer() {
  static auto* const server = new absl::StatusOr<std::unique_ptr<testing::PostgresServer>>(
      testing::PostgresServer::Start());
  static const int registered = atexit([] { delete server; });
  (void)registered;
  if (!server->ok()) return server->status();
  return server->value().get();
}

std::string TempDir() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

}  // namespace

std::vector<std::string> TestBackendNames() { return {"sqlite", "postgres"}; }

absl::StatusOr<std::unique_ptr<TestDatabase>> NewTestDatabase(const std::string& backend) {
  static std::atomic<int> counter{0};
  const int n = counter++;
  if (backend == "sqlite") {
    return std::make_unique<SqliteTestDatabase>(
        absl::StrCat(TempDir(), "/store-", getpid(), "-", n, ".db"));
  }
  if (backend == "postgres") {
    absl::StatusOr<testing::PostgresServer*> server = SharedServer();
    if (!server.ok()) return server.status();
    absl::StatusOr<std::string> conninfo = (*server)->CreateDatabase();
    if (!conninfo.ok()) return conninfo.status();
    return std::make_unique<PostgresTestDatabase>(*conninfo);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown test backend ", backend));
}

}  // namespace autopack::supervisor
