#include "services/supervisor/run_driver.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/common/billed_usage.h"
#include "services/common/issue_fingerprint.h"
#include "services/common/logging.h"
#include "services/common/metrics.h"
#include "services/common/status_macros.h"
#include "services/common/text.h"
#include "services/supervisor/policy/issue_tracking.h"
#include "services/supervisor/policy/models_config.h"
#include "services/supervisor/run_state.h"

namespace autopack::supervisor {
namespace {

constexpr absl::string_view kBuilder = "builder";
constexpr absl::string_view kAuditor = "auditor";
// Prompt framing (instructions, phase text, feedback) on top of the context
// files; bytes bound tokens from above for every BPE tokenizer.
constexpr int64_t kPromptOverheadBytes = 16 * 1024;

absl::Duration DurationOf(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

bool IsTerminalStep(AttemptStep step) {
  return step == AttemptStep::kSucceeded || step == AttemptStep::kFailed;
}

int64_t ByteSize(const v1::AttemptFeedback& f) { return static_cast<int64_t>(f.ByteSizeLong()); }

v1::RunEvent RunStateEvent(v1::RunState from, v1::RunState to, const std::string& reason) {
  v1::RunEvent event;
  event.mutable_run_state()->set_from(from);
  event.mutable_run_state()->set_to(to);
  event.mutable_run_state()->set_reason(reason);
  return event;
}

v1::RunEvent TierEvent(const std::string& tier_id, v1::TierState from, v1::TierState to) {
  v1::RunEvent event;
  event.mutable_tier_state()->set_tier_id(tier_id);
  event.mutable_tier_state()->set_from(from);
  event.mutable_tier_state()->set_to(to);
  return event;
}

// What an operator watches of runs, once each transition is stored (so a
// supervisor that crashes before the commit counts nothing twice): phase
// state changes as metrics and log lines with the run and phase ids, and the
// budget used by every settled LLM call.
void ObserveCommitted(const std::string& run_id, const Transition& t) {
  static Counter& phases = Metrics().GetCounter(
      "autopack_phase_transitions_total", "Phases entering a state, by state", {"state"});
  static Counter& tokens = Metrics().GetCounter(
      "autopack_budget_used_tokens_total", "Tokens settled against run budgets, by role and model",
      {"role", "model"});
  static Counter& cost = Metrics().GetCounter(
      "autopack_budget_used_micro_usd_total", "Cost settled against run budgets in micro-USD, by role and model",
      {"role", "model"});
  for (const v1::RunEvent& event : t.events) {
    if (event.has_phase_state()) {
      const v1::PhaseStateChanged& p = event.phase_state();
      const std::string state = v1::PhaseState_Name(p.to());
      phases.Add({state});
      const std::string attempt = absl::StrCat(p.attempt());
      LogInfo("phase state", {{"run_id", run_id}, {"phase_id", p.phase_id()}, {"state", state},
                              {"attempt", attempt}, {"reason", p.reason()}});
    }
    if (event.has_usage()) {
      const v1::UsageEvent& u = event.usage();
      tokens.Add({u.role(), u.model()}, u.usage().input_tokens() + u.usage().cached_input_tokens() +
                                            u.usage().output_tokens() + u.usage().reasoning_tokens());
      cost.Add({u.role(), u.model()}, u.cost_micro_usd());
    }
  }
}

}  // namespace

RunDriver::RunDriver(DriverContext context, std::function<Lease()> lease,
                     std::function<bool()> stopping)
    : ctx_(std::move(context)),
      lease_(std::move(lease)),
      stopping_(std::move(stopping)),
      selector_(*ctx_.policy) {}

std::string RunDriver::CallKey(absl::string_view reservation_id) const {
  return absl::StrCat(spec_.run_id(), "/", reservation_id);
}

absl::Status RunDriver::Load() {
  const std::string run_id = lease_().run_id;
  ASSIGN_OR_RETURN(record_, ctx_.store->GetRun(run_id));
  spec_ = record_.run.spec();
  ASSIGN_OR_RETURN(policy::RunLimits limits,
                   policy::RunLimits::FromSpec(spec_, ctx_.policy->strategy));
  policy::BudgetLedger::Options options;
  options.run_id = run_id;
  options.limits = std::move(limits);
  options.safety_profile = spec_.safety_profile();
  options.started_at = record_.run.has_started_at()
                           ? absl::FromUnixSeconds(record_.run.started_at().seconds())
                           : absl::Now();
  started_at_ = options.started_at;
  journal_ = std::make_unique<policy::InMemoryLedgerJournal>();
  options.journal = journal_.get();
  options.on_warning = [this](const v1::BudgetWarning& w) { pending_warnings_.push_back(w); };
  ASSIGN_OR_RETURN(std::vector<policy::LedgerEntry> stored, ctx_.store->ReadLedger(run_id));
  ASSIGN_OR_RETURN(ledger_,
                   policy::BudgetLedger::Restore(*ctx_.policy, std::move(options), stored));
  pending_warnings_.clear();
  IssueQuery query;
  query.page_size = 1000;
  do {
    ASSIGN_OR_RETURN(IssuePage page, ctx_.store->ListRunIssues(run_id, query));
    for (const v1::TrackedIssue& t : page.issues) {
      issue_counts_[t.issue().fingerprint()] = t.occurrences();
    }
    query.page_token = page.next_page_token;
  } while (!query.page_token.empty());
  return absl::OkStatus();
}

absl::StatusOr<CommitResult> RunDriver::Commit(Transition t) {
  ASSIGN_OR_RETURN(std::vector<policy::LedgerEntry> journal,
                   journal_->ReadRun(spec_.run_id()));
  t.ledger.insert(t.ledger.end(), journal.begin() + journal_committed_, journal.end());
  for (const v1::BudgetWarning& w : pending_warnings_) {
    v1::RunEvent event;
    *event.mutable_budget_warning() = w;
    t.events.push_back(std::move(event));
  }
  for (const v1::UsageEvent& u : pending_usage_events_) {
    v1::RunEvent event;
    *event.mutable_usage() = u;
    t.events.push_back(std::move(event));
  }
  static Histogram& latency = Metrics().GetHistogram(
      "autopack_store_commit_seconds", "Time to commit one run transition to the state store, by outcome",
      {"ok"});
  const absl::Time start = absl::Now();
  absl::StatusOr<CommitResult> result = ctx_.store->Commit(lease_(), t);
  latency.Observe({result.ok() ? "true" : "false"}, absl::ToDoubleSeconds(absl::Now() - start));
  if (!result.ok()) return result.status();
  ObserveCommitted(spec_.run_id(), t);
  journal_committed_ = journal.size();
  pending_warnings_.clear();
  pending_usage_events_.clear();
  if (t.run.state.has_value()) record_.run.set_state(*t.run.state);
  if (t.run.head_sha.has_value()) record_.run.set_head_sha(*t.run.head_sha);
  if (t.run.branch.has_value()) record_.run.set_branch(*t.run.branch);
  return result;
}

v1::PhaseStatus& RunDriver::PhaseStatusOf(const std::string& phase_id) {
  for (v1::TierStatus& tier : *record_.run.mutable_tiers()) {
    for (v1::PhaseStatus& phase : *tier.mutable_phases()) {
      if (phase.phase_id() == phase_id) return phase;
    }
  }
  // The store creates a status row for every phase of the spec.
  static v1::PhaseStatus* missing = new v1::PhaseStatus;
  return *missing;
}

v1::RunEvent RunDriver::PhaseEvent(const std::string& tier_id, const std::string& phase_id,
                                   v1::PhaseState to, int32_t attempt,
                                   const std::string& reason) {
  v1::RunEvent event;
  v1::PhaseStateChanged* p = event.mutable_phase_state();
  p->set_tier_id(tier_id);
  p->set_phase_id(phase_id);
  p->set_from(PhaseStatusOf(phase_id).state());
  p->set_to(to);
  p->set_attempt(attempt);
  p->set_reason(reason);
  return event;
}

void RunDriver::SetPhaseState(Transition* t, const std::string& tier_id,
                              const std::string& phase_id, v1::PhaseState to, int32_t attempt,
                              const std::string& reason) {
  v1::PhaseStatus& status = PhaseStatusOf(phase_id);
  if (status.state() != to) t->events.push_back(PhaseEvent(tier_id, phase_id, to, attempt, reason));
  status.set_state(to);
  if (!reason.empty() && to != v1::PHASE_STATE_COMPLETE) status.set_last_error(reason);
  // Replace an earlier copy of this phase in the same transition.
  for (v1::PhaseStatus& existing : t->phases) {
    if (existing.phase_id() == phase_id) {
      existing = status;
      return;
    }
  }
  t->phases.push_back(status);
}

v1::UsageEvent RunDriver::UsageEventFor(const std::string& phase_id, absl::string_view role,
                                        const std::string& model, const v1::TokenUsage& usage,
                                        int64_t cost) const {
  v1::UsageEvent event;
  event.set_phase_id(phase_id);
  event.set_role(std::string(role));
  event.set_model(model);
  *event.mutable_usage() = usage;
  event.set_cost_micro_usd(cost);
  *event.mutable_run_total() = ledger_->Report().total();
  return event;
}

bool IsTransientPeerError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

absl::Status RunDriver::CheckpointOrStop(absl::string_view step) {
  if (stopping_()) return absl::CancelledError("supervisor is stopping");
  // Before a side effect is a safe point to honour CancelRun; between an
  // answer and its commit is not (the call was billed and must be settled).
  if (!absl::StartsWith(step, "record_")) {
    RETURN_IF_ERROR(RefreshCancel(&cancelled_));
    if (cancelled_) return absl::CancelledError("run cancelled: " + record_.cancel_reason);
    // max_wall_time ends the run here, at every safe point, not only when the
    // next call asks the ledger for a reservation.
    const absl::Duration max_wall = absl::Seconds(spec_.max_wall_time().seconds()) +
                                    absl::Nanoseconds(spec_.max_wall_time().nanos());
    if (max_wall > absl::ZeroDuration()) {
      const absl::Duration ran = absl::Now() - started_at_;
      if (ran > max_wall) {
        wall_time_reason_ = absl::StrCat("run '", spec_.run_id(), "' has run ",
                                         absl::FormatDuration(ran), ", past its max wall time of ",
                                         absl::FormatDuration(max_wall), " (stopped before ",
                                         step, ")");
        return absl::DeadlineExceededError(wall_time_reason_);
      }
    }
  }
  if (ctx_.options.before_side_effect) return ctx_.options.before_side_effect(step);
  return absl::OkStatus();
}

absl::Status RunDriver::RefreshCancel(bool* cancelled) {
  ASSIGN_OR_RETURN(RunRecord fresh, ctx_.store->GetRun(spec_.run_id()));
  record_.cancel_requested = fresh.cancel_requested;
  record_.cancel_reason = fresh.cancel_reason;
  *cancelled = fresh.cancel_requested;
  return absl::OkStatus();
}

absl::Status RunDriver::Drive() {
  RETURN_IF_ERROR(Load());
  if (IsFinalRunState(record_.run.state())) return absl::OkStatus();
  if (record_.cancel_requested) {
    return Finish(v1::RUN_STATE_CANCELLED, record_.cancel_reason, "", v1::PHASE_STATE_CANCELLED);
  }
  // Only RaiseBudget (which makes it RUNNING) or CancelRun moves a paused run.
  if (record_.run.state() == v1::RUN_STATE_PAUSED_BUDGET) return absl::OkStatus();
  absl::Status status = DriveTiers();
  if (!status.ok() && cancelled_) {
    return Finish(v1::RUN_STATE_CANCELLED, record_.cancel_reason, current_phase_,
                  v1::PHASE_STATE_CANCELLED);
  }
  if (!status.ok() && !wall_time_reason_.empty()) {
    return Finish(v1::RUN_STATE_DONE_FAILED_BUDGET_EXHAUSTED, wall_time_reason_, current_phase_,
                  v1::PHASE_STATE_BUDGET_EXHAUSTED);
  }
  const DriverOptions& o = ctx_.options;
  if (IsTransientPeerError(status) && o.max_peer_outage > absl::ZeroDuration() &&
      absl::Now() - o.peer_failing_since >= o.max_peer_outage) {
    return Finish(v1::RUN_STATE_DONE_FAILED_ENVIRONMENT,
                  absl::StrCat("a service stayed unreachable for more than ",
                               absl::FormatDuration(o.max_peer_outage), ": ", status.message()),
                  current_phase_, v1::PHASE_STATE_FAILED);
  }
  return status;
}

absl::Status RunDriver::DriveTiers() {
  RETURN_IF_ERROR(StartRun());
  // StartRun ends the run itself when the repository or the check command is
  // unusable; no model is called then.
  if (IsFinalRunState(record_.run.state())) return absl::OkStatus();
  for (const v1::TierSpec& tier : spec_.tiers()) {
    bool run_ended = false;
    RETURN_IF_ERROR(DriveTier(tier, &run_ended));
    if (run_ended) return absl::OkStatus();
  }
  Transition done;
  done.run.state = v1::RUN_STATE_DONE_SUCCESS;
  done.run.state_reason = "every phase completed";
  done.run.finished_at = absl::Now();
  done.events.push_back(
      RunStateEvent(v1::RUN_STATE_RUNNING, v1::RUN_STATE_DONE_SUCCESS, "every phase completed"));
  return Commit(std::move(done)).status();
}

absl::Status RunDriver::StartRun() {
  if (record_.run.state() == v1::RUN_STATE_CREATED) {
    Transition t;
    t.run.state = v1::RUN_STATE_RUNNING;
    t.run.started_at = absl::Now();
    t.events.push_back(RunStateEvent(v1::RUN_STATE_CREATED, v1::RUN_STATE_RUNNING, ""));
    RETURN_IF_ERROR(Commit(std::move(t)).status());
  }
  RETURN_IF_ERROR(CheckpointOrStop("open_workspace"));
  v1::OpenWorkspaceRequest request;
  request.set_workspace_id(spec_.run_id());
  request.set_run_id(spec_.run_id());
  request.set_repo_url(spec_.repo_url());
  request.set_base_ref(spec_.base_ref());
  absl::StatusOr<v1::OpenWorkspaceResponse> ws =
      ctx_.peers->OpenWorkspace({spec_.run_id(), ""}, request);
  if (!ws.ok()) {
    if (IsTransientPeerError(ws.status())) return ws.status();
    return Finish(v1::RUN_STATE_DONE_FAILED_ENVIRONMENT,
                  absl::StrCat("cannot open the repository: ", ws.status().message()), "",
                  v1::PHASE_STATE_SKIPPED);
  }
  workspace_id_ = ws->workspace_id();
  base_sha_ = ws->base_sha();
  if (record_.run.branch() != ws->branch() || record_.run.head_sha().empty()) {
    Transition t;
    t.run.branch = ws->branch();
    t.run.head_sha = ws->head_sha();
    RETURN_IF_ERROR(Commit(std::move(t)).status());
  }
  return Preflight();
}

absl::Status RunDriver::Preflight() {
  // Only before the first attempt: later the checks of every attempt say the same.
  for (const v1::TierStatus& tier : record_.run.tiers()) {
    for (const v1::PhaseStatus& phase : tier.phases()) {
      if (phase.attempts() > 0) return absl::OkStatus();
    }
  }
  RETURN_IF_ERROR(CheckpointOrStop("preflight_checks"));
  absl::StatusOr<v1::RunChecksResponse> response = ctx_.peers->RunChecks({spec_.run_id(), ""}, ChecksRequest());
  if (!response.ok()) {
    if (IsTransientPeerError(response.status())) return response.status();
    return Finish(v1::RUN_STATE_DONE_FAILED_ENVIRONMENT,
                  absl::StrCat("check_command cannot run in the workspace: ", response.status().message()), "",
                  v1::PHASE_STATE_SKIPPED);
  }
  if (const std::string refused = RefuseUnsandboxed(response->result()); !refused.empty()) {
    return Finish(v1::RUN_STATE_DONE_FAILED_ENVIRONMENT, refused, "", v1::PHASE_STATE_SKIPPED);
  }
  const v1::CheckResult& result = response->result();
  // The shell's codes for "not found" and "not executable": no patch can fix
  // the command itself, so calling a model would only spend the budget.
  if (!result.timed_out() && (result.exit_code() == 126 || result.exit_code() == 127)) {
    return Finish(v1::RUN_STATE_DONE_FAILED_ENVIRONMENT,
                  absl::StrCat("check_command cannot run on the base commit (exit ", result.exit_code(),
                               ", the shell's \"", result.exit_code() == 127 ? "command not found" : "not executable",
                               "\"): ", KeepTail(result.output_tail(), 500)),
                  "", v1::PHASE_STATE_SKIPPED);
  }
  return absl::OkStatus();
}

v1::RunChecksRequest RunDriver::ChecksRequest() const {
  v1::RunChecksRequest request;
  request.set_workspace_id(workspace_id_);
  request.set_command(spec_.check_command());
  const absl::Duration timeout = spec_.has_check_timeout() && DurationOf(spec_.check_timeout()) > absl::ZeroDuration()
                                     ? DurationOf(spec_.check_timeout())
                                     : ctx_.options.default_check_timeout;
  request.mutable_timeout()->set_seconds(absl::ToInt64Seconds(timeout));
  return request;
}

std::string RunDriver::RefuseUnsandboxed(const v1::CheckResult& result) const {
  if (result.sandboxed() || spec_.allow_unsandboxed_checks()) return "";
  return absl::StrCat("GitAdapter ran the check command without a sandbox (",
                      result.sandbox_note().empty() ? "no reason given" : ClipForMessage(result.sandbox_note(), 300),
                      "); the run spec does not allow that (allow_unsandboxed_checks)");
}

absl::Status RunDriver::DriveTier(const v1::TierSpec& tier, bool* run_ended) {
  v1::TierStatus* status = nullptr;
  for (v1::TierStatus& t : *record_.run.mutable_tiers()) {
    if (t.tier_id() == tier.tier_id()) status = &t;
  }
  if (status == nullptr) return absl::InternalError("tier " + tier.tier_id() + " has no status");
  if (status->state() == v1::TIER_STATE_COMPLETE) return absl::OkStatus();
  if (status->state() != v1::TIER_STATE_RUNNING) {
    Transition t;
    v1::TierStatus running;
    running.set_tier_id(tier.tier_id());
    running.set_state(v1::TIER_STATE_RUNNING);
    t.tiers.push_back(running);
    t.events.push_back(TierEvent(tier.tier_id(), status->state(), v1::TIER_STATE_RUNNING));
    RETURN_IF_ERROR(Commit(std::move(t)).status());
    status->set_state(v1::TIER_STATE_RUNNING);
  }
  for (const v1::PhaseSpec& phase : tier.phases()) {
    if (PhaseStatusOf(phase.phase_id()).state() == v1::PHASE_STATE_COMPLETE) continue;
    absl::optional<PhaseEnd> end;
    RETURN_IF_ERROR(DrivePhase(tier, phase, &end));
    if (end.has_value()) {
      *run_ended = true;
      if (end->run_state == v1::RUN_STATE_PAUSED_BUDGET) {
        return Pause(tier.tier_id(), phase.phase_id(), end->reason);
      }
      return Finish(end->run_state, end->reason, phase.phase_id(), end->phase_state);
    }
  }
  Transition t;
  v1::TierStatus complete;
  complete.set_tier_id(tier.tier_id());
  complete.set_state(v1::TIER_STATE_COMPLETE);
  t.tiers.push_back(complete);
  t.events.push_back(TierEvent(tier.tier_id(), v1::TIER_STATE_RUNNING, v1::TIER_STATE_COMPLETE));
  RETURN_IF_ERROR(Commit(std::move(t)).status());
  status->set_state(v1::TIER_STATE_COMPLETE);
  return absl::OkStatus();
}

absl::Status RunDriver::DrivePhase(const v1::TierSpec& tier, const v1::PhaseSpec& phase,
                                   absl::optional<PhaseEnd>* end) {
  current_phase_ = phase.phase_id();
  PhaseContext pc{&tier, &phase, ctx_.policy->strategy.Resolve(phase.task_category()),
                  base_sha_};
  // Failed attempts roll back, so every attempt starts where the phase did:
  // after the last completed phase.
  for (const v1::TierSpec& t : spec_.tiers()) {
    for (const v1::PhaseSpec& p : t.phases()) {
      if (p.phase_id() == phase.phase_id()) break;
      const v1::PhaseStatus& s = PhaseStatusOf(p.phase_id());
      if (s.state() == v1::PHASE_STATE_COMPLETE && !s.commit_sha().empty()) {
        pc.head_before = s.commit_sha();
      }
    }
  }
  const int32_t max_attempts =
      phase.max_attempts() > 0 ? phase.max_attempts() : pc.category.strategy->max_attempts;
  ASSIGN_OR_RETURN(std::vector<AttemptRecord> attempts,
                   ctx_.store->ListAttempts(spec_.run_id(), phase.phase_id()));
  std::vector<v1::AttemptFeedback> feedback;
  int failed = 0;
  for (const AttemptRecord& a : attempts) {
    if (a.step == AttemptStep::kFailed) {
      ++failed;
      if (a.feedback.has_value()) feedback.push_back(*a.feedback);
    }
  }
  // Keep the prompt bounded: the latest feedback matters most.
  while (feedback.size() > 3) feedback.erase(feedback.begin());

  while (true) {
    AttemptRecord attempt;
    if (!attempts.empty() && !IsTerminalStep(attempts.back().step)) {
      attempt = attempts.back();
    } else if (!attempts.empty() && attempts.back().step == AttemptStep::kSucceeded) {
      attempt = attempts.back();
      attempt.step = AttemptStep::kChecked;  // re-commit the completion
    } else {
      const int32_t number = static_cast<int32_t>(attempts.size()) + 1;
      if (number > max_attempts) {
        const bool human = pc.category.strategy->high_risk ||
                           spec_.safety_profile() == v1::SAFETY_PROFILE_SAFETY_CRITICAL;
        *end = PhaseEnd{v1::PHASE_STATE_FAILED,
                        human ? v1::RUN_STATE_DONE_FAILED_REQUIRES_HUMAN_REVIEW
                              : v1::RUN_STATE_DONE_FAILED_POLICY_VIOLATION,
                        absl::StrCat("phase ", phase.phase_id(), " failed all ", max_attempts,
                                     " attempts; last: ",
                                     PhaseStatusOf(phase.phase_id()).last_error())};
        return absl::OkStatus();
      }
      policy::SelectionRequest selection_request;
      selection_request.category = phase.task_category();
      selection_request.complexity = phase.complexity();
      selection_request.failed_attempts = failed;
      selection_request.unavailable_providers = unavailable_providers_;
      absl::StatusOr<policy::Selection> selection = selector_.Select(selection_request);
      if (!selection.ok()) {
        *end = PhaseEnd{v1::PHASE_STATE_FAILED, v1::RUN_STATE_DONE_FAILED_ENVIRONMENT,
                        absl::StrCat("no model for phase ", phase.phase_id(), ": ",
                                     selection.status().message())};
        return absl::OkStatus();
      }
      attempt.phase_id = phase.phase_id();
      attempt.attempt = number;
      attempt.step = AttemptStep::kStarted;
      attempt.builder_model = selection->builder_model;
      attempt.auditor_model = selection->auditor_model;
      Transition t;
      t.attempts.push_back(attempt);
      v1::PhaseStatus& status = PhaseStatusOf(phase.phase_id());
      status.set_attempts(number);
      status.set_builder_model(selection->builder_model);
      status.set_auditor_model(selection->auditor_model);
      status.set_selection_rationale(selection->rationale);
      SetPhaseState(&t, tier.tier_id(), phase.phase_id(), v1::PHASE_STATE_BUILDING, number, "");
      v1::RunEvent event;
      v1::AttemptEvent* a = event.mutable_attempt();
      a->set_phase_id(phase.phase_id());
      a->set_attempt(number);
      a->set_builder_model(selection->builder_model);
      a->set_auditor_model(selection->auditor_model);
      a->set_rationale(selection->rationale);
      t.events.push_back(std::move(event));
      RETURN_IF_ERROR(Commit(std::move(t)).status());
      attempts.push_back(attempt);
    }
    PhaseEnd phase_end;
    ASSIGN_OR_RETURN(AttemptResult result, Advance(pc, feedback, &attempt, &phase_end));
    attempts.back() = attempt;
    switch (result) {
      case AttemptResult::kSucceeded:
        return absl::OkStatus();
      case AttemptResult::kPhaseEnded:
        *end = phase_end;
        return absl::OkStatus();
      case AttemptResult::kFailed:
        ++failed;
        if (attempt.feedback.has_value()) feedback.push_back(*attempt.feedback);
        while (feedback.size() > 3) feedback.erase(feedback.begin());
        break;
    }
  }
}

absl::StatusOr<RunDriver::AttemptResult> RunDriver::Advance(
    const PhaseContext& pc, const std::vector<v1::AttemptFeedback>& feedback,
    AttemptRecord* attempt, PhaseEnd* end) {
  while (true) {
    absl::StatusOr<AttemptResult> result;
    switch (attempt->step) {
      case AttemptStep::kStarted:
        result = Build(pc, feedback, attempt, end);
        break;
      case AttemptStep::kBuilt:
        result = Review(pc, attempt, end);
        break;
      case AttemptStep::kReviewed:
        result = Apply(pc, attempt, end);
        break;
      case AttemptStep::kApplied:
      case AttemptStep::kChecked:
      case AttemptStep::kRolledBack:
        result = Check(pc, attempt, end);
        break;
      case AttemptStep::kSucceeded:
        return AttemptResult::kSucceeded;
      case AttemptStep::kFailed:
        return AttemptResult::kFailed;
    }
    if (!result.ok()) return result.status();
    // A step that moved the attempt on returns kSucceeded with a non-terminal
    // step; loop to the next one.
    if (*result != AttemptResult::kSucceeded || IsTerminalStep(attempt->step)) return *result;
  }
}

int64_t RunDriver::PromptBytes(const v1::PhaseSpec& phase,
                               const std::vector<v1::ContextFile>& context, int64_t extra) {
  int64_t bytes = kPromptOverheadBytes + static_cast<int64_t>(phase.ByteSizeLong()) + extra;
  for (const v1::ContextFile& f : context) bytes += f.content().size() + f.path().size();
  return bytes;
}

absl::StatusOr<RunDriver::AttemptResult> RunDriver::ReservationFailure(const absl::Status& status,
                                                                       PhaseEnd* end) {
  if (status.code() != absl::StatusCode::kResourceExhausted) return status;
  // A token or cost cap can be raised, so the run waits for that unless its
  // spec asks to fail; max_phases and max_wall_time end it.
  const bool pause = policy::IsCapShortfall(status) &&
                     spec_.on_budget_exhausted() != v1::BUDGET_EXHAUSTED_ACTION_FAIL;
  *end = PhaseEnd{v1::PHASE_STATE_BUDGET_EXHAUSTED,
                  pause ? v1::RUN_STATE_PAUSED_BUDGET : v1::RUN_STATE_DONE_FAILED_BUDGET_EXHAUSTED,
                  std::string(status.message())};
  return AttemptResult::kPhaseEnded;
}

absl::StatusOr<std::vector<v1::ContextFile>> RunDriver::ReadContext(const v1::PhaseSpec& phase) {
  // Failed attempts roll back, so a phase's context is the same for all its
  // attempts and steps: read it once.
  if (context_phase_ == phase.phase_id()) return context_;
  if (phase.context_paths().empty()) return std::vector<v1::ContextFile>();
  v1::ReadFilesRequest request;
  request.set_workspace_id(workspace_id_);
  for (const std::string& path : phase.context_paths()) request.add_globs(path);
  request.set_max_file_bytes(ctx_.options.max_context_file_bytes);
  request.set_max_total_bytes(ctx_.options.max_context_total_bytes);
  ASSIGN_OR_RETURN(v1::ReadFilesResponse response,
                   ctx_.peers->ReadFiles({spec_.run_id(), phase.phase_id()}, request));
  context_.assign(response.files().begin(), response.files().end());
  context_phase_ = phase.phase_id();
  return context_;
}

absl::StatusOr<policy::Reservation> RunDriver::ReserveCall(const PhaseContext& pc,
                                                           absl::string_view role,
                                                           const std::string& model,
                                                           int64_t input_bytes,
                                                           int64_t output_tokens) {
  // A reservation left open by a crash is the call to make again.
  const std::vector<std::string> open_ids = ledger_->OpenReservations();
  if (!open_ids.empty()) {
    ASSIGN_OR_RETURN(std::vector<policy::LedgerEntry> stored,
                     ctx_.store->ReadLedger(spec_.run_id()));
    for (const policy::LedgerEntry& e : stored) {
      if (e.kind != policy::LedgerEntryKind::kReserve || e.phase_id != pc.phase->phase_id() ||
          e.role != role ||
          std::find(open_ids.begin(), open_ids.end(), e.reservation_id) == open_ids.end()) {
        continue;
      }
      policy::Reservation open;
      open.id = e.reservation_id;
      open.model = e.model;
      open.output_limit = e.output_limit;
      open.worst_case_tokens = e.tokens;
      open.worst_case_micro_usd = e.cost_micro_usd;
      return open;
    }
  }
  policy::CallRequest call;
  call.tier_id = pc.tier->tier_id();
  call.phase_id = pc.phase->phase_id();
  call.role = std::string(role);
  call.model = model;
  call.category = pc.phase->task_category();
  call.estimated_input_tokens = input_bytes;
  call.requested_output_tokens = output_tokens;
  ASSIGN_OR_RETURN(policy::Reservation reservation, ledger_->Reserve(call));
  RETURN_IF_ERROR(Commit(Transition()).status());
  return reservation;
}

absl::Status RunDriver::SettleFailedCall(const std::string& phase_id, absl::string_view role,
                                        const policy::Reservation& reservation,
                                        const absl::Status& error) {
  if (!HasBilledUsage(error)) return ledger_->Release(reservation.id);
  // Answers the provider billed before the call failed (the peer's retries
  // included): charged like any other, and shown, so the run pays them.
  const v1::TokenUsage usage = BilledUsageOf(error);
  ASSIGN_OR_RETURN(policy::Settlement settled,
                   ledger_->Settle(reservation.id, reservation.model, usage));
  pending_usage_events_.push_back(
      UsageEventFor(phase_id, role, reservation.model, usage, settled.cost_micro_usd));
  return absl::OkStatus();
}

absl::StatusOr<RunDriver::AttemptResult> RunDriver::PeerFailure(const absl::Status& status,
                                                                absl::string_view what,
                                                                PhaseEnd* end) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
      return status;  // transient: the run is resumed later from this step
    default:
      *end = PhaseEnd{v1::PHASE_STATE_FAILED, v1::RUN_STATE_DONE_FAILED_ENVIRONMENT,
                      absl::StrCat(what, " failed: ", status.ToString())};
      return AttemptResult::kPhaseEnded;
  }
}

