#include "services/supervisor/store/migrations.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/sha256.h"
#include "services/common/status_macros.h"

namespace autopack::supervisor {

absl::StatusOr<MigrationReport> ApplyMigrations(SqlConnection& connection,
                                                const SqlDialect& dialect,
                                                const std::vector<Migration>& migrations) {
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return absl::FailedPreconditionError(absl::StrCat(
          "migration versions must be strictly increasing: ", migrations[i - 1].version, "_",
          migrations[i - 1].name, " is followed by ", migrations[i].version, "_",
          migrations[i].name));
    }
  }
  MigrationReport report;
  absl::Status status = RunInTransaction(connection, [&]() -> absl::Status {
    report = MigrationReport();
    if (!dialect.migration_lock.empty()) {
      RETURN_IF_ERROR(connection.Query(dialect.migration_lock).status());
    }
    RETURN_IF_ERROR(connection
                        .Query("CREATE TABLE IF NOT EXISTS schema_migrations ("
                               "version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
                               "checksum TEXT NOT NULL, applied_us BIGINT NOT NULL)")
                        .status());
    ASSIGN_OR_RETURN(SqlRows rows,
                     connection.Query("SELECT version, name, checksum FROM schema_migrations "
                                      "ORDER BY version"));
    std::map<int64_t, const SqlRow*> applied;
    for (const SqlRow& row : rows) applied[row.Int(0)] = &row;
    std::map<int64_t, const Migration*> known;
    for (const Migration& m : migrations) known[m.version] = &m;
    for (const auto& [version, row] : applied) {
      auto it = known.find(version);
      if (it == known.end()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the database has schema migration ", version, "_", row->Text(1),
            " which this binary does not know: the database is newer than the binary"));
      }
      if (Sha256Hex(it->second->sql) != row->Text(2)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "schema migration ", version, "_", row->Text(1),
            " was changed after it was applied; add a new migration instead"));
      }
      report.schema_version = static_cast<int>(version);
    }
    for (const Migration& m : migrations) {
      if (applied.count(m.version) > 0) continue;
      absl::Status applied_status = connection.ExecuteScript(m.sql);
      if (!applied_status.ok()) {
        return absl::Status(applied_status.code(),
                            absl::StrCat("schema migration ", m.version, "_", m.name,
                                         " failed: ", applied_status.message()));
      }
      RETURN_IF_ERROR(connection
                          .Query(absl::StrCat("INSERT INTO schema_migrations (version, name, "
                                              "checksum, applied_us) VALUES ($1, $2, $3, ",
                                              dialect.now_us, ")"),
                                 {m.version, m.name, Sha256Hex(m.sql)})
                          .status());
      report.applied.push_back(m.version);
      report.schema_version = m.version;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return report;
}

}  // namespace autopack::supervisor
