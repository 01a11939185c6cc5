// Per task-category policy and run safety profiles, from config/strategy.yaml
// (DESIGN.md §3). Validated at load: every error names file, line and key.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_POLICY_STRATEGY_H_
#define AUTOPACK_SERVICES_SUPERVISOR_POLICY_STRATEGY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "autopack/v1/common.pb.h"
#include "services/common/config.h"

namespace autopack::policy {

struct CategoryStrategy {
  std::string name;
  // High-risk categories always get models.yaml's high_risk_models.
  bool high_risk = false;
  int32_t max_attempts = 1;
  // A key of protected_paths: "normal" or "strict".
  std::string check_profile;
  // False: a completed phase needs a person before it counts as done.
  bool auto_apply = true;
  // Auditor profile handed to ReviewPatch (general, security_review, ...).
  std::string auditor_profile;
  // Default per-phase token cap when the phase spec sets none; 0 = no cap.
  int64_t phase_token_cap = 0;
  // Whether the budget ledger may move a call of this category to a cheaper
  // model when the worst case does not fit. Defaults to !high_risk.
  bool allow_model_step_down = true;
};

struct SafetyPolicy {
  std::string name;
  // Together with the category's flag: may a cheaper model take a call?
  bool allow_model_step_down = true;
  // The budget ledger never lowers a call's output limit below this.
  int64_t min_output_tokens = 1;
  bool high_risk_requires_human_review = false;
};

// The strategy of a phase's category, and whether the default was used.
struct ResolvedCategory {
  const CategoryStrategy* strategy = nullptr;
  bool defaulted = false;
  // "category 'docs'" or "category 'foo' is not in strategy.yaml; using the
  // default 'feature_scaffolding'".
  std::string rationale;
};

class Strategy {
 public:
  static absl::StatusOr<Strategy> FromConfig(const ConfigNode& root);
  static absl::StatusOr<Strategy> LoadFile(const std::string& path);

  bool Has(absl::string_view category) const;
  // Unknown or empty categories resolve to default_category.
  ResolvedCategory Resolve(absl::string_view category) const;
  const std::string& default_category() const { return default_category_; }
  std::vector<std::string> Categories() const;

  // SAFETY_PROFILE_UNSPECIFIED means normal.
  const SafetyPolicy& Safety(v1::SafetyProfile profile) const;
  // Both the category and the safety profile must allow it.
  bool AllowsStepDown(const CategoryStrategy& category, v1::SafetyProfile profile) const;
  // Globs no patch may touch under a check profile ("normal"/"strict").
  const std::vector<std::string>& ProtectedPaths(absl::string_view check_profile) const;

 private:
  std::string default_category_;
  std::map<std::string, CategoryStrategy> categories_;
  SafetyPolicy normal_;
  SafetyPolicy safety_critical_;
  std::map<std::string, std::vector<std::string>> protected_paths_;
};

}  // namespace autopack::policy

#endif  // AUTOPACK_SERVICES_SUPERVISOR_POLICY_STRATEGY_H_