absl::StatusOr<RunDriver::AttemptResult> RunDriver::FallBack(const PhaseContext& pc,
                                                             absl::string_view role,
                                                             const std::string& model,
                                                             const absl::Status& error,
                                                             AttemptRecord* attempt) {
  unavailable_providers_.insert(policy::ProviderOf(model));
  policy::SelectionRequest request;
  request.category = pc.phase->task_category();
  request.complexity = pc.phase->complexity();
  // Attempts run one after another: attempt N follows N - 1 failed ones.
  request.failed_attempts = attempt->attempt - 1;
  request.unavailable_providers = unavailable_providers_;
  absl::StatusOr<policy::Selection> selection = selector_.Select(request);
  if (!selection.ok()) {
    // No provider left: commit the release and pause; the run is retried later.
    RETURN_IF_ERROR(Commit(Transition()).status());
    return absl::UnavailableError(absl::StrCat(error.message(), "; no fallback: ",
                                               selection.status().message()));
  }
  std::string& slot = role == kBuilder ? attempt->builder_model : attempt->auditor_model;
  slot = role == kBuilder ? selection->builder_model : selection->auditor_model;
  Transition t;
  t.attempts.push_back(*attempt);
  v1::PhaseStatus& status = PhaseStatusOf(pc.phase->phase_id());
  status.set_builder_model(attempt->builder_model);
  status.set_auditor_model(attempt->auditor_model);
  status.set_selection_rationale(absl::StrCat(role, " model ", model, " unavailable (",
                                              error.message(), "): ", selection->rationale));
  t.phases.push_back(status);
  v1::RunEvent event;
  v1::AttemptEvent* a = event.mutable_attempt();
  a->set_phase_id(pc.phase->phase_id());
  a->set_attempt(attempt->attempt);
  a->set_builder_model(attempt->builder_model);
  a->set_auditor_model(attempt->auditor_model);
  a->set_rationale(status.selection_rationale());
  t.events.push_back(std::move(event));
  RETURN_IF_ERROR(Commit(std::move(t)).status());
  // Same step again, with the fallback model.
  return AttemptResult::kSucceeded;
}

