// Drives one run through the loop of DESIGN.md §2, resuming wherever its
// durable state says it stopped. Every transition and ledger change is
// committed to the Store (fenced by the run's lease) before the next side
// effect, so a supervisor killed at any point and restarted never applies a
// phase twice, never counts a call twice and leaks no reservation:
//  - each LLM call is reserved (committed) before it is made, with the
//    reservation's key as the call's idempotency key; settling and recording
//    the answer happen in one commit;
//  - a reservation found open after a restart is a call that may have been
//    made: it is made again with the same key (the service answers from its
//    idempotency cache when it can) and settled once;
//  - patches are applied with an idempotency key (a commit trailer), so a
//    repeated ApplyPatch returns the existing commit.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_RUN_DRIVER_H_
#define AUTOPACK_SERVICES_SUPERVISOR_RUN_DRIVER_H_

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/supervisor/peers.h"
#include "services/supervisor/policy/budget_ledger.h"
#include "services/supervisor/policy/model_selector.h"
#include "services/supervisor/policy/policy_config.h"
#include "services/supervisor/store/store.h"

namespace autopack::supervisor {

struct DriverOptions {
  // Context handed to the models.
  int64_t max_context_file_bytes = 64 * 1024;
  int64_t max_context_total_bytes = 256 * 1024;
  // Used when the spec sets no check_timeout.
  absl::Duration default_check_timeout = absl::Minutes(10);
  // Author of the integration-branch commits.
  std::string author_name = "Autopack";
  std::string author_email = "autopack@localhost";
  // Called before every side effect ("open_workspace", "preflight_checks",
  // "generate_patch", "review_patch", "apply_patch", "run_checks",
  // "rollback") and between a
  // peer's answer and its commit ("record_build", "record_review",
  // "record_apply", "record_checks"); a non-OK status stops the driver there.
  // Crash tests kill the process from here.
  std::function<absl::Status(absl::string_view step)> before_side_effect;
  // A run whose peers have failed transiently (UNAVAILABLE, DEADLINE_EXCEEDED)
  // since `peer_failing_since` is ended DONE_FAILED_ENVIRONMENT once that has
  // lasted `max_peer_outage`, instead of being retried forever; zero waits
  // forever. The scheduler sets `peer_failing_since` from the run's earlier
  // drives.
  absl::Duration max_peer_outage = absl::Hours(1);
  absl::Time peer_failing_since = absl::InfiniteFuture();
};

// UNAVAILABLE or DEADLINE_EXCEEDED from a peer: the run is resumed later.
bool IsTransientPeerError(const absl::Status& status);

// Everything a driver needs that outlives it.
struct DriverContext {
  Store* store;
  const policy::PolicyConfig* policy;
  Peers* peers;
  DriverOptions options;
};

class RunDriver {
 public:
  // `lease` returns the run's current lease (renewed by the scheduler);
  // `stopping` is polled at safe points.
  RunDriver(DriverContext context, std::function<Lease()> lease,
            std::function<bool()> stopping);

  // OK when the run reached a final state (it may have been final already)
  // or paused at a token or cost cap (RUN_STATE_PAUSED_BUDGET).
  // ABORTED when the lease was lost, CANCELLED when `stopping` became true,
  // another error for a transient failure (the run is resumed later).
  absl::Status Drive();

 private:
  enum class AttemptResult { kSucceeded, kFailed, kPhaseEnded };
  struct PhaseEnd {
    v1::PhaseState phase_state = v1::PHASE_STATE_FAILED;
    v1::RunState run_state = v1::RUN_STATE_DONE_FAILED_POLICY_VIOLATION;
    std::string reason;
  };
  struct PhaseContext {
    const v1::TierSpec* tier;
    const v1::PhaseSpec* phase;
    policy::ResolvedCategory category;
    std::string head_before;  // where a failed attempt rolls back to
  };

  absl::Status Load();
  // Everything after Load: start, tiers in order, the final transition.
  absl::Status DriveTiers();
  absl::Status StartRun();
  // Runs the check command once on the base before any model is called; ends
  // the run DONE_FAILED_ENVIRONMENT when it cannot run or runs unsandboxed
  // against the spec.
  absl::Status Preflight();
  v1::RunChecksRequest ChecksRequest() const;
  // Why `result` may not be used (empty when it may): it ran without a
  // sandbox and the spec does not allow that.
  std::string RefuseUnsandboxed(const v1::CheckResult& result) const;
  absl::Status DriveTier(const v1::TierSpec& tier, bool* run_ended);
  // Runs attempts of a phase until it completes or ends the run (`end` set).
  absl::Status DrivePhase(const v1::TierSpec& tier, const v1::PhaseSpec& phase,
                          absl::optional<PhaseEnd>* end);
  absl::StatusOr<AttemptResult> Advance(const PhaseContext& pc,
                                        const std::vector<v1::AttemptFeedback>& feedback,
                                        AttemptRecord* attempt, PhaseEnd* end);
  absl::StatusOr<AttemptResult> Build(const PhaseContext& pc,
                                      const std::vector<v1::AttemptFeedback>& feedback,
                                      AttemptRecord* attempt, PhaseEnd* end);
  absl::StatusOr<AttemptResult> Review(const PhaseContext& pc, AttemptRecord* attempt,
                                       PhaseEnd* end);
  absl::StatusOr<AttemptResult> Apply(const PhaseContext& pc, AttemptRecord* attempt,
                                      PhaseEnd* end);
  absl::StatusOr<AttemptResult> Check(const PhaseContext& pc, AttemptRecord* attempt,
                                      PhaseEnd* end);
  // After `model`'s provider answered UNAVAILABLE (past the peer's retries):
  // records its fallback for `role` on the attempt, to make the same call
  // again; UNAVAILABLE (the run pauses) when no fallback provider is left.
  absl::StatusOr<AttemptResult> FallBack(const PhaseContext& pc, absl::string_view role,
                                         const std::string& model, const absl::Status& error,
                                         AttemptRecord* attempt);
  absl::StatusOr<AttemptResult> FailAttempt(const PhaseContext& pc, AttemptRecord* attempt,
                                            v1::AttemptFeedback feedback, absl::string_view why,
                                            absl::optional<std::string> head = absl::nullopt);
  // Ends the phase (and with it the run) when a peer call failed in a way no
  // retry of the attempt can fix; transient errors are returned instead.
  absl::StatusOr<AttemptResult> PeerFailure(const absl::Status& status, absl::string_view what,
                                            PhaseEnd* end);

