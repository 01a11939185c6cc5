#include "services/supervisor/store/sql_store.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/common/sha256.h"
#include "services/common/status_macros.h"
#include "services/supervisor/run_state.h"

namespace autopack::supervisor {
namespace {

constexpr char kRunColumns[] =
    "run_id, project_id, spec, spec_hash, state, state_reason, created_us, started_us, "
    "finished_us, branch, head_sha, cancel_requested, cancel_reason, lease_owner, "
    "lease_epoch, lease_expires_us, last_sequence, created_by";

constexpr char kAttemptColumns[] =
    "phase_id, attempt, step, builder_model, auditor_model, build, review, apply, "
    "check_result, rolled_back_to, feedback";

constexpr char kLedgerColumns[] =
    "run_id, sequence, kind, reservation_id, tier_id, phase_id, role, model, tokens, "
    "cost_micro_usd, output_limit, input_tokens, cached_input_tokens, output_tokens, "
    "reasoning_tokens, time_us, cache_write_tokens";

constexpr char kBacklogColumns[] =
    "project_id, fingerprint, issue, worst_severity, occurrences, run_ids, tier_ids, "
    "first_run_id, last_run_id, needs_cleanup, first_seen_us, last_seen_us";

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

void SetTimestamp(int64_t micros, google::protobuf::Timestamp* out) {
  out->set_seconds(micros / 1000000);
  out->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

SqlArg ProtoArg(const google::protobuf::Message& message) {
  return SqlArg::Bytes(message.SerializeAsString());
}

template <typename M>
SqlArg OptionalProtoArg(const std::optional<M>& message) {
  if (!message.has_value()) return SqlArg();
  return ProtoArg(*message);
}

template <typename M>
absl::Status ParseProto(const SqlRow& row, int column, absl::string_view what, M* out) {
  if (!out->ParseFromString(row.Text(column))) {
    return absl::DataLossError(absl::StrCat("stored ", what, " does not parse"));
  }
  return absl::OkStatus();
}

template <typename M>
absl::StatusOr<std::optional<M>> ParseOptionalProto(const SqlRow& row, int column,
                                                    absl::string_view what) {
  if (row.IsNull(column)) return std::optional<M>();
  M message;
  RETURN_IF_ERROR(ParseProto(row, column, what, &message));
  return std::optional<M>(std::move(message));
}

std::string EncodePageToken(int64_t number, const std::string& text) {
  return absl::WebSafeBase64Escape(absl::StrCat(number, ":", text));
}

absl::Status DecodePageToken(const std::string& token, int64_t* number, std::string* text) {
  std::string raw;
  const size_t colon = [&] {
    if (!absl::WebSafeBase64Unescape(token, &raw)) return std::string::npos;
    return raw.find(':');
  }();
  if (colon == std::string::npos || !absl::SimpleAtoi(raw.substr(0, colon), number)) {
    return absl::InvalidArgumentError("page_token is malformed; pass a next_page_token as is");
  }
  *text = raw.substr(colon + 1);
  return absl::OkStatus();
}

absl::Status CheckPageSize(int page_size, int max) {
  if (page_size < 1 || page_size > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be in 1..", max, ", got ", page_size));
  }
  return absl::OkStatus();
}

absl::StatusOr<RunRecord> RunFromRow(const SqlRow& row) {
  RunRecord record;
  v1::Run& run = record.run;
  run.set_run_id(row.Text(0));
  RETURN_IF_ERROR(ParseProto(row, 2, absl::StrCat("spec of run ", row.Text(0)),
                             run.mutable_spec()));
  record.spec_hash = row.Text(3);
  run.set_state(static_cast<v1::RunState>(row.Int(4)));
  run.set_state_reason(row.Text(5));
  SetTimestamp(row.Int(6), run.mutable_created_at());
  if (row.Int(7) != 0) SetTimestamp(row.Int(7), run.mutable_started_at());
  if (row.Int(8) != 0) SetTimestamp(row.Int(8), run.mutable_finished_at());
  run.set_branch(row.Text(9));
  run.set_head_sha(row.Text(10));
  record.cancel_requested = row.Int(11) != 0;
  record.cancel_reason = row.Text(12);
  run.set_owner(row.Text(13));
  record.lease_epoch = row.Int(14);
  record.lease_expires_at = absl::FromUnixMicros(row.Int(15));
  record.last_sequence = row.Int(16);
  run.set_created_by(row.Text(17));
  return record;
}

absl::StatusOr<AttemptRecord> AttemptFromRow(const SqlRow& row) {
  AttemptRecord a;
  a.phase_id = row.Text(0);
  a.attempt = static_cast<int32_t>(row.Int(1));
  a.step = static_cast<AttemptStep>(row.Int(2));
  a.builder_model = row.Text(3);
  a.auditor_model = row.Text(4);
  const std::string what = absl::StrCat("attempt ", a.attempt, " of phase ", a.phase_id);
  ASSIGN_OR_RETURN(a.build, ParseOptionalProto<v1::GeneratePatchResponse>(row, 5, what));
  ASSIGN_OR_RETURN(a.review, ParseOptionalProto<v1::ReviewPatchResponse>(row, 6, what));
  ASSIGN_OR_RETURN(a.apply, ParseOptionalProto<v1::ApplyPatchResponse>(row, 7, what));
  ASSIGN_OR_RETURN(a.check, ParseOptionalProto<v1::CheckResult>(row, 8, what));
  a.rolled_back_to = row.Text(9);
  ASSIGN_OR_RETURN(a.feedback, ParseOptionalProto<v1::AttemptFeedback>(row, 10, what));
  return a;
}

policy::LedgerEntry LedgerFromRow(const SqlRow& row) {
  policy::LedgerEntry e;
  e.run_id = row.Text(0);
  e.sequence = row.Int(1);
  e.kind = static_cast<policy::LedgerEntryKind>(row.Int(2));
  e.reservation_id = row.Text(3);
  e.tier_id = row.Text(4);
  e.phase_id = row.Text(5);
  e.role = row.Text(6);
  e.model = row.Text(7);
  e.tokens = row.Int(8);
  e.cost_micro_usd = row.Int(9);
  e.output_limit = row.Int(10);
  e.usage.set_input_tokens(row.Int(11));
  e.usage.set_cached_input_tokens(row.Int(12));
  e.usage.set_output_tokens(row.Int(13));
  e.usage.set_reasoning_tokens(row.Int(14));
  e.time = absl::FromUnixMicros(row.Int(15));
  e.usage.set_cache_write_tokens(row.Int(16));
  return e;
}

// Backlog id lists: each id C-escaped and ended by a newline, so any list
// (empty ids included) round-trips.
std::string EncodeIds(const std::vector<std::string>& ids) {
  std::string text;
  for (const std::string& id : ids) absl::StrAppend(&text, absl::CEscape(id), "\n");
  return text;
}

absl::StatusOr<std::vector<std::string>> DecodeIds(const std::string& text) {
  std::vector<std::string> ids;
  if (text.empty()) return ids;
  if (text.back() != '\n') return absl::DataLossError("stored backlog id list is corrupt");
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(text).substr(0, text.size() - 1), '\n')) {
    std::string id;
    if (!absl::CUnescape(line, &id)) return absl::DataLossError("stored backlog id list is corrupt");
    ids.push_back(std::move(id));
  }
  return ids;
}

absl::StatusOr<policy::BacklogEntry> BacklogFromRow(const SqlRow& row) {
  policy::BacklogEntry e;
  e.project_id = row.Text(0);
  e.fingerprint = row.Text(1);
  if (row.IsNull(2)) return e;  // placeholder of a new entry
  RETURN_IF_ERROR(ParseProto(row, 2, absl::StrCat("backlog issue ", e.fingerprint), &e.issue));
  e.worst_severity = static_cast<v1::Severity>(row.Int(3));
  e.occurrences = row.Int(4);
  ASSIGN_OR_RETURN(e.run_ids, DecodeIds(row.Text(5)));
  ASSIGN_OR_RETURN(e.tier_ids, DecodeIds(row.Text(6)));
  e.first_run_id = row.Text(7);
  e.last_run_id = row.Text(8);
  e.needs_cleanup = row.Int(9) != 0;
  e.first_seen = absl::FromUnixMicros(row.Int(10));
  e.last_seen = absl::FromUnixMicros(row.Int(11));
  return e;
}

// Prefixes a database error with what was being done, keeping its code.
absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

}  // namespace