absl::StatusOr<RunDriver::AttemptResult> RunDriver::FailAttempt(const PhaseContext& pc,
                                                                AttemptRecord* attempt,
                                                                v1::AttemptFeedback feedback,
                                                                absl::string_view why,
                                                                absl::optional<std::string> head) {
  feedback.set_attempt(attempt->attempt);
  if (attempt->build.has_value() && ByteSize(feedback) < 200 * 1024) {
    feedback.set_previous_patch(attempt->build->patch());
  }
  attempt->step = AttemptStep::kFailed;
  attempt->feedback = feedback;
  Transition t;
  t.attempts.push_back(*attempt);
  if (head.has_value()) t.run.head_sha = *head;
  const std::string reason = absl::StrCat("attempt ", attempt->attempt, ": ", why);
  SetPhaseState(&t, pc.tier->tier_id(), pc.phase->phase_id(), v1::PHASE_STATE_QUEUED,
                attempt->attempt, reason);
  v1::RunEvent event;
  v1::AttemptEvent* a = event.mutable_attempt();
  a->set_phase_id(pc.phase->phase_id());
  a->set_attempt(attempt->attempt);
  a->set_builder_model(attempt->builder_model);
  a->set_auditor_model(attempt->auditor_model);
  *a->mutable_feedback() = feedback;
  t.events.push_back(std::move(event));
  RETURN_IF_ERROR(Commit(std::move(t)).status());
  return AttemptResult::kFailed;
}

