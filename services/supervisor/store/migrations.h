// Schema migrations of the store: the SQL files in migrations/, embedded in
// the binary at build time and applied in version order at start.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_STORE_MIGRATIONS_H_
#define AUTOPACK_SERVICES_SUPERVISOR_STORE_MIGRATIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/supervisor/store/sql_connection.h"

namespace autopack::supervisor {

struct Migration {
  int version = 0;   // from the file name's leading digits: 0001_initial.sql -> 1
  std::string name;  // the rest of the file name: "initial"
  std::string sql;
};

// Every migration shipped with this binary, in file-name order.
const std::vector<Migration>& EmbeddedMigrations();

struct MigrationReport {
  std::vector<int> applied;  // versions applied by this call
  int schema_version = 0;    // latest version after the call
};

// Applies, in one transaction, every migration of `migrations` that the
// database's schema_migrations table does not list yet, and records each
// (version, name, SHA-256 of its SQL). Safe to call from several processes at
// once. FAILED_PRECONDITION if an applied migration's SQL changed since, if
// the database has a version this binary does not know (newer schema), or if
// the versions are not strictly increasing.
absl::StatusOr<MigrationReport> ApplyMigrations(SqlConnection& connection,
                                                const SqlDialect& dialect,
                                                const std::vector<Migration>& migrations);

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_STORE_MIGRATIONS_H_