SqlStore::SqlStore(Connector connect, SqlDialect dialect, int pool_size, StoreOptions options)
    : connect_(std::move(connect)),
      dialect_(std::move(dialect)),
      pool_size_(std::max(1, pool_size)),
      options_(std::move(options)) {}

SqlStore::~SqlStore() = default;

absl::StatusOr<MigrationReport> SqlStore::Init() {
  ASSIGN_OR_RETURN(std::unique_ptr<SqlConnection> connection, Acquire());
  absl::StatusOr<MigrationReport> report =
      ApplyMigrations(*connection, dialect_, EmbeddedMigrations());
  Return(std::move(connection));
  return report;
}

absl::StatusOr<std::unique_ptr<SqlConnection>> SqlStore::Acquire() const {
  {
    absl::MutexLock lock(&pool_mu_);
    pool_mu_.Await(absl::Condition(
        +[](const SqlStore* s) {
          s->pool_mu_.AssertHeld();
          return !s->idle_.empty() || s->open_ < s->pool_size_;
        },
        this));
    if (!idle_.empty()) {
      std::unique_ptr<SqlConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_;
  }
  absl::StatusOr<std::unique_ptr<SqlConnection>> connection = connect_();
  if (!connection.ok()) {
    absl::MutexLock lock(&pool_mu_);
    --open_;
  }
  return connection;
}

void SqlStore::Return(std::unique_ptr<SqlConnection> connection) const {
  absl::MutexLock lock(&pool_mu_);
  if (connection->Healthy()) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;  // replaced by a fresh one on the next Acquire
  }
}

absl::Status SqlStore::With(bool write,
                            const std::function<absl::Status(SqlConnection&)>& body) const {
  ASSIGN_OR_RETURN(std::unique_ptr<SqlConnection> connection, Acquire());
  absl::Status status =
      write ? RunInTransaction(*connection, [&] { return body(*connection); })
            : body(*connection);
  Return(std::move(connection));
  return status;
}

