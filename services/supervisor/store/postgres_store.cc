#include "services/supervisor/store/postgres_store.h"

#include <fcntl.h>
#include <poll.h>
#include <postgresql/libpq-fe.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/status_macros.h"
#include "services/supervisor/store/sql_store.h"

namespace autopack::supervisor {
namespace {

constexpr char kEventsChannel[] = "autopack_run_events";
constexpr unsigned int kByteaOid = 17;

absl::StatusCode CodeForSqlState(absl::string_view state) {
  if (state == "23505") return absl::StatusCode::kAlreadyExists;  // unique_violation
  if (state == "40001" || state == "40P01" || state == "55P03") {
    return absl::StatusCode::kAborted;  // serialization failure, deadlock, lock not available
  }
  if (absl::StartsWith(state, "23")) return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "53") ||
      absl::StartsWith(state, "57P")) {
    return absl::StatusCode::kUnavailable;  // connection, resources, shutdown
  }
  if (state == "57014") return absl::StatusCode::kDeadlineExceeded;  // query_canceled
  return absl::StatusCode::kInternal;
}

class PostgresConnection : public SqlConnection {
 public:
  explicit PostgresConnection(PGconn* conn) : conn_(conn) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  absl::StatusOr<SqlRows> Query(absl::string_view sql, const std::vector<SqlArg>& args) override {
    std::vector<const char*> values(args.size(), nullptr);
    std::vector<int> lengths(args.size(), 0);
    std::vector<int> formats(args.size(), 0);
    std::vector<std::string> ints(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
      const SqlArg& arg = args[i];
      switch (arg.kind) {
        case SqlArg::Kind::kNull:
          break;
        case SqlArg::Kind::kInt:
          ints[i] = absl::StrCat(arg.int_value);
          values[i] = ints[i].c_str();
          break;
        case SqlArg::Kind::kText:
          values[i] = arg.text.c_str();
          break;
        case SqlArg::Kind::kBytes:
          values[i] = arg.text.data();
          lengths[i] = static_cast<int>(arg.text.size());
          formats[i] = 1;  // binary: bytes as they are, no escaping
          break;
      }
    }
    const std::string statement(sql);
    PGresult* result = PQexecParams(conn_, statement.c_str(), static_cast<int>(args.size()),
                                    nullptr, values.data(), lengths.data(), formats.data(),
                                    /*resultFormat=*/0);
    absl::StatusOr<SqlRows> rows = Rows(result, sql);
    PQclear(result);
    return rows;
  }

  absl::Status ExecuteScript(absl::string_view sql) override {
    const std::string script(sql);
    PGresult* result = PQexec(conn_, script.c_str());
    absl::Status status = Rows(result, sql).status();
    PQclear(result);
    return status;
  }

  absl::Status Begin() override { return Query("BEGIN", {}).status(); }

  bool Healthy() const override { return PQstatus(conn_) == CONNECTION_OK; }

 private:
  absl::StatusOr<SqlRows> Rows(PGresult* result, absl::string_view sql) {
    const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      const char* state = result == nullptr ? nullptr
                                            : PQresultErrorField(result, PG_DIAG_SQLSTATE);
      absl::StatusCode code =
          state != nullptr ? CodeForSqlState(state) : absl::StatusCode::kInternal;
      if (!Healthy()) code = absl::StatusCode::kUnavailable;
      return absl::Status(
          code, absl::StrCat("postgres: ",
                             absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn_)),
                             state != nullptr ? absl::StrCat(" [", state, "]") : "",
                             " (in: ", sql.substr(0, 60), ")"));
    }
    SqlRows rows;
    const int n_rows = PQntuples(result);
    const int n_cols = PQnfields(result);
    rows.reserve(n_rows);
    for (int r = 0; r < n_rows; ++r) {
      std::vector<std::optional<std::string>> cells;
      cells.reserve(n_cols);
      for (int c = 0; c < n_cols; ++c) {
        if (PQgetisnull(result, r, c)) {
          cells.emplace_back();
          continue;
        }
        const char* value = PQgetvalue(result, r, c);
        if (PQftype(result, c) != kByteaOid) {
          cells.emplace_back(std::string(value, PQgetlength(result, r, c)));
          continue;
        }
        size_t size = 0;
        unsigned char* bytes =
            PQunescapeBytea(reinterpret_cast<const unsigned char*>(value), &size);
        if (bytes == nullptr) return absl::InternalError("postgres: cannot decode BYTEA");
        cells.emplace_back(std::string(reinterpret_cast<const char*>(bytes), size));
        PQfreemem(bytes);
      }
      rows.emplace_back(std::move(cells));
    }
    return rows;
  }

  PGconn* conn_;
};

