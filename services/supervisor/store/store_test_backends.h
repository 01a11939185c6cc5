// Fresh, isolated databases of each backend for the store conformance tests.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_STORE_STORE_TEST_BACKENDS_H_
#define AUTOPACK_SERVICES_SUPERVISOR_STORE_STORE_TEST_BACKENDS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/supervisor/store/sql_connection.h"
#include "services/supervisor/store/store.h"

namespace autopack::supervisor {

// One empty database. Each Open() is a separate store instance (as another
// replica would have); Connect() a raw connection.
class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  virtual absl::StatusOr<std::unique_ptr<Store>> Open(StoreOptions options = {}) = 0;
  virtual absl::StatusOr<std::unique_ptr<SqlConnection>> Connect() = 0;
  virtual const SqlDialect& dialect() const = 0;
  // Makes the server drop every other connection to this database, as a
  // server restart or network cut would; UNIMPLEMENTED for embedded databases.
  virtual absl::Status DropConnections() = 0;
};

// "sqlite", "postgres".
std::vector<std::string> TestBackendNames();

absl::StatusOr<std::unique_ptr<TestDatabase>> NewTestDatabase(const std::string& backend);

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_STORE_STORE_TEST_BACKENDS_H_
