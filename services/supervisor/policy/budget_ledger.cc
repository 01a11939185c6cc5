#include "services/supervisor/policy/budget_ledger.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/billed_usage.h"
#include "services/common/status_macros.h"

namespace autopack::policy {
namespace {

constexpr int64_t kMicro = 1000000;
constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();
constexpr int kWarnPercents[] = {75, 90};

int64_t TotalTokens(const v1::TokenUsage& usage) {
  return usage.input_tokens() + usage.cached_input_tokens() + usage.cache_write_tokens() +
         usage.output_tokens() + usage.reasoning_tokens();
}

absl::Status CheckBudget(const v1::Budget& budget, const std::string& field) {
  if (budget.max_tokens() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".max_tokens must not be negative, got ", budget.max_tokens()));
  }
  if (budget.max_cost_micro_usd() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(field,
                                                   ".max_cost_micro_usd must not be negative, "
                                                   "got ",
                                                   budget.max_cost_micro_usd()));
  }
  return absl::OkStatus();
}

// Raises `overspent` by the part of a settlement above its reservation that
// does not fit under `cap` (see the invariant in the header).
void ChargeExcess(int64_t cap, int64_t old_total, int64_t new_total, int64_t& overspent) {
  if (cap <= 0 || new_total <= old_total) return;
  overspent += std::max<int64_t>(0, new_total - std::max(cap, old_total));
}

v1::UsageLine ToLine(const LevelTotals& totals, const std::string& key) {
  v1::UsageLine line;
  line.set_key(key);
  *line.mutable_usage() = totals.usage;
  line.set_cost_micro_usd(totals.settled_micro_usd);
  line.set_reserved_micro_usd(totals.reserved_micro_usd);
  line.set_reserved_tokens(totals.reserved_tokens);
  line.set_calls(totals.calls);
  if (totals.cap.max_tokens() > 0 || totals.cap.max_cost_micro_usd() > 0) {
    *line.mutable_cap() = totals.cap;
  }
  return line;
}

}  // namespace

absl::StatusOr<RunLimits> RunLimits::FromSpec(const v1::RunSpec& spec, const Strategy& strategy) {
  RunLimits limits;
  RETURN_IF_ERROR(CheckBudget(spec.budget(), "budget"));
  limits.run = spec.budget();
  if (spec.max_phases() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_phases must not be negative, got ", spec.max_phases()));
  }
  limits.max_phases = spec.max_phases();
  if (spec.max_wall_time().seconds() < 0 || spec.max_wall_time().nanos() < 0) {
    return absl::InvalidArgumentError("max_wall_time must not be negative");
  }
  limits.max_wall_time = absl::Seconds(spec.max_wall_time().seconds()) +
                         absl::Nanoseconds(spec.max_wall_time().nanos());
  std::set<std::string> tier_ids, phase_ids;
  for (int t = 0; t < spec.tiers_size(); ++t) {
    const v1::TierSpec& tier = spec.tiers(t);
    const std::string tier_field = absl::StrCat("tiers[", t, "]");
    if (!tier_ids.insert(tier.tier_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(tier_field, ".tier_id '", tier.tier_id(), "' is used twice"));
    }
    RETURN_IF_ERROR(CheckBudget(tier.budget(), absl::StrCat(tier_field, ".budget")));
    limits.tiers.push_back({tier.tier_id(), tier.budget()});
    for (int p = 0; p < tier.phases_size(); ++p) {
      const v1::PhaseSpec& phase = tier.phases(p);
      const std::string phase_field = absl::StrCat(tier_field, ".phases[", p, "]");
      if (!phase_ids.insert(phase.phase_id()).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(phase_field, ".phase_id '", phase.phase_id(), "' is used twice"));
      }
      RETURN_IF_ERROR(CheckBudget(phase.budget(), absl::StrCat(phase_field, ".budget")));
      v1::Budget cap = phase.budget();
      if (cap.max_tokens() == 0) {
        cap.set_max_tokens(strategy.Resolve(phase.task_category()).strategy->phase_token_cap);
      }
      limits.phases.push_back({phase.phase_id(), cap});
    }
  }
  return limits;
}

BudgetLedger::BudgetLedger(const PolicyConfig& config, Options options)
    : config_(config), options_(std::move(options)) {
  absl::MutexLock lock(&mu_);
  const auto add = [this](const std::string& scope, const v1::Budget& cap) {
    Level& level = levels_[scope];
    level.totals.scope = scope;
    level.totals.cap = cap;
  };
  add("run", options_.limits.run);
  for (const ScopeLimit& tier : options_.limits.tiers) add("tier:" + tier.id, tier.cap);
  for (const ScopeLimit& phase : options_.limits.phases) add("phase:" + phase.id, phase.cap);
}

