// Which model does what, from config/models.yaml (DESIGN.md §3). Parsing
// cross-checks every model against the catalog in pricing.yaml (and its
// provider against providers.yaml when given) and every category against
// strategy.yaml, so a bad name fails at load with file, line and key rather
// than mid-run. Every model that may review a patch (auditor roles and their
// fallbacks) must support structured output.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_POLICY_MODELS_CONFIG_H_
#define AUTOPACK_SERVICES_SUPERVISOR_POLICY_MODELS_CONFIG_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "autopack/v1/common.pb.h"
#include "services/common/config.h"
#include "services/common/pricing.h"
#include "services/supervisor/policy/strategy.h"

namespace autopack::policy {

struct RoleModels {
  std::string builder;
  std::string auditor;
};

// Sizes of one LLM call, used for reservations and PreviewRun.
struct CallLimits {
  // Prompt size assumed before the prompt exists (PreviewRun).
  int64_t estimated_input_tokens = 0;
  // Output-token limit asked for (reasoning tokens included); every call
  // gets at most its model's max_output_tokens (policy::OutputLimit).
  int64_t max_output_tokens = 0;
};

// "openai/gpt-4o" -> "openai".
std::string ProviderOf(absl::string_view model);

class ModelsConfig {
 public:
  // `providers` are the provider names of providers.yaml; nullptr skips that check.
  static absl::StatusOr<ModelsConfig> FromConfig(const ConfigNode& root, const PriceTable& prices,
                                                 const Strategy& strategy,
                                                 const std::set<std::string>* providers);

  const RoleModels& ForComplexity(v1::Complexity complexity) const;  // must be LOW..HIGH
  // Per-category override (either role may be empty = no override), or nullptr.
  const RoleModels* OverrideFor(absl::string_view category) const;
  const RoleModels& high_risk_models() const { return high_risk_; }
  int32_t escalate_after_failed_attempts() const { return escalate_after_; }
  // Cheapest first, strictly increasing in price.
  const std::vector<std::string>& ladder() const { return ladder_; }
  // Models to try, in order, when `model`'s provider is unavailable.
  const std::vector<std::string>& FallbacksFor(absl::string_view model) const;
  const CallLimits& builder_call() const { return builder_call_; }
  const CallLimits& auditor_call() const { return auditor_call_; }

  // Ladder models strictly cheaper than `model` (by reference price), most
  // expensive first: the candidates for a budget step-down.
  std::vector<std::string> CheaperModels(absl::string_view model) const;
  // Price of 1M input + 1M output tokens: one number that orders models.
  int64_t ReferencePrice(absl::string_view model) const;

 private:
  std::map<v1::Complexity, RoleModels> complexity_;
  std::map<std::string, RoleModels> overrides_;
  RoleModels high_risk_;
  int32_t escalate_after_ = 1;
  std::vector<std::string> ladder_;
  std::map<std::string, std::vector<std::string>> fallbacks_;
  std::map<std::string, int64_t> reference_price_;
  CallLimits builder_call_;
  CallLimits auditor_call_;
};

}  // namespace autopack::policy

#endif  // AUTOPACK_SERVICES_SUPERVISOR_POLICY_MODELS_CONFIG_H_