std::string SqlStore::Sql(absl::string_view sql) const {
  return absl::StrReplaceAll(sql, {{"NOW_US", dialect_.now_us},
                                   {"ROW_LOCK", dialect_.row_lock},
                                   {"CLAIM_LOCK", dialect_.claim_lock}});
}

void SqlStore::NotifyEventsChanged() {
  absl::MutexLock lock(&events_mu_);
  ++events_generation_;
}

absl::StatusOr<RunRecord> SqlStore::ReadRun(SqlConnection& c, const std::string& run_id) {
  ASSIGN_OR_RETURN(SqlRows rows,
                   c.Query(absl::StrCat("SELECT ", kRunColumns, " FROM runs WHERE run_id = $1"),
                           {run_id}));
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  ASSIGN_OR_RETURN(RunRecord record, RunFromRow(rows[0]));
  ASSIGN_OR_RETURN(SqlRows tiers,
                   c.Query("SELECT tier_id, state FROM tiers WHERE run_id = $1 "
                           "ORDER BY tier_index",
                           {run_id}));
  for (const SqlRow& row : tiers) {
    v1::TierStatus* tier = record.run.add_tiers();
    tier->set_tier_id(row.Text(0));
    tier->set_state(static_cast<v1::TierState>(row.Int(1)));
  }
  ASSIGN_OR_RETURN(SqlRows phases,
                   c.Query("SELECT tier_index, phase_id, state, attempts, commit_sha, "
                           "builder_model, auditor_model, selection_rationale, last_error "
                           "FROM phases WHERE run_id = $1 ORDER BY tier_index, phase_index",
                           {run_id}));
  for (const SqlRow& row : phases) {
    const int64_t tier_index = row.Int(0);
    if (tier_index < 0 || tier_index >= record.run.tiers_size()) {
      return absl::DataLossError(
          absl::StrCat("phase ", row.Text(1), " of run ", run_id, " has no tier"));
    }
    v1::PhaseStatus* phase = record.run.mutable_tiers(tier_index)->add_phases();
    phase->set_phase_id(row.Text(1));
    phase->set_state(static_cast<v1::PhaseState>(row.Int(2)));
    phase->set_attempts(static_cast<int32_t>(row.Int(3)));
    phase->set_commit_sha(row.Text(4));
    phase->set_builder_model(row.Text(5));
    phase->set_auditor_model(row.Text(6));
    phase->set_selection_rationale(row.Text(7));
    phase->set_last_error(row.Text(8));
  }
  return record;
}

absl::StatusOr<CreateRunResult> SqlStore::CreateRun(const v1::RunSpec& spec,
                                                    const std::string& created_by,
                                                    const std::vector<v1::RunEvent>& events) {
  if (spec.run_id().empty()) return absl::InvalidArgumentError("spec.run_id is empty");
  {
    // The schema keys tiers and phases by id; say which id repeats.
    std::set<std::string> tier_ids, phase_ids;
    for (int t = 0; t < spec.tiers_size(); ++t) {
      if (!tier_ids.insert(spec.tiers(t).tier_id()).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tiers[", t, "].tier_id ", spec.tiers(t).tier_id(), " is not unique"));
      }
      for (int p = 0; p < spec.tiers(t).phases_size(); ++p) {
        if (!phase_ids.insert(spec.tiers(t).phases(p).phase_id()).second) {
          return absl::InvalidArgumentError(
              absl::StrCat("tiers[", t, "].phases[", p, "].phase_id ",
                           spec.tiers(t).phases(p).phase_id(), " is not unique"));
        }
      }
    }
  }
  const std::string spec_bytes = DeterministicBytes(spec);
  const std::string spec_hash = Sha256Hex(spec_bytes);
  CreateRunResult result;
  auto create = [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows existing,
                     c.Query("SELECT spec_hash FROM runs WHERE run_id = $1", {spec.run_id()}));
    if (!existing.empty()) {
      if (existing[0].Text(0) != spec_hash) {
        return absl::AlreadyExistsError(absl::StrCat(
            "run ", spec.run_id(), " already exists with a different spec"));
      }
      ASSIGN_OR_RETURN(result.record, ReadRun(c, spec.run_id()));
      result.already_existed = true;
      return absl::OkStatus();
    }
    const int64_t n_events = static_cast<int64_t>(events.size());
    RETURN_IF_ERROR(c.Query(Sql("INSERT INTO runs (run_id, project_id, spec, spec_hash, state, "
                                "created_us, last_sequence, created_by) VALUES ($1, $2, $3, $4, "
                                "$5, NOW_US, $6, $7)"),
                            {spec.run_id(), spec.project_id(), SqlArg::Bytes(spec_bytes),
                             spec_hash, static_cast<int>(v1::RUN_STATE_CREATED), n_events,
                             created_by})
                         .status());
    for (int t = 0; t < spec.tiers_size(); ++t) {
      const v1::TierSpec& tier = spec.tiers(t);
      RETURN_IF_ERROR(Annotate(
          c.Query("INSERT INTO tiers (run_id, tier_index, tier_id, state) "
                  "VALUES ($1, $2, $3, $4)",
                  {spec.run_id(), t, tier.tier_id(), static_cast<int>(v1::TIER_STATE_PENDING)})
              .status(),
          absl::StrCat("tiers[", t, "] (", tier.tier_id(), ")")));
      for (int p = 0; p < tier.phases_size(); ++p) {
        RETURN_IF_ERROR(Annotate(
            c.Query("INSERT INTO phases (run_id, phase_id, tier_id, tier_index, phase_index, "
                    "state) VALUES ($1, $2, $3, $4, $5, $6)",
                    {spec.run_id(), tier.phases(p).phase_id(), tier.tier_id(), t, p,
                     static_cast<int>(v1::PHASE_STATE_QUEUED)})
                .status(),
            absl::StrCat("tiers[", t, "].phases[", p, "] (", tier.phases(p).phase_id(), ")")));
      }
    }
    int64_t last_sequence = 0;
    RETURN_IF_ERROR(AppendEvents(c, spec.run_id(), events, &last_sequence, nullptr));
    ASSIGN_OR_RETURN(result.record, ReadRun(c, spec.run_id()));
    result.already_existed = false;
    return absl::OkStatus();
  };
  absl::Status status = With(true, create);
  if (absl::IsAlreadyExists(status) && !result.already_existed) {
    // A concurrent CreateRun with the same id won the insert; compare with it.
    status = With(true, create);
  }
  if (!status.ok()) return status;
  if (!result.already_existed && !events.empty()) NotifyEventsChanged();
  return result;
}