absl::StatusOr<std::unique_ptr<BudgetLedger>> BudgetLedger::Restore(
    const PolicyConfig& config, Options options, const std::vector<LedgerEntry>& entries) {
  auto ledger = std::make_unique<BudgetLedger>(config, std::move(options));
  absl::MutexLock lock(&ledger->mu_);
  for (const LedgerEntry& entry : entries) {
    if (entry.run_id != ledger->options_.run_id || entry.sequence != ledger->next_sequence_) {
      return absl::DataLossError(absl::StrCat(
          "ledger of run '", ledger->options_.run_id, "': expected entry ",
          ledger->next_sequence_, ", found entry ", entry.sequence, " of run '", entry.run_id,
          "'"));
    }
    absl::StatusOr<Settlement> applied = ledger->Apply(entry, /*replaying=*/true);
    if (!applied.ok()) return applied.status();
    ++ledger->next_sequence_;
  }
  return ledger;
}

absl::StatusOr<BudgetLedger::Path> BudgetLedger::PathFor(absl::string_view tier_id,
                                                         absl::string_view phase_id) {
  Path path;
  const std::string names[3] = {"run", absl::StrCat("tier:", tier_id),
                                absl::StrCat("phase:", phase_id)};
  for (int i = 0; i < 3; ++i) {
    auto it = levels_.find(names[i]);
    if (it == levels_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          i == 1 ? "tier '" : "phase '", i == 1 ? tier_id : phase_id, "' is not part of run '",
          options_.run_id, "'"));
    }
    path.levels[i] = &it->second;
  }
  return path;
}

int64_t BudgetLedger::MaxOutputThatFits(const Path& path, const ModelPrice& price,
                                        int64_t input) const {
  int64_t best = kUnlimited;
  for (const Level* level : path.levels) {
    const LevelTotals& t = level->totals;
    if (t.overspent_tokens > 0 || t.overspent_micro_usd > 0) return -1;
    if (t.cap.max_tokens() > 0) {
      best = std::min(best, t.cap.max_tokens() - t.settled_tokens - t.reserved_tokens - input);
    }
    if (t.cap.max_cost_micro_usd() > 0) {
      // cost = ceil((input * in + out * outp) / 1e6) <= room
      //   <=> out <= (room * 1e6 - input * in) / outp
      const int64_t room = t.cap.max_cost_micro_usd() - t.settled_micro_usd - t.reserved_micro_usd;
      const __int128 budget = static_cast<__int128>(room) * kMicro -
                              static_cast<__int128>(input) * price.WorstInputPrice();
      if (budget < 0) return -1;
      if (price.output_micro_usd_per_1m > 0) {
        const __int128 out = budget / price.output_micro_usd_per_1m;
        best = std::min<int64_t>(best, out > kUnlimited ? kUnlimited : static_cast<int64_t>(out));
      }
    }
  }
  return best < 0 ? -1 : best;
}

std::string BudgetLedger::DescribeShortfall(const CallRequest& call, const Path& path,
                                            int64_t floor,
                                            const std::string& step_down_note) const {
  std::vector<std::string> reasons;
  absl::StatusOr<int64_t> floor_cost =
      config_.prices.WorstCaseCost(call.model, call.estimated_input_tokens, floor);
  const int64_t floor_tokens = call.estimated_input_tokens + floor;
  for (const Level* level : path.levels) {
    const LevelTotals& t = level->totals;
    const int64_t used_tokens = t.settled_tokens + t.reserved_tokens;
    const int64_t used_cost = t.settled_micro_usd + t.reserved_micro_usd;
    if (t.overspent_tokens > 0 || t.overspent_micro_usd > 0) {
      reasons.push_back(absl::StrCat(t.scope, " is over its cap (overspent ", t.overspent_tokens,
                                     " tokens, ", t.overspent_micro_usd,
                                     " micro-USD billed above reservations)"));
      continue;
    }
    if (t.cap.max_tokens() > 0 && used_tokens + floor_tokens > t.cap.max_tokens()) {
      reasons.push_back(absl::StrCat(t.scope, " token cap ", t.cap.max_tokens(), ": settled ",
                                     t.settled_tokens, " + reserved ", t.reserved_tokens,
                                     " leaves ", t.cap.max_tokens() - used_tokens));
    }
    if (floor_cost.ok() && t.cap.max_cost_micro_usd() > 0 &&
        used_cost + *floor_cost > t.cap.max_cost_micro_usd()) {
      reasons.push_back(absl::StrCat(t.scope, " cost cap ", t.cap.max_cost_micro_usd(),
                                     " micro-USD: settled ", t.settled_micro_usd, " + reserved ",
                                     t.reserved_micro_usd, " leaves ",
                                     t.cap.max_cost_micro_usd() - used_cost));
    }
  }
  return absl::StrCat(
      "run '", options_.run_id, "' phase '", call.phase_id, "' ", call.role, " call on ",
      call.model, ": the smallest allowed call (", call.estimated_input_tokens, " input + ",
      floor, " output tokens = ", floor_tokens, " tokens, ",
      floor_cost.ok() ? absl::StrCat(*floor_cost) : std::string("?"),
      " micro-USD) does not fit: ", absl::StrJoin(reasons, "; "), "; ", step_down_note);
}

