// Usage of a run derived from its ledger entries (the single source of truth
// for tokens and cost): totals per run, tier, phase and model, with what is
// still reserved by calls in flight.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_USAGE_H_
#define AUTOPACK_SERVICES_SUPERVISOR_USAGE_H_

#include <vector>

#include "autopack/v1/supervisor.pb.h"
#include "services/supervisor/store/store.h"

namespace autopack::supervisor {

// Tiers and phases appear in spec order (also those without usage), models by
// cost descending. Caps are copied from the spec where set.
v1::UsageReport BuildUsageReport(const v1::RunSpec& spec, const std::vector<LedgerEntry>& entries);

// Fills the usage lines of `run` (run total, each tier, each phase) from `report`.
void AttachUsage(const v1::UsageReport& report, v1::Run* run);

// input + cached input + output + reasoning.
int64_t TotalTokens(const v1::TokenUsage& usage);

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_USAGE_H_
