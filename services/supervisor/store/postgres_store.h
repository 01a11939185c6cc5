// The Store on PostgreSQL (libpq), for several Supervisor replicas sharing
// one database: runs are claimed with FOR UPDATE SKIP LOCKED, lease times come
// from the server's clock, and commits with events NOTIFY every replica so
// their WaitForEvents callers wake at once (LISTEN on a dedicated connection).
#ifndef AUTOPACK_SERVICES_SUPERVISOR_STORE_POSTGRES_STORE_H_
#define AUTOPACK_SERVICES_SUPERVISOR_STORE_POSTGRES_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/supervisor/store/sql_connection.h"
#include "services/supervisor/store/store.h"

namespace autopack::supervisor {

struct PostgresOptions {
  // Connections used at most at once by this process.
  int pool_size = 4;
};

// Connects with a libpq connection string ("host=... port=... dbname=..." or
// "postgresql://..."). UNAVAILABLE if the server cannot be reached.
absl::StatusOr<std::unique_ptr<SqlConnection>> OpenPostgresConnection(
    const std::string& conninfo);

const SqlDialect& PostgresDialect();

// Opens the store, applies pending migrations (serialised across replicas)
// and starts listening for other replicas' events.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo,
                                                         StoreOptions store_options = {},
                                                         PostgresOptions options = {});

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_STORE_POSTGRES_STORE_H_