absl::StatusOr<RunDriver::AttemptResult> RunDriver::Build(
    const PhaseContext& pc, const std::vector<v1::AttemptFeedback>& feedback,
    AttemptRecord* attempt, PhaseEnd* end) {
  const std::string& phase_id = pc.phase->phase_id();
  // A phase that paused at a cap before this call builds again once resumed.
  if (PhaseStatusOf(phase_id).state() != v1::PHASE_STATE_BUILDING) {
    Transition t;
    SetPhaseState(&t, pc.tier->tier_id(), phase_id, v1::PHASE_STATE_BUILDING, attempt->attempt,
                  "");
    RETURN_IF_ERROR(Commit(std::move(t)).status());
  }
  absl::StatusOr<std::vector<v1::ContextFile>> context = ReadContext(*pc.phase);
  if (!context.ok()) return PeerFailure(context.status(), "reading context files", end);
  int64_t feedback_bytes = 0;
  for (const v1::AttemptFeedback& f : feedback) feedback_bytes += ByteSize(f);
  absl::StatusOr<policy::Reservation> reservation =
      ReserveCall(pc, kBuilder, attempt->builder_model,
                  PromptBytes(*pc.phase, *context, feedback_bytes),
                  policy::OutputLimit(*ctx_.policy, kBuilder, attempt->builder_model));
  if (!reservation.ok()) return ReservationFailure(reservation.status(), end);
  RETURN_IF_ERROR(CheckpointOrStop("generate_patch"));
  v1::GeneratePatchRequest request;
  *request.mutable_phase() = *pc.phase;
  request.set_model(reservation->model);
  // The format the catalog says this model writes best (the model is known
  // to the catalog: it was reserved at its price).
  if (absl::StatusOr<ModelInfo> info = ctx_.policy->prices.Info(reservation->model); info.ok()) {
    request.set_edit_format(info->edit_format);
  }
  for (const v1::ContextFile& f : *context) *request.add_context_files() = f;
  for (const v1::AttemptFeedback& f : feedback) *request.add_feedback() = f;
  request.set_max_output_tokens(static_cast<int32_t>(reservation->output_limit));
  request.set_idempotency_key(CallKey(reservation->id));
  request.set_run_id(spec_.run_id());
  absl::StatusOr<v1::GeneratePatchResponse> response =
      ctx_.peers->GeneratePatch({spec_.run_id(), phase_id}, request);
  if (!response.ok()) {
    const absl::StatusCode code = response.status().code();
    if (code == absl::StatusCode::kCancelled) {
      return response.status();  // keep the reservation: the call is made again later
    }
    RETURN_IF_ERROR(SettleFailedCall(phase_id, kBuilder, *reservation, response.status()));
    if (code == absl::StatusCode::kUnavailable) {
      return FallBack(pc, kBuilder, reservation->model, response.status(), attempt);
    }
    RETURN_IF_ERROR(Commit(Transition()).status());
    if (code == absl::StatusCode::kDeadlineExceeded ||
        code == absl::StatusCode::kResourceExhausted) {
      v1::AttemptFeedback f;
      f.set_builder_error(std::string(response.status().message()));
      return FailAttempt(pc, attempt, f, absl::StrCat("builder: ", response.status().message()));
    }
    return PeerFailure(response.status(), "Builder.GeneratePatch", end);
  }
  RETURN_IF_ERROR(CheckpointOrStop("record_build"));
  ASSIGN_OR_RETURN(policy::Settlement settled,
                   ledger_->Settle(reservation->id, response->model_used(), response->usage()));
  attempt->step = AttemptStep::kBuilt;
  attempt->build = *response;
  Transition t;
  t.attempts.push_back(*attempt);
  v1::RunEvent usage;
  *usage.mutable_usage() = UsageEventFor(phase_id, kBuilder, response->model_used().empty()
                                                                 ? reservation->model
                                                                 : response->model_used(),
                                         response->usage(), settled.cost_micro_usd);
  t.events.push_back(std::move(usage));
  RETURN_IF_ERROR(Commit(std::move(t)).status());
  return AttemptResult::kSucceeded;
}

