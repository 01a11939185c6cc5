// The Store on an SQLite file: the embedded default, for one Supervisor
// replica (several processes on one file also work: SQLite serialises their
// writes). WAL journal, synchronous commits, a busy timeout for writers.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_STORE_SQLITE_STORE_H_
#define AUTOPACK_SERVICES_SUPERVISOR_STORE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/supervisor/store/sql_connection.h"
#include "services/supervisor/store/store.h"

namespace autopack::supervisor {

struct SqliteOptions {
  // How long a writer waits for another connection's write lock before the
  // operation fails with ABORTED.
  absl::Duration busy_timeout = absl::Seconds(10);
};

// Opens (creating if needed) the database file at `path` with the settings
// above. UNAVAILABLE if the file cannot be opened.
absl::StatusOr<std::unique_ptr<SqlConnection>> OpenSqliteConnection(
    const std::string& path, const SqliteOptions& options = {});

const SqlDialect& SqliteDialect();

// Opens the store on `path` and applies pending migrations.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       StoreOptions store_options = {},
                                                       SqliteOptions options = {});

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_STORE_SQLITE_STORE_H_