absl::StatusOr<RunRecord> SqlStore::GetRun(const std::string& run_id) {
  RunRecord record;
  RETURN_IF_ERROR(With(false, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(record, ReadRun(c, run_id));
    return absl::OkStatus();
  }));
  return record;
}

absl::StatusOr<ListRunsPage> SqlStore::ListRuns(const ListRunsQuery& query) {
  RETURN_IF_ERROR(CheckPageSize(query.page_size, 500));
  std::vector<std::string> where;
  std::vector<SqlArg> args;
  auto placeholder = [&](SqlArg arg) {
    args.push_back(std::move(arg));
    return absl::StrCat("$", args.size());
  };
  if (!query.states.empty()) {
    std::vector<std::string> states;
    for (v1::RunState s : query.states) states.push_back(placeholder(static_cast<int>(s)));
    where.push_back(absl::StrCat("state IN (", absl::StrJoin(states, ", "), ")"));
  }
  if (!query.project_id.empty()) {
    where.push_back(absl::StrCat("project_id = ", placeholder(query.project_id)));
  }
  if (query.created_by.has_value()) {
    where.push_back(absl::StrCat("created_by = ", placeholder(*query.created_by)));
  }
  if (!query.page_token.empty()) {
    int64_t created = 0;
    std::string run_id;
    RETURN_IF_ERROR(DecodePageToken(query.page_token, &created, &run_id));
    const std::string c = placeholder(created);
    const std::string r = placeholder(run_id);
    where.push_back(absl::StrCat("(created_us < ", c, " OR (created_us = ", c,
                                 " AND run_id < ", r, "))"));
  }
  const std::string sql = absl::StrCat(
      "SELECT run_id, created_us FROM runs",
      where.empty() ? "" : absl::StrCat(" WHERE ", absl::StrJoin(where, " AND ")),
      " ORDER BY created_us DESC, run_id DESC LIMIT ", placeholder(query.page_size + 1));
  ListRunsPage page;
  RETURN_IF_ERROR(With(false, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows rows, c.Query(sql, args));
    const bool more = rows.size() > static_cast<size_t>(query.page_size);
    if (more) rows.pop_back();
    for (const SqlRow& row : rows) {
      ASSIGN_OR_RETURN(RunRecord record, ReadRun(c, row.Text(0)));
      page.runs.push_back(std::move(record));
    }
    if (more) page.next_page_token = EncodePageToken(rows.back().Int(1), rows.back().Text(0));
    return absl::OkStatus();
  }));
  return page;
}

absl::Status SqlStore::RequestCancel(const std::string& run_id, const std::string& reason) {
  return With(true, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     c.Query(Sql("SELECT state FROM runs WHERE run_id = $1 ROW_LOCK"), {run_id}));
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
    const auto state = static_cast<v1::RunState>(rows[0].Int(0));
    if (IsFinalRunState(state)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "run ", run_id, " already ended in ", v1::RunState_Name(state)));
    }
    return c.Query("UPDATE runs SET cancel_requested = 1, cancel_reason = $2 WHERE run_id = $1",
                   {run_id, reason})
        .status();
  });
}

absl::Status SqlStore::CheckFence(SqlConnection& c, const Lease& lease,
                                  int64_t* last_sequence) {
  ASSIGN_OR_RETURN(SqlRows rows,
                   c.Query(Sql("SELECT lease_owner, lease_epoch, lease_expires_us, NOW_US, "
                               "last_sequence FROM runs WHERE run_id = $1 ROW_LOCK"),
                           {lease.run_id}));
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("run ", lease.run_id, " not found"));
  const SqlRow& row = rows[0];
  if (row.Text(0) != lease.owner || row.Int(1) != lease.epoch) {
    return absl::AbortedError(absl::StrCat(
        "lease on run ", lease.run_id, " was lost: ", lease.owner, " held epoch ", lease.epoch,
        ", now ", row.Text(0).empty() ? "nobody" : row.Text(0), " holds epoch ", row.Int(1)));
  }
  if (row.Int(2) <= row.Int(3)) {
    return absl::AbortedError(absl::StrCat("lease on run ", lease.run_id, " held by ",
                                           lease.owner, " expired; renew it first"));
  }
  if (last_sequence != nullptr) *last_sequence = row.Int(4);
  return absl::OkStatus();
}