absl::StatusOr<RunDriver::AttemptResult> RunDriver::Review(const PhaseContext& pc,
                                                           AttemptRecord* attempt,
                                                           PhaseEnd* end) {
  const std::string& phase_id = pc.phase->phase_id();
  const v1::GeneratePatchResponse& build = *attempt->build;
  if (build.outcome() != v1::PATCH_OUTCOME_OK) {
    v1::AttemptFeedback f;
    f.set_builder_error(absl::StrCat(v1::PatchOutcome_Name(build.outcome()), ": ", build.detail()));
    return FailAttempt(pc, attempt, f,
                       absl::StrCat("builder answered ", v1::PatchOutcome_Name(build.outcome()),
                                    build.detail().empty() ? "" : ": " + build.detail()));
  }
  if (PhaseStatusOf(phase_id).state() != v1::PHASE_STATE_AUDITING) {
    Transition t;
    SetPhaseState(&t, pc.tier->tier_id(), phase_id, v1::PHASE_STATE_AUDITING, attempt->attempt,
                  "");
    RETURN_IF_ERROR(Commit(std::move(t)).status());
  }
  absl::StatusOr<std::vector<v1::ContextFile>> context = ReadContext(*pc.phase);
  if (!context.ok()) return PeerFailure(context.status(), "reading context files", end);
  absl::StatusOr<policy::Reservation> reservation =
      ReserveCall(pc, kAuditor, attempt->auditor_model,
                  PromptBytes(*pc.phase, *context, build.patch().size()),
                  policy::OutputLimit(*ctx_.policy, kAuditor, attempt->auditor_model));
  if (!reservation.ok()) return ReservationFailure(reservation.status(), end);
  RETURN_IF_ERROR(CheckpointOrStop("review_patch"));
  v1::ReviewPatchRequest request;
  *request.mutable_phase() = *pc.phase;
  request.set_patch(build.patch());
  for (const v1::ContextFile& f : *context) *request.add_context_files() = f;
  request.set_auditor_profile(pc.category.strategy->auditor_profile);
  request.set_model(reservation->model);
  request.set_max_output_tokens(static_cast<int32_t>(reservation->output_limit));
  request.set_idempotency_key(CallKey(reservation->id));
  for (const std::string& glob :
       ctx_.policy->strategy.ProtectedPaths(pc.category.strategy->check_profile)) {
    request.add_protected_paths(glob);
  }
  request.set_run_id(spec_.run_id());
  absl::StatusOr<v1::ReviewPatchResponse> response =
      ctx_.peers->ReviewPatch({spec_.run_id(), phase_id}, request);
  if (!response.ok()) {
    const absl::StatusCode code = response.status().code();
    if (code == absl::StatusCode::kCancelled) return response.status();
    RETURN_IF_ERROR(SettleFailedCall(phase_id, kAuditor, *reservation, response.status()));
    if (code == absl::StatusCode::kUnavailable) {
      return FallBack(pc, kAuditor, reservation->model, response.status(), attempt);
    }
    RETURN_IF_ERROR(Commit(Transition()).status());
    return PeerFailure(response.status(), "Auditor.ReviewPatch", end);
  }
  RETURN_IF_ERROR(CheckpointOrStop("record_review"));
  // Issues are keyed by fingerprint everywhere; a peer that sent none gets
  // the canonical one rather than being trusted to agree.
  for (v1::Issue& issue : *response->mutable_issues()) {
    if (issue.fingerprint().empty()) {
      issue.set_fingerprint(IssueFingerprint(issue.category(), issue.path(), issue.message()));
    }
  }
  ASSIGN_OR_RETURN(policy::Settlement settled,
                   ledger_->Settle(reservation->id, response->model_used(), response->usage()));
  attempt->step = AttemptStep::kReviewed;
  attempt->review = *response;
  Transition t;
  t.attempts.push_back(*attempt);
  if (!response->llm_skipped() || response->usage().ByteSizeLong() > 0) {
    v1::RunEvent usage;
    *usage.mutable_usage() = UsageEventFor(phase_id, kAuditor, response->model_used().empty()
                                                                   ? reservation->model
                                                                   : response->model_used(),
                                           response->usage(), settled.cost_micro_usd);
    t.events.push_back(std::move(usage));
  }
  for (const v1::Issue& issue : response->issues()) {
    t.issues.push_back(issue);
    v1::RunEvent event;
    event.mutable_issue()->set_phase_id(phase_id);
    *event.mutable_issue()->mutable_issue() = issue;
    event.mutable_issue()->set_occurrences(++issue_counts_[issue.fingerprint()]);
    t.events.push_back(std::move(event));
  }
  RETURN_IF_ERROR(Commit(std::move(t)).status());
  // The backlog ages an issue once per run, so recording it again after a
  // crash between the commit above and here changes nothing but a count.
  policy::ProjectBacklog backlog(ctx_.store);
  for (const v1::Issue& issue : response->issues()) {
    RETURN_IF_ERROR(backlog
                        .Record(spec_.project_id(), spec_.run_id(), pc.tier->tier_id(), issue,
                                absl::Now())
                        .status());
  }
  return AttemptResult::kSucceeded;
}

