#include "services/supervisor/run_spec.h"

#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/text.h"
#include "services/common/url.h"

namespace autopack::supervisor {
namespace {

constexpr size_t kMaxReported = 10;

class Problems {
 public:
  void Add(const std::string& path, absl::string_view what) {
    all_.push_back(absl::StrCat(path, ": ", what));
  }
  absl::Status ToStatus() const {
    if (all_.empty()) return absl::OkStatus();
    std::vector<std::string> shown(all_.begin(),
                                   all_.begin() + std::min(all_.size(), kMaxReported));
    std::string message = absl::StrCat("invalid run spec: ", absl::StrJoin(shown, "; "));
    if (all_.size() > kMaxReported) {
      absl::StrAppend(&message, "; and ", all_.size() - kMaxReported, " more");
    }
    return absl::InvalidArgumentError(message);
  }

 private:
  std::vector<std::string> all_;
};

void CheckBudget(const v1::Budget& budget, const std::string& path, Problems* problems) {
  if (budget.max_tokens() < 0) problems->Add(path + ".max_tokens", "must not be negative");
  if (budget.max_cost_micro_usd() < 0) {
    problems->Add(path + ".max_cost_micro_usd", "must not be negative");
  }
}

void CheckDuration(const google::protobuf::Duration& d, absl::Duration max, const std::string& path,
                   Problems* problems) {
  if (d.seconds() < 0 || d.nanos() < 0) {
    problems->Add(path, "must not be negative");
  } else if (d.nanos() >= 1000000000) {
    problems->Add(path, "nanos must be below 1,000,000,000");
  } else if (absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos()) > max) {
    problems->Add(path, absl::StrCat("must be at most ", absl::FormatDuration(max), " (this server's limit)"));
  }
}

// A caller-sized string: at most `max` bytes, no control characters.
void CheckText(absl::string_view text, size_t max, const std::string& path, Problems* problems,
               bool allow_newlines = false) {
  if (text.size() > max) {
    problems->Add(path, absl::StrCat("is ", text.size(), " bytes; at most ", max, " are allowed"));
  } else if (HasControlCharacters(text) ||
             (!allow_newlines && text.find_first_of("\r\n") != absl::string_view::npos)) {
    problems->Add(path, allow_newlines ? "must not contain NUL or other control characters"
                                       : "must not contain control characters or line breaks");
  }
}

void CheckCount(int count, int max, const std::string& path, Problems* problems) {
  if (count > max) problems->Add(path, absl::StrCat("has ", count, " entries; at most ", max, " are allowed"));
}

void CheckId(absl::string_view id, const std::string& path, Problems* problems) {
  if (id.empty()) {
    problems->Add(path, "must be set");
  } else if (!IsValidId(id)) {
    problems->Add(path, absl::StrCat("\"", ClipForMessage(id, 64),
                                     "\" must be 1-64 characters of [A-Za-z0-9._-], not "
                                     "starting with '.' or '-'"));
  }
}

void CheckPathGlobs(const google::protobuf::RepeatedPtrField<std::string>& globs,
                    const RunSpecLimits& limits, const std::string& path, Problems* problems) {
  CheckCount(globs.size(), limits.max_list_entries, path, problems);
  for (int i = 0; i < globs.size() && i < limits.max_list_entries; ++i) {
    const std::string& glob = globs[i];
    const std::string item = absl::StrCat(path, "[", i, "]");
    if (glob.size() > limits.max_entry_bytes || HasControlCharacters(glob)) {
      CheckText(glob, limits.max_entry_bytes, item, problems);
    } else if (glob.empty()) {
      problems->Add(item, "must not be empty");
    } else if (glob[0] == '/') {
      problems->Add(item, "must be relative to the repository root");
    } else if (glob == ".." || absl::StartsWith(glob, "../") ||
               absl::StrContains(glob, "/../") || absl::EndsWith(glob, "/..")) {
      problems->Add(item, "must not contain '..'");
    }
  }
}

void CheckPhase(const v1::PhaseSpec& phase, const RunSpecLimits& limits, const std::string& path,
                std::set<std::string>* phase_ids, Problems* problems) {
  CheckId(phase.phase_id(), path + ".phase_id", problems);
  if (!phase.phase_id().empty() && !phase_ids->insert(phase.phase_id()).second) {
    problems->Add(path + ".phase_id",
                  absl::StrCat("\"", phase.phase_id(), "\" is used by another phase"));
  }
  if (absl::StripAsciiWhitespace(phase.name()).empty()) problems->Add(path + ".name", "must be set");
  CheckText(phase.name(), limits.max_name_bytes, path + ".name", problems);
  if (absl::StripAsciiWhitespace(phase.description()).empty()) {
    problems->Add(path + ".description", "must say what to build");
  }
  CheckText(phase.description(), limits.max_description_bytes, path + ".description", problems,
            /*allow_newlines=*/true);
  CheckText(phase.task_category(), 64, path + ".task_category", problems);
  if (phase.complexity() == v1::COMPLEXITY_UNSPECIFIED) {
    problems->Add(path + ".complexity",
                  "must be set (COMPLEXITY_LOW, COMPLEXITY_MEDIUM or COMPLEXITY_HIGH)");
  } else if (!v1::Complexity_IsValid(phase.complexity())) {
    problems->Add(path + ".complexity", absl::StrCat(static_cast<int>(phase.complexity()),
                                                     " is not a Complexity value"));
  }
  if (phase.max_attempts() < 0) {
    problems->Add(path + ".max_attempts", "must not be negative");
  } else if (phase.max_attempts() > limits.max_attempts) {
    problems->Add(path + ".max_attempts", absl::StrCat("must be at most ", limits.max_attempts));
  }
  CheckBudget(phase.budget(), path + ".budget", problems);
  CheckCount(phase.acceptance_criteria_size(), limits.max_list_entries, path + ".acceptance_criteria",
             problems);
  for (int i = 0; i < phase.acceptance_criteria_size() && i < limits.max_list_entries; ++i) {
    CheckText(phase.acceptance_criteria(i), limits.max_entry_bytes,
              absl::StrCat(path, ".acceptance_criteria[", i, "]"), problems, /*allow_newlines=*/true);
  }
  CheckPathGlobs(phase.allowed_paths(), limits, path + ".allowed_paths", problems);
  CheckPathGlobs(phase.context_paths(), limits, path + ".context_paths", problems);
}

}  // namespace

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 64 || id[0] == '.' || id[0] == '-') return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

