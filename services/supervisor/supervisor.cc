#include "services/supervisor/supervisor.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/logging.h"
#include "services/common/text.h"
#include "services/common/status_macros.h"
#include "services/supervisor/policy/budget_ledger.h"
#include "services/supervisor/policy/issue_tracking.h"
#include "services/supervisor/policy/model_selector.h"
#include "services/supervisor/policy/preview.h"
#include "services/supervisor/run_spec.h"
#include "services/supervisor/run_state.h"

namespace autopack::supervisor {
namespace {

// Copies the run, tier and phase lines of `report` into `run`.
void AttachUsage(const v1::UsageReport& report, v1::Run* run) {
  *run->mutable_usage() = report.total();
  std::map<std::string, const v1::UsageLine*> tiers, phases;
  for (const v1::UsageLine& line : report.by_tier()) tiers[line.key()] = &line;
  for (const v1::UsageLine& line : report.by_phase()) phases[line.key()] = &line;
  for (v1::TierStatus& tier : *run->mutable_tiers()) {
    if (auto it = tiers.find(tier.tier_id()); it != tiers.end()) *tier.mutable_usage() = *it->second;
    for (v1::PhaseStatus& phase : *tier.mutable_phases()) {
      if (auto it = phases.find(phase.phase_id()); it != phases.end()) {
        *phase.mutable_usage() = *it->second;
      }
    }
  }
}

// Applies the non-zero fields of `raised` to `cap`; INVALID_ARGUMENT (naming
// `path`) for a negative value or one that would lower the cap.
absl::Status RaiseCap(const v1::Budget& raised, const std::string& path, v1::Budget* cap) {
  auto raise = [&](int64_t to, int64_t* current, absl::string_view field) -> absl::Status {
    if (to == 0) return absl::OkStatus();
    if (to < 0) return absl::InvalidArgumentError(absl::StrCat(path, ".", field, ": must not be negative"));
    if (*current == 0 || to < *current) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".", field, ": ", to, " would lower the cap (",
          *current == 0 ? std::string("unlimited") : absl::StrCat(*current), ")"));
    }
    *current = to;
    return absl::OkStatus();
  };
  int64_t tokens = cap->max_tokens(), cost = cap->max_cost_micro_usd();
  RETURN_IF_ERROR(raise(raised.max_tokens(), &tokens, "max_tokens"));
  RETURN_IF_ERROR(raise(raised.max_cost_micro_usd(), &cost, "max_cost_micro_usd"));
  cap->set_max_tokens(tokens);
  cap->set_max_cost_micro_usd(cost);
  return absl::OkStatus();
}

std::string NewRunId() {
  static thread_local absl::BitGen gen;
  return absl::StrCat(absl::FormatTime("run-%Y%m%d-%H%M%S-", absl::Now(), absl::UTCTimeZone()),
                      absl::StrFormat("%06x", absl::Uniform<uint32_t>(gen, 0, 1u << 24)));
}

}  // namespace

Supervisor::Supervisor(Store* store, const policy::PolicyConfig* policy, Peers* peers,
                       SupervisorOptions options)
    : store_(store), policy_(policy), peers_(peers), options_(std::move(options)) {}

Supervisor::~Supervisor() { Stop(); }

void Supervisor::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return;
  started_ = true;
  claim_thread_ = std::thread([this] { ClaimLoop(); });
}

void Supervisor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    nudged_ = true;
  }
  // Drivers blocked in a peer call (a model call may take minutes) return
  // CANCELLED at once and stop at their next safe point.
  peers_->CancelAll();
  claim_thread_.join();
  absl::MutexLock lock(&mu_);
  Reap(/*all=*/true);
}

void Supervisor::ClaimLoop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    ClaimAndRenew();
    Reap(/*all=*/false);
    nudged_ = false;
    mu_.AwaitWithTimeout(absl::Condition(&nudged_), options_.claim_interval);
  }
}