absl::StatusOr<Reservation> BudgetLedger::Grant(const CallRequest& call, const Path& path) {
  const ResolvedCategory category = config_.strategy.Resolve(call.category);
  const SafetyPolicy& safety = config_.strategy.Safety(options_.safety_profile);
  const int64_t floor = std::min(call.requested_output_tokens, safety.min_output_tokens);

  std::vector<std::string> candidates = {call.model};
  std::string step_down_note;
  if (config_.strategy.AllowsStepDown(*category.strategy, options_.safety_profile)) {
    const std::vector<std::string> cheaper = config_.models.CheaperModels(call.model);
    candidates.insert(candidates.end(), cheaper.begin(), cheaper.end());
    step_down_note = cheaper.empty()
                         ? "no cheaper model on the escalation ladder"
                         : absl::StrCat("no cheaper model fits either (tried ",
                                        absl::StrJoin(cheaper, ", "), ")");
  } else {
    step_down_note = absl::StrCat(
        "a cheaper model is not allowed (",
        category.strategy->allow_model_step_down
            ? absl::StrCat("safety profile ", safety.name)
            : absl::StrCat("category '", category.strategy->name, "'"),
        ")");
  }

  for (const std::string& model : candidates) {
    ASSIGN_OR_RETURN(ModelPrice price, config_.prices.Price(model));
    // A step-down model may accept fewer output tokens than the call asked for.
    const int64_t requested = config_.prices.ClampOutput(model, call.requested_output_tokens);
    const int64_t fits = MaxOutputThatFits(path, price, call.estimated_input_tokens);
    if (fits < std::min(floor, requested)) continue;
    Reservation reservation;
    reservation.model = model;
    reservation.output_limit = std::min(fits, requested);
    reservation.worst_case_tokens = call.estimated_input_tokens + reservation.output_limit;
    ASSIGN_OR_RETURN(reservation.worst_case_micro_usd,
                     config_.prices.WorstCaseCost(model, call.estimated_input_tokens,
                                                  reservation.output_limit));
    if (model != call.model) {
      reservation.adjustment = absl::StrCat(
          "stepped down from ", call.model, " to ", model, " (", category.rationale,
          " allows it) because the worst case on ", call.model, " does not fit the budget");
    }
    if (requested < call.requested_output_tokens) {
      absl::StrAppend(&reservation.adjustment, reservation.adjustment.empty() ? "" : "; ",
                      "output limit lowered from ", call.requested_output_tokens, " to ",
                      requested, ", the most ", model, " accepts");
    }
    if (reservation.output_limit < requested) {
      absl::StrAppend(&reservation.adjustment, reservation.adjustment.empty() ? "" : "; ",
                      "output limit lowered from ", requested, " to ",
                      reservation.output_limit, " tokens to fit the budget (floor ", floor, ")");
    }
    return reservation;
  }
  absl::Status shortfall =
      absl::ResourceExhaustedError(DescribeShortfall(call, path, floor, step_down_note));
  shortfall.SetPayload(kCapShortfallPayload, absl::Cord("cap"));
  return shortfall;
}

bool IsCapShortfall(const absl::Status& status) {
  return absl::IsResourceExhausted(status) && status.GetPayload(kCapShortfallPayload).has_value();
}

absl::Status BudgetLedger::Append(LedgerEntry& entry) {
  entry.run_id = options_.run_id;
  entry.sequence = next_sequence_;
  entry.time = options_.clock();
  if (options_.journal != nullptr) RETURN_IF_ERROR(options_.journal->Append(entry));
  ++next_sequence_;
  return absl::OkStatus();
}