absl::StatusOr<RunDriver::AttemptResult> RunDriver::Apply(const PhaseContext& pc,
                                                          AttemptRecord* attempt,
                                                          PhaseEnd* end) {
  const std::string& phase_id = pc.phase->phase_id();
  const v1::ReviewPatchResponse& review = *attempt->review;
  if (!review.approved()) {
    v1::AttemptFeedback f;
    for (const v1::Issue& issue : review.issues()) *f.add_auditor_issues() = issue;
    int majors = 0;
    for (const v1::Issue& issue : review.issues()) majors += issue.severity() == v1::SEVERITY_MAJOR;
    return FailAttempt(pc, attempt, f,
                       absl::StrCat("auditor rejected the patch (", majors, " major issue",
                                    majors == 1 ? "" : "s", ")"));
  }
  const policy::SafetyPolicy& safety = ctx_.policy->strategy.Safety(spec_.safety_profile());
  if (!pc.category.strategy->auto_apply ||
      (pc.category.strategy->high_risk && safety.high_risk_requires_human_review)) {
    *end = PhaseEnd{v1::PHASE_STATE_FAILED, v1::RUN_STATE_DONE_FAILED_REQUIRES_HUMAN_REVIEW,
                    absl::StrCat("phase ", phase_id, " (category ", pc.category.strategy->name,
                                 ") needs a person to apply it: the approved patch is recorded "
                                 "with attempt ",
                                 attempt->attempt)};
    return AttemptResult::kPhaseEnded;
  }
  if (PhaseStatusOf(phase_id).state() != v1::PHASE_STATE_APPLYING) {
    Transition t;
    SetPhaseState(&t, pc.tier->tier_id(), phase_id, v1::PHASE_STATE_APPLYING, attempt->attempt,
                  "");
    RETURN_IF_ERROR(Commit(std::move(t)).status());
  }
  RETURN_IF_ERROR(CheckpointOrStop("apply_patch"));
  v1::ApplyPatchRequest request;
  request.set_workspace_id(workspace_id_);
  request.set_patch(attempt->build->patch());
  for (const std::string& glob : pc.phase->allowed_paths()) request.add_allowed_paths(glob);
  // The list the Auditor got: GitAdapter enforces it too, on the paths it decodes.
  for (const std::string& glob :
       ctx_.policy->strategy.ProtectedPaths(pc.category.strategy->check_profile)) {
    request.add_protected_paths(glob);
  }
  request.set_commit_message(absl::StrCat("autopack: ", phase_id, " ", pc.phase->name(),
                                          " (attempt ", attempt->attempt, ")\n\n",
                                          attempt->build->summary()));
  request.mutable_author()->set_name(ctx_.options.author_name);
  request.mutable_author()->set_email(ctx_.options.author_email);
  request.set_idempotency_key(absl::StrCat(spec_.run_id(), "/", phase_id, "/", attempt->attempt));
  absl::StatusOr<v1::ApplyPatchResponse> response =
      ctx_.peers->ApplyPatch({spec_.run_id(), phase_id}, request);
  if (!response.ok()) {
    if (response.status().code() == absl::StatusCode::kInvalidArgument) {
      v1::AttemptFeedback f;
      v1::ApplyRejection* rejection = f.add_apply_rejections();
      rejection->set_reason(std::string(response.status().message()));
      return FailAttempt(pc, attempt, f,
                         absl::StrCat("patch rejected: ", response.status().message()));
    }
    return PeerFailure(response.status(), "GitAdapter.ApplyPatch", end);
  }
  RETURN_IF_ERROR(CheckpointOrStop("record_apply"));
  attempt->step = AttemptStep::kApplied;
  attempt->apply = *response;
  Transition t;
  t.attempts.push_back(*attempt);
  t.run.head_sha = response->commit_sha();
  SetPhaseState(&t, pc.tier->tier_id(), phase_id, v1::PHASE_STATE_CHECKING, attempt->attempt, "");
  // Watchers see where drifted hunks landed; it is not an error.
  std::string applied = absl::StrCat("committed ", response->commit_sha().substr(0, 12));
  for (const v1::HunkPlacement& h : response->relocated_hunks()) {
    absl::StrAppend(&applied, "; ", h.path(), " hunk ", h.hunk(), " re-anchored ",
                    h.offset() > 0 ? "+" : "", h.offset(), " lines");
  }
  if (!t.events.empty() && t.events.back().has_phase_state()) {
    t.events.back().mutable_phase_state()->set_reason(applied);
  }
  RETURN_IF_ERROR(Commit(std::move(t)).status());
  return AttemptResult::kSucceeded;
}