absl::Status SqlStore::AppendLedger(SqlConnection& c, const std::string& run_id,
                                    const policy::LedgerEntry& e) {
  if (e.run_id != run_id) {
    return absl::InvalidArgumentError(absl::StrCat("ledger entry ", e.sequence, " of run '",
                                                   e.run_id, "' committed under run ", run_id));
  }
  if (e.reservation_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger entry ", e.sequence, " of run ", run_id, " has no reservation_id"));
  }
  return Annotate(
      c.Query("INSERT INTO ledger_journal (run_id, sequence, kind, reservation_id, tier_id, "
              "phase_id, role, model, tokens, cost_micro_usd, output_limit, input_tokens, "
              "cached_input_tokens, output_tokens, reasoning_tokens, time_us, cache_write_tokens) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
              "$17)",
              {run_id, e.sequence, static_cast<int>(e.kind), e.reservation_id, e.tier_id,
               e.phase_id, e.role, e.model, e.tokens, e.cost_micro_usd, e.output_limit,
               e.usage.input_tokens(), e.usage.cached_input_tokens(), e.usage.output_tokens(),
               e.usage.reasoning_tokens(), Micros(e.time), e.usage.cache_write_tokens()})
          .status(),
      absl::StrCat("ledger entry ", e.sequence, " (reservation ", e.reservation_id,
                   ") of run ", run_id));
}

absl::StatusOr<CommitResult> SqlStore::Commit(const Lease& lease, const Transition& t) {
  CommitResult result;
  RETURN_IF_ERROR(With(true, [&](SqlConnection& c) -> absl::Status {
    result = CommitResult();
    int64_t last_sequence = 0;
    RETURN_IF_ERROR(CheckFence(c, lease, &last_sequence));
    const std::string& run_id = lease.run_id;

    std::vector<std::string> sets;
    std::vector<SqlArg> args = {run_id};
    auto set = [&](absl::string_view column, SqlArg value) {
      args.push_back(std::move(value));
      sets.push_back(absl::StrCat(column, " = $", args.size()));
    };
    if (t.run.state) set("state", static_cast<int>(*t.run.state));
    if (t.run.state_reason) set("state_reason", *t.run.state_reason);
    if (t.run.started_at) set("started_us", Micros(*t.run.started_at));
    if (t.run.finished_at) set("finished_us", Micros(*t.run.finished_at));
    if (t.run.branch) set("branch", *t.run.branch);
    if (t.run.head_sha) set("head_sha", *t.run.head_sha);
    if (!t.events.empty()) set("last_sequence", last_sequence + int64_t(t.events.size()));
    if (!sets.empty()) {
      RETURN_IF_ERROR(c.Query(absl::StrCat("UPDATE runs SET ", absl::StrJoin(sets, ", "),
                                           " WHERE run_id = $1"),
                              args)
                          .status());
    }
    for (const v1::TierStatus& tier : t.tiers) {
      ASSIGN_OR_RETURN(SqlRows rows,
                       c.Query("UPDATE tiers SET state = $3 WHERE run_id = $1 AND tier_id = $2 "
                               "RETURNING tier_id",
                               {run_id, tier.tier_id(), static_cast<int>(tier.state())}));
      if (rows.empty()) {
        return absl::NotFoundError(
            absl::StrCat("tier ", tier.tier_id(), " of run ", run_id, " not found"));
      }
    }
    for (const v1::PhaseStatus& phase : t.phases) {
      ASSIGN_OR_RETURN(
          SqlRows rows,
          c.Query("UPDATE phases SET state = $3, attempts = $4, commit_sha = $5, "
                  "builder_model = $6, auditor_model = $7, selection_rationale = $8, "
                  "last_error = $9 WHERE run_id = $1 AND phase_id = $2 RETURNING phase_id",
                  {run_id, phase.phase_id(), static_cast<int>(phase.state()), phase.attempts(),
                   phase.commit_sha(), phase.builder_model(), phase.auditor_model(),
                   phase.selection_rationale(), phase.last_error()}));
      if (rows.empty()) {
        return absl::NotFoundError(
            absl::StrCat("phase ", phase.phase_id(), " of run ", run_id, " not found"));
      }
    }
    for (const AttemptRecord& a : t.attempts) {
      if (a.attempt < 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "attempt of phase ", a.phase_id, " must be numbered from 1, got ", a.attempt));
      }
      RETURN_IF_ERROR(
          c.Query(Sql("INSERT INTO attempts (run_id, phase_id, attempt, step, builder_model, "
                      "auditor_model, build, review, apply, check_result, rolled_back_to, "
                      "feedback, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                      "$11, $12, NOW_US) ON CONFLICT (run_id, phase_id, attempt) DO UPDATE SET "
                      "step = excluded.step, builder_model = excluded.builder_model, "
                      "auditor_model = excluded.auditor_model, build = excluded.build, "
                      "review = excluded.review, apply = excluded.apply, "
                      "check_result = excluded.check_result, "
                      "rolled_back_to = excluded.rolled_back_to, feedback = excluded.feedback, "
                      "updated_us = excluded.updated_us"),
                  {run_id, a.phase_id, a.attempt, static_cast<int>(a.step), a.builder_model,
                   a.auditor_model, OptionalProtoArg(a.build), OptionalProtoArg(a.review),
                   OptionalProtoArg(a.apply), OptionalProtoArg(a.check), a.rolled_back_to,
                   OptionalProtoArg(a.feedback)})
              .status());
    }
    for (const policy::LedgerEntry& entry : t.ledger) {
      RETURN_IF_ERROR(AppendLedger(c, run_id, entry));
    }
    for (const v1::Issue& issue : t.issues) {
      if (issue.fingerprint().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("issue '", issue.message(), "' of run ", run_id, " has no fingerprint"));
      }
      ASSIGN_OR_RETURN(
          SqlRows rows,
          c.Query("INSERT INTO run_issues (run_id, fingerprint, severity, issue, occurrences) "
                  "VALUES ($1, $2, $3, $4, 1) ON CONFLICT (run_id, fingerprint) DO UPDATE SET "
                  "occurrences = run_issues.occurrences + 1, severity = excluded.severity, "
                  "issue = excluded.issue RETURNING occurrences",
                  {run_id, issue.fingerprint(), static_cast<int>(issue.severity()),
                   ProtoArg(issue)}));
      result.issue_occurrences.push_back(static_cast<int32_t>(rows.at(0).Int(0)));
    }
    RETURN_IF_ERROR(AppendEvents(c, run_id, t.events, &last_sequence, &result.sequences));
    if (!t.events.empty() && !dialect_.notify_events.empty()) {
      RETURN_IF_ERROR(c.Query(dialect_.notify_events, {run_id}).status());
    }
    return absl::OkStatus();
  }));
  if (!t.events.empty()) NotifyEventsChanged();
  return result;
}