absl::StatusOr<Reservation> BudgetLedger::Reserve(const CallRequest& call) {
  if (call.estimated_input_tokens < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "estimated_input_tokens must not be negative, got ", call.estimated_input_tokens));
  }
  if (call.requested_output_tokens <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "requested_output_tokens must be positive, got ", call.requested_output_tokens));
  }
  if (call.role.empty()) return absl::InvalidArgumentError("role must be set");
  RETURN_IF_ERROR(config_.prices.Price(call.model).status());
  absl::StatusOr<Reservation> granted;
  {
    absl::MutexLock lock(&mu_);
    if (options_.limits.max_wall_time > absl::ZeroDuration()) {
      const absl::Duration elapsed = options_.clock() - options_.started_at;
      if (elapsed > options_.limits.max_wall_time) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "run '", options_.run_id, "' has run ", absl::FormatDuration(elapsed),
            ", past its max wall time of ", absl::FormatDuration(options_.limits.max_wall_time)));
      }
    }
    if (options_.limits.max_phases > 0 && phases_started_.count(call.phase_id) == 0 &&
        static_cast<int64_t>(phases_started_.size()) >= options_.limits.max_phases) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "run '", options_.run_id, "' has started ", phases_started_.size(),
          " phases, its max_phases; phase '", call.phase_id, "' cannot start"));
    }
    ASSIGN_OR_RETURN(Path path, PathFor(call.tier_id, call.phase_id));
    granted = Grant(call, path);
    if (!granted.ok()) return granted.status();
    LedgerEntry entry;
    entry.kind = LedgerEntryKind::kReserve;
    entry.reservation_id = absl::StrCat("rsv-", next_sequence_);
    entry.tier_id = call.tier_id;
    entry.phase_id = call.phase_id;
    entry.role = call.role;
    entry.model = granted->model;
    entry.tokens = granted->worst_case_tokens;
    entry.cost_micro_usd = granted->worst_case_micro_usd;
    entry.output_limit = granted->output_limit;
    RETURN_IF_ERROR(Append(entry));
    RETURN_IF_ERROR(Apply(entry, /*replaying=*/false).status());
    granted->id = entry.reservation_id;
  }
  Emit();
  return granted;
}

absl::StatusOr<LedgerEntry> BudgetLedger::ClosingEntry(absl::string_view reservation_id,
                                                       LedgerEntryKind kind) const {
  auto it = open_.find(std::string(reservation_id));
  if (it == open_.end()) {
    return closed_.count(std::string(reservation_id))
               ? absl::FailedPreconditionError(absl::StrCat(
                     "reservation '", reservation_id, "' is already settled or released"))
               : absl::NotFoundError(absl::StrCat("no reservation '", reservation_id,
                                                  "' in run '", options_.run_id, "'"));
  }
  LedgerEntry entry;
  entry.kind = kind;
  entry.reservation_id = std::string(reservation_id);
  entry.tier_id = it->second.tier_id;
  entry.phase_id = it->second.phase_id;
  entry.role = it->second.role;
  entry.model = it->second.model;
  return entry;
}

absl::StatusOr<Settlement> BudgetLedger::Settle(absl::string_view reservation_id,
                                                absl::string_view model,
                                                const v1::TokenUsage& usage) {
  absl::StatusOr<Settlement> settled;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(LedgerEntry entry, ClosingEntry(reservation_id, LedgerEntryKind::kSettle));
    if (!model.empty()) entry.model = std::string(model);
    entry.usage = usage;
    ASSIGN_OR_RETURN(entry.cost_micro_usd, config_.prices.Cost(entry.model, usage));
    entry.tokens = TotalTokens(usage);
    if (usage.unreported_answers() > 0) {
      // The provider billed an answer it gave no usage for: what it cost is
      // unknown, so the call is charged its whole reservation, never $0.
      const LedgerEntry& reserved = open_.at(std::string(reservation_id));
      entry.cost_micro_usd = std::max(entry.cost_micro_usd, reserved.cost_micro_usd);
      entry.tokens = std::max(entry.tokens, reserved.tokens);
    }
    RETURN_IF_ERROR(Append(entry));
    settled = Apply(entry, /*replaying=*/false);
  }
  Emit();
  return settled;
}

