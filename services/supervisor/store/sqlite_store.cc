#include "services/supervisor/store/sqlite_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"
#include "services/supervisor/store/sql_store.h"

namespace autopack::supervisor {
namespace {

absl::StatusCode CodeFor(int extended) {
  switch (extended & 0xff) {
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_PRIMARYKEY || extended == SQLITE_CONSTRAINT_UNIQUE) {
        return absl::StatusCode::kAlreadyExists;
      }
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kAborted;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    default:
      return absl::StatusCode::kInternal;
  }
}

class SqliteConnection : public SqlConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override { sqlite3_close_v2(db_); }

  absl::StatusOr<SqlRows> Query(absl::string_view sql, const std::vector<SqlArg>& args) override {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(sql);
    absl::StatusOr<SqlRows> rows = Run(stmt, sql, args);
    sqlite3_finalize(stmt);
    return rows;
  }

  absl::Status ExecuteScript(absl::string_view sql) override {
    const std::string script(sql);
    if (sqlite3_exec(db_, script.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error(sql);
    }
    return absl::OkStatus();
  }

  absl::Status Begin() override { return Query("BEGIN IMMEDIATE", {}).status(); }

  bool Healthy() const override { return true; }

 private:
  absl::Status Error(absl::string_view sql) const {
    return absl::Status(CodeFor(sqlite3_extended_errcode(db_)),
                        absl::StrCat("sqlite: ", sqlite3_errmsg(db_), " (in: ",
                                     sql.substr(0, 60), ")"));
  }

  absl::StatusOr<SqlRows> Run(sqlite3_stmt* stmt, absl::string_view sql,
                              const std::vector<SqlArg>& args) {
    for (size_t i = 0; i < args.size(); ++i) {
      // $N placeholders are named parameters to SQLite; find each one's slot.
      const int index = sqlite3_bind_parameter_index(stmt, absl::StrCat("$", i + 1).c_str());
      if (index == 0) continue;  // not used by this statement
      const SqlArg& arg = args[i];
      int rc = SQLITE_OK;
      switch (arg.kind) {
        case SqlArg::Kind::kNull:
          rc = sqlite3_bind_null(stmt, index);
          break;
        case SqlArg::Kind::kInt:
          rc = sqlite3_bind_int64(stmt, index, arg.int_value);
          break;
        case SqlArg::Kind::kText:
          rc = sqlite3_bind_text(stmt, index, arg.text.data(), static_cast<int>(arg.text.size()),
                                 SQLITE_TRANSIENT);
          break;
        case SqlArg::Kind::kBytes:
          rc = sqlite3_bind_blob(stmt, index, arg.text.data(), static_cast<int>(arg.text.size()),
                                 SQLITE_TRANSIENT);
          break;
      }
      if (rc != SQLITE_OK) return Error(sql);
    }
    SqlRows rows;
    while (true) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return rows;
      if (rc != SQLITE_ROW) return Error(sql);
      const int n = sqlite3_column_count(stmt);
      std::vector<std::optional<std::string>> cells;
      cells.reserve(n);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          cells.emplace_back();
          continue;
        }
        // sqlite3_column_blob returns raw bytes for every type (text for numbers).
        const void* data = sqlite3_column_blob(stmt, c);
        const int size = sqlite3_column_bytes(stmt, c);
        cells.emplace_back(std::string(static_cast<const char*>(data), size));
      }
      rows.emplace_back(std::move(cells));
    }
  }

  sqlite3* db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlConnection>> OpenSqliteConnection(
    const std::string& path, const SqliteOptions& options) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::UnavailableError(absl::StrCat("cannot open SQLite store ", path, ": ", message));
  }
  auto connection = std::make_unique<SqliteConnection>(db);
  sqlite3_busy_timeout(db, static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  // WAL: readers never block the writer; FULL: a commit survives power loss
  // before the run loop's next side effect.
  absl::Status status = connection->ExecuteScript(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("cannot configure SQLite store ", path, ": ",
                                     status.message()));
  }
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

const SqlDialect& SqliteDialect() {
  static const SqlDialect* const kDialect = new SqlDialect{
      /*now_us=*/"CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
      /*claim_lock=*/"",
      /*row_lock=*/"",
      /*migration_lock=*/"",
      /*notify_events=*/"",
  };
  return *kDialect;
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       StoreOptions store_options,
                                                       SqliteOptions options) {
  // One connection: SQLite has one writer at a time anyway, and sharing it
  // keeps this process's transactions from waiting on each other's locks.
  auto store = std::make_unique<SqlStore>(
      [path, options]() { return OpenSqliteConnection(path, options); }, SqliteDialect(),
      /*pool_size=*/1, std::move(store_options));
  RETURN_IF_ERROR(store->Init().status());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace autopack::supervisor