absl::Status SqlStore::AppendEvents(SqlConnection& c, const std::string& run_id,
                                    const std::vector<v1::RunEvent>& events,
                                    int64_t* last_sequence, std::vector<int64_t>* sequences) {
  for (const v1::RunEvent& original : events) {
    v1::RunEvent event = original;
    event.set_run_id(run_id);
    event.set_sequence(++*last_sequence);
    if (!event.has_time()) SetTimestamp(Micros(absl::Now()), event.mutable_time());
    RETURN_IF_ERROR(c.Query("INSERT INTO run_events (run_id, sequence, event) "
                            "VALUES ($1, $2, $3)",
                            {run_id, event.sequence(), ProtoArg(event)})
                        .status());
    if (sequences != nullptr) sequences->push_back(event.sequence());
  }
  return absl::OkStatus();
}

absl::Status SqlStore::ResumeRun(const std::string& run_id, const v1::RunSpec& spec,
                                 const std::vector<v1::RunEvent>& events) {
  if (spec.run_id() != run_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec of run '", spec.run_id(), "' given to resume run ", run_id));
  }
  RETURN_IF_ERROR(With(true, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows rows, c.Query(Sql("SELECT state, last_sequence FROM runs "
                                               "WHERE run_id = $1 ROW_LOCK"),
                                           {run_id}));
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
    const auto state = static_cast<v1::RunState>(rows[0].Int(0));
    if (state != v1::RUN_STATE_PAUSED_BUDGET) {
      return absl::FailedPreconditionError(absl::StrCat(
          "run ", run_id, " is ", v1::RunState_Name(state), ", not paused at a budget cap"));
    }
    int64_t last_sequence = rows[0].Int(1);
    RETURN_IF_ERROR(AppendEvents(c, run_id, events, &last_sequence, nullptr));
    // spec_hash stays the hash of the spec the run was created with, so a
    // retried CreateRun of that spec still finds the run.
    RETURN_IF_ERROR(c.Query("UPDATE runs SET spec = $2, state = $3, last_sequence = $4 "
                            "WHERE run_id = $1",
                            {run_id, SqlArg::Bytes(DeterministicBytes(spec)),
                             static_cast<int>(v1::RUN_STATE_RUNNING), last_sequence})
                        .status());
    if (!events.empty() && !dialect_.notify_events.empty()) {
      RETURN_IF_ERROR(c.Query(dialect_.notify_events, {run_id}).status());
    }
    return absl::OkStatus();
  }));
  if (!events.empty()) NotifyEventsChanged();
  return absl::OkStatus();
}

absl::Status SqlStore::LeaseLost(SqlConnection& c, const Lease& lease) {
  absl::Status fence = CheckFence(c, lease, nullptr);
  if (!fence.ok()) return fence;
  return absl::AbortedError(absl::StrCat("lease on run ", lease.run_id, " was lost"));
}