void Supervisor::ClaimAndRenew() {
  // Renew well before expiry so a busy store cannot make a healthy replica
  // lose its runs.
  for (auto& [run_id, active] : active_) {
    if (active->done) continue;
    absl::MutexLock lease_lock(&active->mu);
    if (active->lease.expires_at - absl::Now() > options_.lease_ttl * 2 / 3) continue;
    absl::StatusOr<Lease> renewed = store_->RenewLease(active->lease, options_.lease_ttl);
    if (renewed.ok()) {
      active->lease = *renewed;
    } else {
      LogWarning(absl::StrCat("could not renew the lease: ", renewed.status().ToString()),
                 {{"run_id", run_id}});
    }
  }
  const int free_slots = options_.max_concurrent_runs - static_cast<int>(active_.size());
  if (free_slots <= 0) return;
  absl::StatusOr<std::vector<Lease>> leases =
      store_->ClaimRuns(options_.replica_id, free_slots, options_.lease_ttl);
  if (!leases.ok()) {
    LogWarning(absl::StrCat("claiming runs failed: ", leases.status().ToString()));
    return;
  }
  for (const Lease& lease : *leases) {
    auto active = std::make_unique<ActiveRun>();
    {
      absl::MutexLock lease_lock(&active->mu);
      active->lease = lease;
    }
    ActiveRun* raw = active.get();
    LogInfo("driving run", {{"run_id", lease.run_id}});
    DriverOptions driver_options = options_.driver;
    if (auto it = peer_failing_since_.find(lease.run_id); it != peer_failing_since_.end()) {
      driver_options.peer_failing_since = it->second;
    }
    raw->thread = std::thread([this, raw, driver_options] {
      RunDriver driver(
          DriverContext{store_, policy_, peers_, driver_options},
          [raw] {
            absl::MutexLock lease_lock(&raw->mu);
            return raw->lease;
          },
          [this] { return stopping_.load(); });
      raw->result = driver.Drive();
      raw->done = true;
      absl::MutexLock lock(&mu_);
      nudged_ = true;
    });
    active_[lease.run_id] = std::move(active);
  }
}

void Supervisor::Reap(bool all) {
  for (auto it = active_.begin(); it != active_.end();) {
    ActiveRun* active = it->second.get();
    if (!all && !active->done) {
      ++it;
      continue;
    }
    // Joining may wait for a driver that needs mu_ to report completion.
    mu_.Unlock();
    active->thread.join();
    mu_.Lock();
    Lease lease;
    {
      absl::MutexLock lease_lock(&active->mu);
      lease = active->lease;
    }
    const absl::Status& result = active->result;
    if (result.ok()) {
      LogInfo("run ended or paused at a budget cap", {{"run_id", it->first}});
    } else {
      // Not the budget pause: the run is resumed by a later claim.
      LogWarning(absl::StrCat("run interrupted: ", result.ToString()), {{"run_id", it->first}});
    }
    // Finished runs and runs interrupted by our own shutdown are handed back
    // at once; after other failures the lease is left to expire, which spaces
    // out retries of a run that keeps failing.
    if (result.ok() || result.code() == absl::StatusCode::kCancelled) {
      (void)store_->ReleaseLease(lease);
    }
    if (IsTransientPeerError(result)) {
      peer_failing_since_.emplace(it->first, absl::Now());
    } else if (result.code() != absl::StatusCode::kCancelled) {
      peer_failing_since_.erase(it->first);
    }
    it = active_.erase(it);
  }
}

absl::StatusOr<v1::UsageReport> Supervisor::UsageOf(const RunRecord& record) {
  // The journal is the one source of usage: replaying it gives exactly what
  // the driving replica's ledger holds.
  policy::BudgetLedger::Options options;
  options.run_id = record.run.run_id();
  ASSIGN_OR_RETURN(options.limits,
                   policy::RunLimits::FromSpec(record.run.spec(), policy_->strategy));
  options.safety_profile = record.run.spec().safety_profile();
  ASSIGN_OR_RETURN(std::vector<policy::LedgerEntry> entries,
                   store_->ReadLedger(record.run.run_id()));
  ASSIGN_OR_RETURN(std::unique_ptr<policy::BudgetLedger> ledger,
                   policy::BudgetLedger::Restore(*policy_, std::move(options), entries));
  v1::UsageReport report = ledger->Report();
  report.set_run_id(record.run.run_id());
  return report;
}

absl::StatusOr<RunRecord> Supervisor::GetRunAs(const std::string& run_id,
                                               const Caller& caller) {
  ASSIGN_OR_RETURN(RunRecord record, store_->GetRun(run_id));
  if (!caller.MayAccess(record.run.created_by())) {
    // Neither the owner's name nor anything of the run: only that it exists,
    // which a CreateRun with the same id reveals anyway.
    return absl::PermissionDeniedError(
        absl::StrCat("run ", run_id, " belongs to another caller (admin may access it)"));
  }
  return record;
}

absl::StatusOr<v1::Run> Supervisor::RunWithUsage(RunRecord record) {
  ASSIGN_OR_RETURN(v1::UsageReport report, UsageOf(record));
  AttachUsage(report, &record.run);
  return std::move(record.run);
}

