#include "services/supervisor/usage.h"

#include <algorithm>
#include <map>
#include <string>

namespace autopack::supervisor {
namespace {

void Add(const LedgerEntry& entry, v1::UsageLine* line) {
  switch (entry.state) {
    case LedgerState::kSettled: {
      v1::TokenUsage* u = line->mutable_usage();
      u->set_input_tokens(u->input_tokens() + entry.usage.input_tokens());
      u->set_cached_input_tokens(u->cached_input_tokens() + entry.usage.cached_input_tokens());
      u->set_output_tokens(u->output_tokens() + entry.usage.output_tokens());
      u->set_reasoning_tokens(u->reasoning_tokens() + entry.usage.reasoning_tokens());
      line->set_cost_micro_usd(line->cost_micro_usd() + entry.cost_micro_usd);
      line->set_calls(line->calls() + 1);
      break;
    }
    case LedgerState::kReserved:
      line->set_reserved_micro_usd(line->reserved_micro_usd() + entry.reserved_micro_usd);
      line->set_reserved_tokens(line->reserved_tokens() + entry.reserved_tokens);
      break;
    case LedgerState::kReleased:
      break;
  }
}

bool HasCap(const v1::Budget& b) { return b.max_tokens() > 0 || b.max_cost_micro_usd() > 0; }

}  // namespace

int64_t TotalTokens(const v1::TokenUsage& u) {
  return u.input_tokens() + u.cached_input_tokens() + u.output_tokens() + u.reasoning_tokens();
}

v1::UsageReport BuildUsageReport(const v1::RunSpec& spec,
                                 const std::vector<LedgerEntry>& entries) {
  v1::UsageReport report;
  report.set_run_id(spec.run_id());
  if (HasCap(spec.budget())) *report.mutable_total()->mutable_cap() = spec.budget();
  std::map<std::string, v1::UsageLine*> tiers;
  std::map<std::string, v1::UsageLine*> phases;
  for (const v1::TierSpec& tier : spec.tiers()) {
    v1::UsageLine* line = report.add_by_tier();
    line->set_key(tier.tier_id());
    if (HasCap(tier.budget())) *line->mutable_cap() = tier.budget();
    tiers[tier.tier_id()] = line;
    for (const v1::PhaseSpec& phase : tier.phases()) {
      v1::UsageLine* pline = report.add_by_phase();
      pline->set_key(phase.phase_id());
      if (HasCap(phase.budget())) *pline->mutable_cap() = phase.budget();
      phases[phase.phase_id()] = pline;
    }
  }
  std::map<std::string, v1::UsageLine> models;
  for (const LedgerEntry& entry : entries) {
    Add(entry, report.mutable_total());
    if (auto it = tiers.find(entry.tier_id); it != tiers.end()) Add(entry, it->second);
    if (auto it = phases.find(entry.phase_id); it != phases.end()) Add(entry, it->second);
    v1::UsageLine& model = models[entry.model];
    model.set_key(entry.model);
    Add(entry, &model);
  }
  std::vector<v1::UsageLine> by_model;
  for (auto& [name, line] : models) by_model.push_back(std::move(line));
  std::stable_sort(by_model.begin(), by_model.end(),
                   [](const v1::UsageLine& a, const v1::UsageLine& b) {
                     return a.cost_micro_usd() > b.cost_micro_usd();
                   });
  for (v1::UsageLine& line : by_model) *report.add_by_model() = std::move(line);
  return report;
}

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

}  // namespace autopack::supervisor