absl::StatusOr<std::vector<Lease>> SqlStore::ClaimRuns(const std::string& owner, int max_runs,
                                                       absl::Duration ttl) {
  if (owner.empty()) return absl::InvalidArgumentError("lease owner is empty");
  if (max_runs < 1) return absl::InvalidArgumentError("max_runs must be at least 1");
  std::vector<Lease> leases;
  RETURN_IF_ERROR(With(true, [&](SqlConnection& c) -> absl::Status {
    leases.clear();
    ASSIGN_OR_RETURN(
        SqlRows rows,
        c.Query(Sql("UPDATE runs SET lease_owner = $1, lease_epoch = lease_epoch + 1, "
                    "lease_expires_us = NOW_US + $2 WHERE run_id IN ("
                    "SELECT run_id FROM runs WHERE (state IN ($4, $5) OR "
                    "(state = $6 AND cancel_requested = 1)) AND "
                    "(lease_owner = '' OR lease_expires_us <= NOW_US) "
                    "ORDER BY created_us, run_id LIMIT $3 CLAIM_LOCK) "
                    "RETURNING run_id, lease_epoch, lease_expires_us"),
                {owner, absl::ToInt64Microseconds(ttl), max_runs,
                 static_cast<int>(v1::RUN_STATE_CREATED),
                 static_cast<int>(v1::RUN_STATE_RUNNING),
                 static_cast<int>(v1::RUN_STATE_PAUSED_BUDGET)}));
    for (const SqlRow& row : rows) {
      leases.push_back(
          Lease{row.Text(0), owner, row.Int(1), absl::FromUnixMicros(row.Int(2))});
    }
    return absl::OkStatus();
  }));
  return leases;
}

absl::StatusOr<Lease> SqlStore::RenewLease(const Lease& lease, absl::Duration ttl) {
  Lease renewed = lease;
  RETURN_IF_ERROR(With(true, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     c.Query(Sql("UPDATE runs SET lease_expires_us = NOW_US + $4 "
                                 "WHERE run_id = $1 AND lease_owner = $2 AND lease_epoch = $3 "
                                 "RETURNING lease_expires_us"),
                             {lease.run_id, lease.owner, lease.epoch,
                              absl::ToInt64Microseconds(ttl)}));
    if (rows.empty()) return LeaseLost(c, lease);
    renewed.expires_at = absl::FromUnixMicros(rows[0].Int(0));
    return absl::OkStatus();
  }));
  return renewed;
}

absl::Status SqlStore::ReleaseLease(const Lease& lease) {
  return With(true, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     c.Query("UPDATE runs SET lease_owner = '', lease_expires_us = 0 "
                             "WHERE run_id = $1 AND lease_owner = $2 AND lease_epoch = $3 "
                             "RETURNING run_id",
                             {lease.run_id, lease.owner, lease.epoch}));
    if (rows.empty()) return LeaseLost(c, lease);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<AttemptRecord>> SqlStore::ListAttempts(const std::string& run_id,
                                                                  const std::string& phase_id) {
  std::vector<AttemptRecord> attempts;
  RETURN_IF_ERROR(With(false, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(
        SqlRows rows,
        c.Query(absl::StrCat("SELECT ", kAttemptColumns, " FROM attempts WHERE run_id = $1 AND "
                             "($2 = '' OR phase_id = $2) ORDER BY phase_id, attempt"),
                {run_id, phase_id}));
    for (const SqlRow& row : rows) {
      ASSIGN_OR_RETURN(AttemptRecord a, AttemptFromRow(row));
      attempts.push_back(std::move(a));
    }
    return absl::OkStatus();
  }));
  return attempts;
}

absl::StatusOr<std::vector<policy::LedgerEntry>> SqlStore::ReadLedger(
    const std::string& run_id) {
  std::vector<policy::LedgerEntry> entries;
  RETURN_IF_ERROR(With(false, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     c.Query(absl::StrCat("SELECT ", kLedgerColumns,
                                          " FROM ledger_journal WHERE run_id = $1 "
                                          "ORDER BY sequence"),
                             {run_id}));
    for (const SqlRow& row : rows) entries.push_back(LedgerFromRow(row));
    return absl::OkStatus();
  }));
  return entries;
}

absl::StatusOr<std::vector<v1::RunEvent>> SqlStore::ReadEvents(const std::string& run_id,
                                                               int64_t after_sequence,
                                                               int limit) {
  std::vector<v1::RunEvent> events;
  RETURN_IF_ERROR(With(false, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     c.Query("SELECT event FROM run_events WHERE run_id = $1 AND sequence > $2 "
                             "ORDER BY sequence LIMIT $3",
                             {run_id, after_sequence, limit}));
    for (const SqlRow& row : rows) {
      v1::RunEvent event;
      RETURN_IF_ERROR(ParseProto(row, 0, absl::StrCat("event of run ", run_id), &event));
      events.push_back(std::move(event));
    }
    return absl::OkStatus();
  }));
  return events;
}