absl::Status Supervisor::CheckAgainstPolicy(const v1::RunSpec& spec) {
  RETURN_IF_ERROR(policy::RunLimits::FromSpec(spec, policy_->strategy).status());
  policy::ModelSelector selector(*policy_);
  for (int t = 0; t < spec.tiers_size(); ++t) {
    for (int p = 0; p < spec.tiers(t).phases_size(); ++p) {
      const v1::PhaseSpec& phase = spec.tiers(t).phases(p);
      policy::SelectionRequest request;
      request.category = phase.task_category();
      request.complexity = phase.complexity();
      absl::StatusOr<policy::Selection> selection = selector.Select(request);
      if (!selection.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("tiers[", t, "].phases[", p,
                                                       "]: ", selection.status().message()));
      }
    }
  }
  return policy::CheckContextWindows(spec, *policy_);
}

absl::StatusOr<v1::CreateRunResponse> Supervisor::CreateRun(const v1::CreateRunRequest& request,
                                                            const Caller& caller) {
  if (!request.has_spec()) return absl::InvalidArgumentError("spec: must be set");
  v1::RunSpec spec = request.spec();
  RETURN_IF_ERROR(ValidateRunSpec(spec, options_.spec_limits));
  RETURN_IF_ERROR(CheckAgainstPolicy(spec));
  if (spec.run_id().empty()) spec.set_run_id(NewRunId());
  if (spec.project_id().empty()) spec.set_project_id(spec.repo_url());
  if (spec.safety_profile() == v1::SAFETY_PROFILE_UNSPECIFIED) {
    spec.set_safety_profile(v1::SAFETY_PROFILE_NORMAL);
  }
  v1::RunEvent created;
  created.mutable_run_state()->set_from(v1::RUN_STATE_UNSPECIFIED);
  created.mutable_run_state()->set_to(v1::RUN_STATE_CREATED);
  ASSIGN_OR_RETURN(CreateRunResult result, store_->CreateRun(spec, caller.name, {created}));
  if (result.already_existed && !caller.MayAccess(result.record.run.created_by())) {
    return absl::AlreadyExistsError(
        absl::StrCat("run_id: ", spec.run_id(), " is taken by another caller's run"));
  }
  {
    absl::MutexLock lock(&mu_);
    nudged_ = true;
  }
  v1::CreateRunResponse response;
  response.set_already_existed(result.already_existed);
  ASSIGN_OR_RETURN(*response.mutable_run(), RunWithUsage(std::move(result.record)));
  return response;
}

absl::StatusOr<v1::Run> Supervisor::GetRun(const v1::GetRunRequest& request,
                                           const Caller& caller) {
  if (request.run_id().empty()) return absl::InvalidArgumentError("run_id: must be set");
  ASSIGN_OR_RETURN(RunRecord record, GetRunAs(request.run_id(), caller));
  return RunWithUsage(std::move(record));
}

absl::StatusOr<v1::ListRunsResponse> Supervisor::ListRuns(const v1::ListRunsRequest& request,
                                                          const Caller& caller) {
  if (request.page_size() < 0 || request.page_size() > 500) {
    return absl::InvalidArgumentError("page_size: must be between 0 and 500");
  }
  ListRunsQuery query;
  if (request.states_size() > 32) return absl::InvalidArgumentError("states: at most 32 entries");
  for (int state : request.states()) {
    if (!v1::RunState_IsValid(state)) {
      return absl::InvalidArgumentError(absl::StrCat("states: ", state, " is not a RunState value"));
    }
    query.states.push_back(static_cast<v1::RunState>(state));
  }
  if (request.project_id().size() > 2048) return absl::InvalidArgumentError("project_id: at most 2048 bytes");
  if (request.page_token().size() > 1024) return absl::InvalidArgumentError("page_token: not a token from ListRuns");
  query.project_id = request.project_id();
  query.page_size = request.page_size() == 0 ? 50 : request.page_size();
  query.page_token = request.page_token();
  if (!caller.Has(Right::kAdmin)) query.created_by = caller.name;
  ASSIGN_OR_RETURN(ListRunsPage page, store_->ListRuns(query));
  v1::ListRunsResponse response;
  for (RunRecord& record : page.runs) {
    ASSIGN_OR_RETURN(*response.add_runs(), RunWithUsage(std::move(record)));
  }
  response.set_next_page_token(page.next_page_token);
  return response;
}

