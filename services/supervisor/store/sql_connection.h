// The little a SQL database must offer the shared store implementation: one
// connection running parameterised statements and scripts, plus the few SQL
// fragments that differ between SQLite and PostgreSQL.
//
// Statements use PostgreSQL-style placeholders ($1, $2, ...) in both
// databases. Result cells are text (integers in decimal) or raw bytes (BYTEA/
// BLOB columns); NULL is std::nullopt.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_STORE_SQL_CONNECTION_H_
#define AUTOPACK_SERVICES_SUPERVISOR_STORE_SQL_CONNECTION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace autopack::supervisor {

// A statement parameter.
struct SqlArg {
  enum class Kind { kNull, kInt, kText, kBytes };

  SqlArg() = default;
  SqlArg(int64_t v) : kind(Kind::kInt), int_value(v) {}  // NOLINT: implicit on purpose
  SqlArg(int v) : kind(Kind::kInt), int_value(v) {}      // NOLINT
  SqlArg(std::string v) : kind(Kind::kText), text(std::move(v)) {}  // NOLINT
  SqlArg(const char* v) : kind(Kind::kText), text(v) {}             // NOLINT
  static SqlArg Bytes(std::string v) {
    SqlArg arg(std::move(v));
    arg.kind = Kind::kBytes;
    return arg;
  }

  Kind kind = Kind::kNull;
  int64_t int_value = 0;
  std::string text;  // kText and kBytes
};

// One result row.
class SqlRow {
 public:
  explicit SqlRow(std::vector<std::optional<std::string>> cells) : cells_(std::move(cells)) {}

  bool IsNull(int column) const { return !cells_.at(column).has_value(); }
  // Text or bytes; "" for NULL.
  const std::string& Text(int column) const;
  // Decimal integer; 0 for NULL or text that is not an integer.
  int64_t Int(int column) const;

 private:
  std::vector<std::optional<std::string>> cells_;
};

using SqlRows = std::vector<SqlRow>;

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;

  // Runs one statement and returns its rows (none for statements without a
  // result or RETURNING clause).
  virtual absl::StatusOr<SqlRows> Query(absl::string_view sql,
                                        const std::vector<SqlArg>& args = {}) = 0;

  // Runs several ';'-separated statements without parameters.
  virtual absl::Status ExecuteScript(absl::string_view sql) = 0;

  // Starts a transaction that may write (SQLite takes the write lock at once,
  // so two writers never deadlock upgrading read locks).
  virtual absl::Status Begin() = 0;

  // False once the connection is unusable (lost server); the pool replaces it.
  virtual bool Healthy() const = 0;
};

// Runs `body` between Begin() and COMMIT; rolls back if `body` or the commit
// fails, so a failed transaction leaves nothing behind.
absl::Status RunInTransaction(SqlConnection& connection,
                              const std::function<absl::Status()>& body);

// SQL that differs between the databases.
struct SqlDialect {
  // Expression: the database's clock in microseconds since the Unix epoch.
  std::string now_us;
  // Suffix of the SELECT picking claimable runs ("FOR UPDATE SKIP LOCKED").
  std::string claim_lock;
  // Suffix of a SELECT that is about to update the rows it read.
  std::string row_lock;
  // Statement, inside a transaction, serialising schema migrations across
  // processes; empty when Begin() already does.
  std::string migration_lock;
  // Statement with $1 = run id telling other processes the run has new
  // events; empty when there are no other processes to tell.
  std::string notify_events;
};

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_STORE_SQL_CONNECTION_H_
