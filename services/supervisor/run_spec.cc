#include "services/supervisor/run_spec.h"

#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

void CheckDuration(const google::protobuf::Duration& d, const std::string& path,
                   Problems* problems) {
  if (d.seconds() < 0 || d.nanos() < 0) problems->Add(path, "must not be negative");
}

void CheckId(absl::string_view id, const std::string& path, Problems* problems) {
  if (id.empty()) {
    problems->Add(path, "must be set");
  } else if (!IsValidId(id)) {
    problems->Add(path, absl::StrCat("\"", id,
                                     "\" must be 1-64 characters of [A-Za-z0-9._-], not "
                                     "starting with '.' or '-'"));
  }
}

void CheckPathGlobs(const google::protobuf::RepeatedPtrField<std::string>& globs,
                    const std::string& path, Problems* problems) {
  for (int i = 0; i < globs.size(); ++i) {
    const std::string& glob = globs[i];
    const std::string item = absl::StrCat(path, "[", i, "]");
    if (glob.empty()) {
      problems->Add(item, "must not be empty");
    } else if (glob[0] == '/') {
      problems->Add(item, "must be relative to the repository root");
    } else if (glob == ".." || absl::StartsWith(glob, "../") ||
               absl::StrContains(glob, "/../") || absl::EndsWith(glob, "/..")) {
      problems->Add(item, "must not contain '..'");
    }
  }
}

void CheckPhase(const v1::PhaseSpec& phase, const std::string& path,
                std::set<std::string>* phase_ids, Problems* problems) {
  CheckId(phase.phase_id(), path + ".phase_id", problems);
  if (!phase.phase_id().empty() && !phase_ids->insert(phase.phase_id()).second) {
    problems->Add(path + ".phase_id",
                  absl::StrCat("\"", phase.phase_id(), "\" is used by another phase"));
  }
  if (absl::StripAsciiWhitespace(phase.name()).empty()) problems->Add(path + ".name", "must be set");
  if (absl::StripAsciiWhitespace(phase.description()).empty()) {
    problems->Add(path + ".description", "must say what to build");
  }
  if (phase.complexity() == v1::COMPLEXITY_UNSPECIFIED) {
    problems->Add(path + ".complexity",
                  "must be set (COMPLEXITY_LOW, COMPLEXITY_MEDIUM or COMPLEXITY_HIGH)");
  }
  if (phase.max_attempts() < 0) problems->Add(path + ".max_attempts", "must not be negative");
  CheckBudget(phase.budget(), path + ".budget", problems);
  CheckPathGlobs(phase.allowed_paths(), path + ".allowed_paths", problems);
  CheckPathGlobs(phase.context_paths(), path + ".context_paths", problems);
}

}  // namespace

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 64 || id[0] == '.' || id[0] == '-') return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

absl::Status ValidateRunSpec(const v1::RunSpec& spec) {
  Problems problems;
  if (!spec.run_id().empty()) CheckId(spec.run_id(), "run_id", &problems);
  if (absl::StripAsciiWhitespace(spec.repo_url()).empty()) {
    problems.Add("repo_url", "must name the repository (path, file:// or https:// URL)");
  }
  if (absl::StripAsciiWhitespace(spec.check_command()).empty()) {
    problems.Add("check_command", "must be set (the command that runs the project's tests)");
  }
  CheckBudget(spec.budget(), "budget", &problems);
  CheckDuration(spec.check_timeout(), "check_timeout", &problems);
  CheckDuration(spec.max_wall_time(), "max_wall_time", &problems);
  if (spec.max_phases() < 0) problems.Add("max_phases", "must not be negative");
  if (spec.tiers().empty()) problems.Add("tiers", "must hold at least one tier");
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
    CheckBudget(tier.budget(), path + ".budget", &problems);
    if (tier.phases().empty()) problems.Add(path + ".phases", "must hold at least one phase");
    for (int p = 0; p < tier.phases_size(); ++p) {
      CheckPhase(tier.phases(p), absl::StrCat(path, ".phases[", p, "]"), &phase_ids, &problems);
    }
  }
  return problems.ToStatus();
}

}  // namespace autopack::supervisor