absl::StatusOr<v1::Run> Supervisor::CancelRun(const v1::CancelRunRequest& request,
                                              const Caller& caller) {
  if (request.run_id().empty()) return absl::InvalidArgumentError("run_id: must be set");
  RETURN_IF_ERROR(GetRunAs(request.run_id(), caller).status());
  RETURN_IF_ERROR(store_->RequestCancel(
      request.run_id(), request.reason().empty() ? "cancelled by a caller" : request.reason()));
  {
    absl::MutexLock lock(&mu_);
    nudged_ = true;
  }
  ASSIGN_OR_RETURN(RunRecord record, store_->GetRun(request.run_id()));
  return RunWithUsage(std::move(record));
}

absl::StatusOr<v1::ListIssuesResponse> Supervisor::ListIssues(
    const v1::ListIssuesRequest& request, const Caller& caller) {
  if (request.page_size() < 0 || request.page_size() > 1000) {
    return absl::InvalidArgumentError("page_size: must be between 0 and 1000");
  }
  if (!v1::Severity_IsValid(request.min_severity())) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_severity: ", static_cast<int>(request.min_severity()), " is not a Severity value"));
  }
  if (request.page_token().size() > 1024) return absl::InvalidArgumentError("page_token: not a token from ListIssues");
  IssueQuery query;
  query.min_severity = request.min_severity();
  query.page_size = request.page_size() == 0 ? 100 : request.page_size();
  query.page_token = request.page_token();
  IssuePage page;
  switch (request.scope_case()) {
    case v1::ListIssuesRequest::kRunId: {
      RETURN_IF_ERROR(GetRunAs(request.run_id(), caller).status());
      ASSIGN_OR_RETURN(page, store_->ListRunIssues(request.run_id(), query));
      break;
    }
    case v1::ListIssuesRequest::kProjectId: {
      if (!caller.Has(Right::kAdmin)) {
        // The backlog gathers issues of every run in the project: a caller
        // sees it once it works on the project itself.
        ListRunsQuery own;
        own.project_id = request.project_id();
        own.created_by = caller.name;
        own.page_size = 1;
        ASSIGN_OR_RETURN(ListRunsPage runs, store_->ListRuns(own));
        if (runs.runs.empty()) {
          return absl::PermissionDeniedError(
              "project_id: only admins and callers with a run in the project may read its "
              "backlog");
        }
      }
      ASSIGN_OR_RETURN(std::vector<v1::TrackedIssue> all,
                       policy::ProjectBacklog(store_).List(request.project_id(),
                                                           request.min_severity(),
                                                           request.needs_cleanup_only()));
      // The backlog of a project is small; its page token is an offset.
      size_t offset = 0;
      if (!request.page_token().empty() && !absl::SimpleAtoi(request.page_token(), &offset)) {
        return absl::InvalidArgumentError("page_token: not a token from ListIssues");
      }
      const size_t end = std::min(all.size(), offset + static_cast<size_t>(query.page_size));
      for (size_t i = offset; i < end; ++i) page.issues.push_back(std::move(all[i]));
      if (end < all.size()) page.next_page_token = absl::StrCat(end);
      break;
    }
    case v1::ListIssuesRequest::SCOPE_NOT_SET:
      return absl::InvalidArgumentError("scope: set run_id or project_id");
  }
  v1::ListIssuesResponse response;
  for (v1::TrackedIssue& issue : page.issues) *response.add_issues() = std::move(issue);
  response.set_next_page_token(page.next_page_token);
  return response;
}

absl::StatusOr<v1::UsageReport> Supervisor::GetUsage(const v1::GetUsageRequest& request,
                                                     const Caller& caller) {
  if (request.run_id().empty()) return absl::InvalidArgumentError("run_id: must be set");
  ASSIGN_OR_RETURN(RunRecord record, GetRunAs(request.run_id(), caller));
  return UsageOf(record);
}

absl::StatusOr<v1::PreviewRunResponse> Supervisor::PreviewRun(
    const v1::PreviewRunRequest& request) {
  if (!request.has_spec()) return absl::InvalidArgumentError("spec: must be set");
  RETURN_IF_ERROR(ValidateRunSpec(request.spec(), options_.spec_limits));
  RETURN_IF_ERROR(CheckAgainstPolicy(request.spec()));
  return policy::PreviewRun(request.spec(), *policy_);
}