absl::StatusOr<std::vector<v1::RunEvent>> SqlStore::WaitForEvents(const std::string& run_id,
                                                                  int64_t after_sequence,
                                                                  absl::Time deadline) {
  while (true) {
    int64_t generation;
    {
      absl::MutexLock lock(&events_mu_);
      generation = events_generation_;
    }
    ASSIGN_OR_RETURN(std::vector<v1::RunEvent> events, ReadEvents(run_id, after_sequence, 1000));
    if (!events.empty()) return events;
    absl::MutexLock lock(&events_mu_);
    auto changed = [this, generation]() {
      events_mu_.AssertHeld();
      return events_generation_ != generation;
    };
    if (absl::Now() >= deadline) return events;
    events_mu_.AwaitWithDeadline(absl::Condition(&changed),
                                 std::min(deadline, absl::Now() + options_.event_poll_interval));
  }
}

absl::StatusOr<IssuePage> SqlStore::ListRunIssues(const std::string& run_id,
                                                  const IssueQuery& query) {
  RETURN_IF_ERROR(CheckPageSize(query.page_size, 1000));
  std::vector<SqlArg> args = {run_id, static_cast<int>(query.min_severity),
                              query.page_size + 1};
  std::string keyset;
  if (!query.page_token.empty()) {
    int64_t occurrences = 0;
    std::string fingerprint;
    RETURN_IF_ERROR(DecodePageToken(query.page_token, &occurrences, &fingerprint));
    args.push_back(occurrences);
    args.push_back(fingerprint);
    keyset = " AND (occurrences < $4 OR (occurrences = $4 AND fingerprint > $5))";
  }
  const std::string sql = absl::StrCat(
      "SELECT fingerprint, issue, occurrences FROM run_issues WHERE run_id = $1 AND "
      "severity >= $2",
      keyset, " ORDER BY occurrences DESC, fingerprint LIMIT $3");
  IssuePage page;
  RETURN_IF_ERROR(With(false, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows rows, c.Query(sql, args));
    const bool more = rows.size() > static_cast<size_t>(query.page_size);
    if (more) rows.pop_back();
    for (const SqlRow& row : rows) {
      v1::TrackedIssue tracked;
      RETURN_IF_ERROR(ParseProto(row, 1, absl::StrCat("issue ", row.Text(0)),
                                 tracked.mutable_issue()));
      tracked.set_occurrences(static_cast<int32_t>(row.Int(2)));
      tracked.set_runs_seen(1);
      tracked.set_first_run_id(run_id);
      tracked.set_last_run_id(run_id);
      page.issues.push_back(std::move(tracked));
    }
    if (more) page.next_page_token = EncodePageToken(rows.back().Int(2), rows.back().Text(0));
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<policy::BacklogEntry> SqlStore::Update(
    absl::string_view project_id, absl::string_view fingerprint,
    const std::function<absl::Status(policy::BacklogEntry&)>& mutate) {
  const std::string project(project_id);
  const std::string fp(fingerprint);
  policy::BacklogEntry entry;
  RETURN_IF_ERROR(With(true, [&](SqlConnection& c) -> absl::Status {
    // A placeholder row makes even a new entry lockable; concurrent updaters
    // of one entry queue on its row lock and each sees the previous result.
    RETURN_IF_ERROR(c.Query("INSERT INTO backlog (project_id, fingerprint) VALUES ($1, $2) "
                            "ON CONFLICT DO NOTHING",
                            {project, fp})
                        .status());
    ASSIGN_OR_RETURN(SqlRows rows,
                     c.Query(Sql(absl::StrCat("SELECT ", kBacklogColumns,
                                              " FROM backlog WHERE project_id = $1 AND "
                                              "fingerprint = $2 ROW_LOCK")),
                             {project, fp}));
    ASSIGN_OR_RETURN(entry, BacklogFromRow(rows.at(0)));
    RETURN_IF_ERROR(mutate(entry));
    entry.project_id = project;
    entry.fingerprint = fp;
    return c
        .Query("UPDATE backlog SET issue = $3, worst_severity = $4, occurrences = $5, "
               "run_ids = $6, tier_ids = $7, first_run_id = $8, last_run_id = $9, "
               "needs_cleanup = $10, first_seen_us = $11, last_seen_us = $12 "
               "WHERE project_id = $1 AND fingerprint = $2",
               {project, fp, ProtoArg(entry.issue), static_cast<int>(entry.worst_severity),
                entry.occurrences, EncodeIds(entry.run_ids), EncodeIds(entry.tier_ids),
                entry.first_run_id, entry.last_run_id, entry.needs_cleanup ? 1 : 0,
                Micros(entry.first_seen), Micros(entry.last_seen)})
        .status();
  }));
  return entry;
}

absl::StatusOr<std::vector<policy::BacklogEntry>> SqlStore::List(
    absl::string_view project_id) const {
  std::vector<policy::BacklogEntry> entries;
  RETURN_IF_ERROR(With(false, [&](SqlConnection& c) -> absl::Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     c.Query(absl::StrCat("SELECT ", kBacklogColumns,
                                          " FROM backlog WHERE project_id = $1 AND "
                                          "issue IS NOT NULL ORDER BY fingerprint"),
                             {std::string(project_id)}));
    for (const SqlRow& row : rows) {
      ASSIGN_OR_RETURN(policy::BacklogEntry entry, BacklogFromRow(row));
      entries.push_back(std::move(entry));
    }
    return absl::OkStatus();
  }));
  return entries;
}

}  // namespace autopack::supervisor