absl::Status BudgetLedger::Release(absl::string_view reservation_id) {
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(LedgerEntry entry, ClosingEntry(reservation_id, LedgerEntryKind::kRelease));
    RETURN_IF_ERROR(Append(entry));
    RETURN_IF_ERROR(Apply(entry, /*replaying=*/false).status());
  }
  Emit();
  return absl::OkStatus();
}

absl::StatusOr<Settlement> BudgetLedger::Apply(const LedgerEntry& entry, bool replaying) {
  const auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("ledger of run '", options_.run_id, "' entry ",
                                            entry.sequence, ": ", why));
  };
  ASSIGN_OR_RETURN(Path path, PathFor(entry.tier_id, entry.phase_id));
  Settlement settlement;
  LevelTotals& model_totals = by_model_[entry.model];
  model_totals.scope = entry.model;
  switch (entry.kind) {
    case LedgerEntryKind::kReserve: {
      if (open_.count(entry.reservation_id) || closed_.count(entry.reservation_id)) {
        return corrupt(absl::StrCat("reservation '", entry.reservation_id, "' reused"));
      }
      if (entry.tokens < 0 || entry.cost_micro_usd < 0) return corrupt("negative reservation");
      open_[entry.reservation_id] = entry;
      phases_started_.insert(entry.phase_id);
      for (Level* level : path.levels) {
        level->totals.reserved_tokens += entry.tokens;
        level->totals.reserved_micro_usd += entry.cost_micro_usd;
      }
      model_totals.reserved_tokens += entry.tokens;
      model_totals.reserved_micro_usd += entry.cost_micro_usd;
      break;
    }
    case LedgerEntryKind::kSettle:
    case LedgerEntryKind::kRelease: {
      auto it = open_.find(entry.reservation_id);
      if (it == open_.end()) {
        return corrupt(absl::StrCat("reservation '", entry.reservation_id, "' is not open"));
      }
      const LedgerEntry reserve = it->second;
      open_.erase(it);
      closed_.insert(entry.reservation_id);
      const bool settle = entry.kind == LedgerEntryKind::kSettle;
      const int64_t tokens = settle ? entry.tokens : 0;
      const int64_t cost = settle ? entry.cost_micro_usd : 0;
      settlement.tokens = tokens;
      settlement.cost_micro_usd = cost;
      settlement.above_reservation = tokens > reserve.tokens || cost > reserve.cost_micro_usd;
      for (Level* level : path.levels) {
        LevelTotals& t = level->totals;
        const int64_t old_tokens = t.settled_tokens + t.reserved_tokens;
        const int64_t old_cost = t.settled_micro_usd + t.reserved_micro_usd;
        t.reserved_tokens -= reserve.tokens;
        t.reserved_micro_usd -= reserve.cost_micro_usd;
        t.settled_tokens += tokens;
        t.settled_micro_usd += cost;
        const int64_t overspent_before = t.overspent_tokens + t.overspent_micro_usd;
        ChargeExcess(t.cap.max_tokens(), old_tokens, t.settled_tokens + t.reserved_tokens,
                     t.overspent_tokens);
        ChargeExcess(t.cap.max_cost_micro_usd(), old_cost,
                     t.settled_micro_usd + t.reserved_micro_usd, t.overspent_micro_usd);
        if (t.overspent_tokens + t.overspent_micro_usd > overspent_before) {
          settlement.overspent = true;
        }
        if (settle) {
          ++t.calls;
          AddTokenUsage(entry.usage, &t.usage);
        }
      }
      LevelTotals& reserved_model = by_model_[reserve.model];
      reserved_model.reserved_tokens -= reserve.tokens;
      reserved_model.reserved_micro_usd -= reserve.cost_micro_usd;
      if (settle) {
        model_totals.settled_tokens += tokens;
        model_totals.settled_micro_usd += cost;
        ++model_totals.calls;
        AddTokenUsage(entry.usage, &model_totals.usage);
      }
      break;
    }
    default:
      return corrupt(absl::StrCat("unknown kind ", static_cast<int>(entry.kind)));
  }
  for (Level* level : path.levels) {
    if (!CheckLevel(*level).ok()) ++invariant_violations_;
    CollectWarnings(*level, /*emit=*/!replaying);
  }
  return settlement;
}

