#include "services/supervisor/store/sql_connection.h"

#include "absl/strings/numbers.h"

namespace autopack::supervisor {

const std::string& SqlRow::Text(int column) const {
  static const std::string* const kEmpty = new std::string();
  const std::optional<std::string>& cell = cells_.at(column);
  return cell.has_value() ? *cell : *kEmpty;
}

int64_t SqlRow::Int(int column) const {
  int64_t value = 0;
  if (!absl::SimpleAtoi(Text(column), &value)) return 0;
  return value;
}

absl::Status RunInTransaction(SqlConnection& connection,
                              const std::function<absl::Status()>& body) {
  absl::Status status = connection.Begin();
  if (!status.ok()) return status;
  status = body();
  if (status.ok()) status = connection.Query("COMMIT").status();
  if (!status.ok() && connection.Healthy()) {
    // Nothing to do if the rollback fails too: the server drops the
    // transaction with the connection.
    connection.Query("ROLLBACK").IgnoreError();
  }
  return status;
}

}  // namespace autopack::supervisor