absl::StatusOr<RunDriver::AttemptResult> RunDriver::Check(const PhaseContext& pc,
                                                          AttemptRecord* attempt,
                                                          PhaseEnd* end) {
  const std::string& phase_id = pc.phase->phase_id();
  if (attempt->step == AttemptStep::kApplied) {
    RETURN_IF_ERROR(CheckpointOrStop("run_checks"));
    absl::StatusOr<v1::RunChecksResponse> response =
        ctx_.peers->RunChecks({spec_.run_id(), phase_id}, ChecksRequest());
    if (!response.ok()) return PeerFailure(response.status(), "GitAdapter.RunChecks", end);
    if (const std::string refused = RefuseUnsandboxed(response->result()); !refused.empty()) {
      // GitAdapter changed its sandbox since the preflight. The commit was
      // never checked as the spec demands: it leaves the branch.
      v1::RollbackRequest rollback;
      rollback.set_workspace_id(workspace_id_);
      rollback.set_commit_sha(pc.head_before);
      absl::StatusOr<v1::RollbackResponse> rolled = ctx_.peers->Rollback({spec_.run_id(), phase_id}, rollback);
      if (!rolled.ok()) return PeerFailure(rolled.status(), "GitAdapter.Rollback", end);
      *end = PhaseEnd{v1::PHASE_STATE_FAILED, v1::RUN_STATE_DONE_FAILED_ENVIRONMENT, refused};
      return AttemptResult::kPhaseEnded;
    }
    RETURN_IF_ERROR(CheckpointOrStop("record_checks"));
    attempt->step = AttemptStep::kChecked;
    attempt->check = response->result();
    Transition t;
    t.attempts.push_back(*attempt);
    RETURN_IF_ERROR(Commit(std::move(t)).status());
  }
  if (attempt->check.has_value() && attempt->check->passed()) {
    attempt->step = AttemptStep::kSucceeded;
    Transition t;
    t.attempts.push_back(*attempt);
    PhaseStatusOf(phase_id).set_commit_sha(attempt->apply->commit_sha());
    PhaseStatusOf(phase_id).set_last_error("");
    SetPhaseState(&t, pc.tier->tier_id(), phase_id, v1::PHASE_STATE_COMPLETE, attempt->attempt,
                  "");
    RETURN_IF_ERROR(Commit(std::move(t)).status());
    return AttemptResult::kSucceeded;
  }
  // Checks failed: undo the commit, then retry with the failure output.
  RETURN_IF_ERROR(CheckpointOrStop("rollback"));
  v1::RollbackRequest rollback;
  rollback.set_workspace_id(workspace_id_);
  rollback.set_commit_sha(pc.head_before);
  absl::StatusOr<v1::RollbackResponse> rolled =
      ctx_.peers->Rollback({spec_.run_id(), phase_id}, rollback);
  if (!rolled.ok()) return PeerFailure(rolled.status(), "GitAdapter.Rollback", end);
  attempt->rolled_back_to = rolled->head_sha();
  v1::AttemptFeedback f;
  *f.mutable_check_result() = attempt->check.value_or(v1::CheckResult());
  const v1::CheckResult& check = f.check_result();
  std::string why = check.timed_out() ? "checks timed out"
                                      : absl::StrCat("checks failed (exit ", check.exit_code(), ")");
  if (check.tests_failed() > 0) absl::StrAppend(&why, ", ", check.tests_failed(), " tests failed");
  // The rollback and the attempt's end are recorded together.
  return FailAttempt(pc, attempt, f, why, rolled->head_sha());
}