void BudgetLedger::CollectWarnings(Level& level, bool emit) {
  const LevelTotals& t = level.totals;
  struct Dimension {
    const char* name;
    int64_t used;
    int64_t cap;
    int* warned;
  };
  for (const Dimension& d :
       {Dimension{"tokens", t.settled_tokens + t.reserved_tokens, t.cap.max_tokens(),
                  &level.warned_tokens_percent},
        Dimension{"cost", t.settled_micro_usd + t.reserved_micro_usd, t.cap.max_cost_micro_usd(),
                  &level.warned_cost_percent}}) {
    if (d.cap <= 0) continue;
    for (int percent : kWarnPercents) {
      if (*d.warned >= percent ||
          static_cast<__int128>(d.used) * 100 < static_cast<__int128>(d.cap) * percent) {
        continue;
      }
      *d.warned = percent;
      if (!emit) continue;
      v1::BudgetWarning warning;
      warning.set_scope(t.scope);
      warning.set_dimension(d.name);
      warning.set_percent(percent);
      warning.set_used(d.used);
      warning.set_cap(d.cap);
      pending_warnings_.push_back(std::move(warning));
    }
  }
}

void BudgetLedger::Emit() {
  absl::MutexLock emit_lock(&emit_mu_);
  std::vector<v1::BudgetWarning> warnings;
  {
    absl::MutexLock lock(&mu_);
    warnings.swap(pending_warnings_);
  }
  if (!options_.on_warning) return;
  for (const v1::BudgetWarning& warning : warnings) options_.on_warning(warning);
}

absl::Status BudgetLedger::CheckLevel(const Level& level) const {
  const LevelTotals& t = level.totals;
  if (t.reserved_tokens < 0 || t.reserved_micro_usd < 0) {
    return absl::InternalError(absl::StrCat(t.scope, ": negative reservation total"));
  }
  if (t.cap.max_tokens() > 0 &&
      t.settled_tokens + t.reserved_tokens > t.cap.max_tokens() + t.overspent_tokens) {
    return absl::InternalError(absl::StrCat(
        t.scope, ": settled ", t.settled_tokens, " + reserved ", t.reserved_tokens,
        " tokens exceed the cap ", t.cap.max_tokens(), " + overspent ", t.overspent_tokens));
  }
  if (t.cap.max_cost_micro_usd() > 0 &&
      t.settled_micro_usd + t.reserved_micro_usd > t.cap.max_cost_micro_usd() +
                                                       t.overspent_micro_usd) {
    return absl::InternalError(absl::StrCat(
        t.scope, ": settled ", t.settled_micro_usd, " + reserved ", t.reserved_micro_usd,
        " micro-USD exceed the cap ", t.cap.max_cost_micro_usd(), " + overspent ",
        t.overspent_micro_usd));
  }
  return absl::OkStatus();
}

absl::Status BudgetLedger::CheckInvariant() const {
  absl::MutexLock lock(&mu_);
  for (const auto& [scope, level] : levels_) RETURN_IF_ERROR(CheckLevel(level));
  return absl::OkStatus();
}

int64_t BudgetLedger::invariant_violations() const {
  absl::MutexLock lock(&mu_);
  return invariant_violations_;
}

std::vector<std::string> BudgetLedger::OpenReservations() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& entry : open_) out.push_back(entry.first);
  return out;
}

absl::StatusOr<LevelTotals> BudgetLedger::Totals(absl::string_view scope) const {
  absl::MutexLock lock(&mu_);
  auto it = levels_.find(std::string(scope));
  if (it == levels_.end()) {
    return absl::NotFoundError(absl::StrCat("no budget scope '", scope, "' in run '",
                                            options_.run_id, "'"));
  }
  return it->second.totals;
}

v1::UsageReport BudgetLedger::Report() const {
  absl::MutexLock lock(&mu_);
  v1::UsageReport report;
  report.set_run_id(options_.run_id);
  *report.mutable_total() = ToLine(levels_.at("run").totals, "");
  for (const ScopeLimit& tier : options_.limits.tiers) {
    *report.add_by_tier() = ToLine(levels_.at("tier:" + tier.id).totals, tier.id);
  }
  for (const ScopeLimit& phase : options_.limits.phases) {
    *report.add_by_phase() = ToLine(levels_.at("phase:" + phase.id).totals, phase.id);
  }
  std::vector<const LevelTotals*> models;
  for (const auto& entry : by_model_) models.push_back(&entry.second);
  std::stable_sort(models.begin(), models.end(), [](const LevelTotals* a, const LevelTotals* b) {
    return a->settled_micro_usd > b->settled_micro_usd;
  });
  for (const LevelTotals* model : models) *report.add_by_model() = ToLine(*model, model->scope);
  return report;
}

}  // namespace autopack::policy
