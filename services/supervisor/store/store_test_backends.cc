#include "services/supervisor/store/store_test_backends.h"

#include <stdlib.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "services/supervisor/store/sqlite_store.h"

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

 private:
  std::string path_;
};

std::string TempDir() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

}  // namespace

std::vector<std::string> TestBackendNames() { return {"sqlite"}; }

absl::StatusOr<std::unique_ptr<TestDatabase>> NewTestDatabase(const std::string& backend) {
  static std::atomic<int> counter{0};
  const int n = counter++;
  if (backend == "sqlite") {
    return std::make_unique<SqliteTestDatabase>(
        absl::StrCat(TempDir(), "/store-", getpid(), "-", n, ".db"));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown test backend ", backend));
}

}  // namespace autopack::supervisor