absl::StatusOr<v1::Run> Supervisor::RaiseBudget(const v1::RaiseBudgetRequest& request,
                                                const Caller& caller) {
  if (request.run_id().empty()) return absl::InvalidArgumentError("run_id: must be set");
  if (request.tiers_size() > options_.spec_limits.max_tiers ||
      request.phases_size() > options_.spec_limits.max_phases) {
    return absl::InvalidArgumentError("tiers, phases: more entries than a run can have");
  }
  ASSIGN_OR_RETURN(RunRecord record, GetRunAs(request.run_id(), caller));
  if (record.run.state() != v1::RUN_STATE_PAUSED_BUDGET) {
    return absl::FailedPreconditionError(absl::StrCat("run ", request.run_id(), " is ",
                                                      v1::RunState_Name(record.run.state()),
                                                      ", not paused at a budget cap"));
  }
  v1::RunSpec spec = record.run.spec();
  RETURN_IF_ERROR(RaiseCap(request.run(), "run", spec.mutable_budget()));
  std::map<std::string, v1::Budget> tiers(request.tiers().begin(), request.tiers().end());
  std::map<std::string, v1::Budget> phases(request.phases().begin(), request.phases().end());
  for (v1::TierSpec& tier : *spec.mutable_tiers()) {
    if (auto it = tiers.find(tier.tier_id()); it != tiers.end()) {
      RETURN_IF_ERROR(RaiseCap(it->second, absl::StrCat("tiers[\"", tier.tier_id(), "\"]"),
                               tier.mutable_budget()));
      tiers.erase(it);
    }
    for (v1::PhaseSpec& phase : *tier.mutable_phases()) {
      if (auto it = phases.find(phase.phase_id()); it != phases.end()) {
        RETURN_IF_ERROR(RaiseCap(it->second, absl::StrCat("phases[\"", phase.phase_id(), "\"]"),
                                 phase.mutable_budget()));
        phases.erase(it);
      }
    }
  }
  if (!tiers.empty() || !phases.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        tiers.empty() ? "phases[\"" : "tiers[\"",
        ClipForMessage(tiers.empty() ? phases.begin()->first : tiers.begin()->first, 64),
        "\"]: the run has no such ", tiers.empty() ? "phase" : "tier"));
  }
  RETURN_IF_ERROR(CheckAgainstPolicy(spec));
  const std::string reason = absl::StrCat(
      "budget raised", caller.name.empty() ? "" : " by " + caller.name, " (run cap ",
      spec.budget().max_tokens(), " tokens, ", spec.budget().max_cost_micro_usd(),
      " micro-USD; 0 is unlimited); resuming");
  v1::RunEvent resumed;
  resumed.mutable_run_state()->set_from(v1::RUN_STATE_PAUSED_BUDGET);
  resumed.mutable_run_state()->set_to(v1::RUN_STATE_RUNNING);
  resumed.mutable_run_state()->set_reason(reason);
  *resumed.mutable_run_state()->mutable_budget() = spec.budget();
  RETURN_IF_ERROR(store_->ResumeRun(request.run_id(), spec, {resumed}));
  {
    absl::MutexLock lock(&mu_);
    nudged_ = true;
  }
  ASSIGN_OR_RETURN(record, store_->GetRun(request.run_id()));
  return RunWithUsage(std::move(record));
}

absl::Status Supervisor::WatchRun(const v1::WatchRunRequest& request, const Caller& caller,
                                  const std::function<bool(const v1::RunEvent&)>& emit,
                                  const std::function<bool()>& gone) {
  if (request.run_id().empty()) return absl::InvalidArgumentError("run_id: must be set");
  if (request.after_sequence() < 0) {
    return absl::InvalidArgumentError("after_sequence: must not be negative");
  }
  ASSIGN_OR_RETURN(RunRecord record, GetRunAs(request.run_id(), caller));
  v1::RunEvent snapshot;
  snapshot.set_run_id(request.run_id());
  ASSIGN_OR_RETURN(*snapshot.mutable_snapshot(), RunWithUsage(record));
  if (!emit(snapshot)) return absl::OkStatus();
  int64_t after = request.after_sequence();
  while (!gone()) {
    ASSIGN_OR_RETURN(std::vector<v1::RunEvent> events,
                     store_->WaitForEvents(request.run_id(), after,
                                           absl::Now() + absl::Milliseconds(500)));
    for (const v1::RunEvent& event : events) {
      if (!emit(event)) return absl::OkStatus();
      after = event.sequence();
    }
    if (!events.empty()) continue;
    ASSIGN_OR_RETURN(record, store_->GetRun(request.run_id()));
    if (IsFinalRunState(record.run.state()) && record.last_sequence <= after) return absl::OkStatus();
    if (stopping_) return absl::UnavailableError("supervisor is shutting down; watch again");
  }
  return absl::OkStatus();
}

}  // namespace autopack::supervisor