absl::StatusOr<PGconn*> Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq cannot allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message(absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn)));
    PQfinish(conn);
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", message));
  }
  // Notices ("relation already exists, skipping") are not errors; drop them.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return conn;
}

// Holds a LISTEN connection and wakes the store's waiters on every NOTIFY of
// another replica's (or this one's) commit. Reconnects if the server drops it.
class EventListener {
 public:
  EventListener(std::string conninfo, SqlStore* store)
      : conninfo_(std::move(conninfo)), store_(store) {
    if (pipe2(stop_fds_, O_CLOEXEC) != 0) stop_fds_[0] = stop_fds_[1] = -1;
    thread_ = std::thread([this] { Loop(); });
  }

  ~EventListener() {
    if (stop_fds_[1] >= 0) (void)!write(stop_fds_[1], "x", 1);
    thread_.join();
    close(stop_fds_[0]);
    close(stop_fds_[1]);
  }

 private:
  // Waits for `fd` to be readable or the stop pipe; false when stopping.
  bool WaitReadable(int fd, int timeout_ms) {
    pollfd fds[2] = {{stop_fds_[0], POLLIN, 0}, {fd, POLLIN, 0}};
    while (poll(fds, fd >= 0 ? 2 : 1, timeout_ms) < 0 && errno == EINTR) {
    }
    return (fds[0].revents & POLLIN) == 0;
  }

  void Loop() {
    if (stop_fds_[0] < 0) return;
    while (true) {
      absl::StatusOr<PGconn*> conn = Connect(conninfo_);
      if (conn.ok()) {
        PGresult* r = PQexec(*conn, absl::StrCat("LISTEN ", kEventsChannel).c_str());
        const bool listening = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (listening) {
          // Events committed while we were not listening: let waiters re-read.
          store_->NotifyEventsChanged();
          if (!Listen(*conn)) {
            PQfinish(*conn);
            return;
          }
        }
        PQfinish(*conn);
      }
      // Lost or no connection: try again in a second (or stop).
      if (!WaitReadable(-1, 1000)) return;
    }
  }

  // Returns false when stopping, true when the connection broke.
  bool Listen(PGconn* conn) {
    while (true) {
      if (!WaitReadable(PQsocket(conn), -1)) return false;
      if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) return true;
      bool any = false;
      while (PGnotify* notify = PQnotifies(conn)) {
        any = true;
        PQfreemem(notify);
      }
      if (any) store_->NotifyEventsChanged();
    }
  }

  const std::string conninfo_;
  SqlStore* const store_;
  int stop_fds_[2] = {-1, -1};
  std::thread thread_;
};

class PostgresStore : public SqlStore {
 public:
  PostgresStore(const std::string& conninfo, StoreOptions store_options,
                const PostgresOptions& options)
      : SqlStore([conninfo]() { return OpenPostgresConnection(conninfo); }, PostgresDialect(),
                 options.pool_size, std::move(store_options)),
        conninfo_(conninfo) {}

  void StartListening() { listener_ = std::make_unique<EventListener>(conninfo_, this); }

 private:
  const std::string conninfo_;
  std::unique_ptr<EventListener> listener_;  // stopped before the base goes away
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlConnection>> OpenPostgresConnection(
    const std::string& conninfo) {
  ASSIGN_OR_RETURN(PGconn * conn, Connect(conninfo));
  return std::unique_ptr<SqlConnection>(std::make_unique<PostgresConnection>(conn));
}

const SqlDialect& PostgresDialect() {
  static const SqlDialect* const kDialect = new SqlDialect{
      /*now_us=*/"(EXTRACT(EPOCH FROM now()) * 1000000)::BIGINT",
      /*claim_lock=*/"FOR UPDATE SKIP LOCKED",
      /*row_lock=*/"FOR UPDATE",
      /*migration_lock=*/"SELECT pg_advisory_xact_lock(7041911)",
      /*notify_events=*/absl::StrCat("SELECT pg_notify('", kEventsChannel, "', $1)"),
  };
  return *kDialect;
}

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo,
                                                         StoreOptions store_options,
                                                         PostgresOptions options) {
  auto store = std::make_unique<PostgresStore>(conninfo, std::move(store_options), options);
  RETURN_IF_ERROR(store->Init().status());
  store->StartListening();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace autopack::supervisor