absl::Status RunDriver::Pause(const std::string& tier_id, const std::string& phase_id,
                              const std::string& reason) {
  for (const std::string& id : ledger_->OpenReservations()) {
    RETURN_IF_ERROR(ledger_->Release(id));
  }
  Transition t;
  t.run.state = v1::RUN_STATE_PAUSED_BUDGET;
  const std::string why = absl::StrCat("paused at a budget cap: ", reason,
                                       " (raise it with RaiseBudget to resume)");
  t.run.state_reason = why;
  SetPhaseState(&t, tier_id, phase_id, v1::PHASE_STATE_BUDGET_EXHAUSTED,
                PhaseStatusOf(phase_id).attempts(), reason);
  t.events.push_back(RunStateEvent(record_.run.state(), v1::RUN_STATE_PAUSED_BUDGET, why));
  return Commit(std::move(t)).status();
}

absl::Status RunDriver::Finish(v1::RunState state, const std::string& reason,
                               const std::string& failing_phase,
                               v1::PhaseState failing_phase_state) {
  for (const std::string& id : ledger_->OpenReservations()) {
    RETURN_IF_ERROR(ledger_->Release(id));
  }
  Transition t;
  t.run.state = state;
  t.run.state_reason = reason;
  t.run.finished_at = absl::Now();
  const v1::TierState failed_tier_state =
      state == v1::RUN_STATE_CANCELLED ? v1::TIER_STATE_CANCELLED : v1::TIER_STATE_FAILED;
  for (v1::TierStatus& tier : *record_.run.mutable_tiers()) {
    const v1::TierState before = tier.state();
    if (before == v1::TIER_STATE_COMPLETE) continue;
    const v1::TierState after =
        before == v1::TIER_STATE_RUNNING ? failed_tier_state : v1::TIER_STATE_SKIPPED;
    v1::TierStatus change;
    change.set_tier_id(tier.tier_id());
    change.set_state(after);
    t.tiers.push_back(change);
    t.events.push_back(TierEvent(tier.tier_id(), before, after));
    tier.set_state(after);
    for (v1::PhaseStatus& phase : *tier.mutable_phases()) {
      if (phase.state() == v1::PHASE_STATE_COMPLETE) continue;
      if (phase.phase_id() == failing_phase) {
        SetPhaseState(&t, tier.tier_id(), phase.phase_id(), failing_phase_state, phase.attempts(),
                      reason);
      } else if (phase.attempts() > 0 && state == v1::RUN_STATE_CANCELLED) {
        SetPhaseState(&t, tier.tier_id(), phase.phase_id(), v1::PHASE_STATE_CANCELLED,
                      phase.attempts(), reason);
      } else {
        SetPhaseState(&t, tier.tier_id(), phase.phase_id(), v1::PHASE_STATE_SKIPPED,
                      phase.attempts(), "");
      }
    }
  }
  t.events.push_back(RunStateEvent(record_.run.state(), state, reason));
  return Commit(std::move(t)).status();
}

}  // namespace autopack::supervisor