absl::Status ValidateRunSpec(const v1::RunSpec& spec, const RunSpecLimits& limits) {
  Problems problems;
  if (!spec.run_id().empty()) CheckId(spec.run_id(), "run_id", &problems);
  if (absl::StripAsciiWhitespace(spec.repo_url()).empty()) {
    problems.Add("repo_url", "must name the repository (path, file:// or https:// URL)");
  } else if (UrlHasCredentials(spec.repo_url())) {
    problems.Add("repo_url",
                 "must not carry a password or token; GitAdapter takes credentials from its own "
                 "allowlist (--credentials_env_allowlist, --credentials_dir)");
  }
  CheckText(spec.repo_url(), limits.max_url_bytes, "repo_url", &problems);
  CheckText(spec.base_ref(), limits.max_url_bytes, "base_ref", &problems);
  CheckText(spec.project_id(), limits.max_url_bytes, "project_id", &problems);
  if (absl::StripAsciiWhitespace(spec.check_command()).empty()) {
    problems.Add("check_command", "must be set (the command that runs the project's tests)");
  }
  CheckText(spec.check_command(), limits.max_check_command_bytes, "check_command", &problems,
            /*allow_newlines=*/true);
  if (!v1::SafetyProfile_IsValid(spec.safety_profile())) {
    problems.Add("safety_profile", absl::StrCat(static_cast<int>(spec.safety_profile()),
                                                " is not a SafetyProfile value"));
  }
  if (!v1::BudgetExhaustedAction_IsValid(spec.on_budget_exhausted())) {
    problems.Add("on_budget_exhausted",
                 absl::StrCat(static_cast<int>(spec.on_budget_exhausted()),
                              " is not a BudgetExhaustedAction value"));
  }
  CheckBudget(spec.budget(), "budget", &problems);
  CheckDuration(spec.check_timeout(), limits.max_check_timeout, "check_timeout", &problems);
  CheckDuration(spec.max_wall_time(), limits.max_wall_time, "max_wall_time", &problems);
  if (spec.max_phases() < 0) problems.Add("max_phases", "must not be negative");
  CheckCount(spec.labels_size(), limits.max_labels, "labels", &problems);
  for (const auto& [key, value] : spec.labels()) {
    const std::string path = absl::StrCat("labels[\"", ClipForMessage(key, 32), "\"]");
    CheckText(key, 64, path + " (key)", &problems);
    CheckText(value, limits.max_label_bytes, path, &problems);
  }
  if (spec.tiers().empty()) problems.Add("tiers", "must hold at least one tier");
  CheckCount(spec.tiers_size(), limits.max_tiers, "tiers", &problems);
  int phases = 0;
  for (const v1::TierSpec& tier : spec.tiers()) phases += tier.phases_size();
  if (phases > limits.max_phases) {
    problems.Add("tiers", absl::StrCat("hold ", phases, " phases; at most ", limits.max_phases,
                                       " are allowed per run"));
  }
  // An oversized plan is reported by its counts alone: walking it would be
  // the work the ceiling exists to avoid.
  if (spec.tiers_size() > limits.max_tiers || phases > limits.max_phases) return problems.ToStatus();
  std::set<std::string> tier_ids;
  std::set<std::string> phase_ids;
  for (int t = 0; t < spec.tiers_size(); ++t) {
    const v1::TierSpec& tier = spec.tiers(t);
    const std::string path = absl::StrCat("tiers[", t, "]");
    CheckId(tier.tier_id(), path + ".tier_id", &problems);
    if (!tier.tier_id().empty() && !tier_ids.insert(tier.tier_id()).second) {
      problems.Add(path + ".tier_id",
                   absl::StrCat("\"", tier.tier_id(), "\" is used by another tier"));
    }
    CheckText(tier.name(), limits.max_name_bytes, path + ".name", &problems);
    CheckBudget(tier.budget(), path + ".budget", &problems);
    if (tier.phases().empty()) problems.Add(path + ".phases", "must hold at least one phase");
    for (int p = 0; p < tier.phases_size(); ++p) {
      CheckPhase(tier.phases(p), limits, absl::StrCat(path, ".phases[", p, "]"), &phase_ids, &problems);
    }
  }
  return problems.ToStatus();
}

}  // namespace autopack::supervisor