  // Reserves (or finds the open reservation of) a call and commits it.
  absl::StatusOr<policy::Reservation> ReserveCall(const PhaseContext& pc, absl::string_view role,
                                                  const std::string& model,
                                                  int64_t input_bytes, int64_t output_tokens);
  absl::StatusOr<std::vector<v1::ContextFile>> ReadContext(const v1::PhaseSpec& phase);
  // An upper bound, in bytes (so also in tokens), of a prompt carrying the
  // phase, its context and `extra` bytes (feedback, the patch under review).
  static int64_t PromptBytes(const v1::PhaseSpec& phase,
                             const std::vector<v1::ContextFile>& context, int64_t extra);
  // RESOURCE_EXHAUSTED from the ledger ends the phase BUDGET_EXHAUSTED and
  // pauses the run (a token or cost cap, unless the spec says FAIL) or ends
  // it; other errors are returned.
  absl::StatusOr<AttemptResult> ReservationFailure(const absl::Status& status, PhaseEnd* end);

  // Commits `t` plus staged ledger entries and warning events.
  absl::StatusOr<CommitResult> Commit(Transition t);
  // Pauses the run at a cap: releases every reservation, marks the phase
  // BUDGET_EXHAUSTED and the run PAUSED_BUDGET; the tier stays RUNNING and the
  // phase's attempt stays open, so a resumed run goes on with that call.
  absl::Status Pause(const std::string& tier_id, const std::string& phase_id,
                     const std::string& reason);
  // Final transition of the run: phase/tier/run states, skipped rest,
  // released reservations.
  absl::Status Finish(v1::RunState state, const std::string& reason,
                      const std::string& failing_phase, v1::PhaseState failing_phase_state);
  // CANCELLED when the supervisor stops or the run was cancelled (cancelled_).
  absl::Status CheckpointOrStop(absl::string_view step);
  absl::Status RefreshCancel(bool* cancelled);

  v1::PhaseStatus& PhaseStatusOf(const std::string& phase_id);
  v1::RunEvent PhaseEvent(const std::string& tier_id, const std::string& phase_id,
                          v1::PhaseState to, int32_t attempt, const std::string& reason);
  void SetPhaseState(Transition* t, const std::string& tier_id, const std::string& phase_id,
                     v1::PhaseState to, int32_t attempt, const std::string& reason);
  std::string CallKey(absl::string_view reservation_id) const;
  v1::UsageEvent UsageEventFor(const std::string& phase_id, absl::string_view role,
                               const std::string& model, const v1::TokenUsage& usage,
                               int64_t cost) const;
  // After a peer call failed: settles the reservation to the usage the error
  // carries (billed_usage.h) and queues its usage event for the next commit,
  // or releases the reservation when the error carries none.
  absl::Status SettleFailedCall(const std::string& phase_id, absl::string_view role,
                                const policy::Reservation& reservation, const absl::Status& error);

  DriverContext ctx_;
  std::function<Lease()> lease_;
  std::function<bool()> stopping_;
  policy::ModelSelector selector_;

  RunRecord record_;
  v1::RunSpec spec_;
  std::string workspace_id_;
  std::string base_sha_;
  std::unique_ptr<policy::InMemoryLedgerJournal> journal_;
  std::unique_ptr<policy::BudgetLedger> ledger_;
  // Journal entries and warnings not yet committed to the store.
  size_t journal_committed_ = 0;
  std::vector<v1::BudgetWarning> pending_warnings_;
  std::vector<v1::UsageEvent> pending_usage_events_;
  // The context files of phase context_phase_.
  std::string context_phase_;
  std::vector<v1::ContextFile> context_;
  // Occurrences per fingerprint within the run.
  std::map<std::string, int32_t> issue_counts_;
  // Set when a checkpoint found CancelRun's flag; the phase it was in.
  bool cancelled_ = false;
  // Start of the run (as the ledger counts it), and the reason set when a
  // safe point found the run past its max_wall_time.
  absl::Time started_at_ = absl::InfinitePast();
  std::string wall_time_reason_;
  // Providers that answered UNAVAILABLE while this driver ran.
  std::set<std::string> unavailable_providers_;
  std::string current_phase_;
};

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_RUN_DRIVER_H_
