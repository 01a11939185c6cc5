#include "services/auditor/static_checks.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/issue_fingerprint.h"
#include "services/common/patch/patch.h"
#include "services/common/patch/protected_paths.h"

namespace autopack::auditor {
namespace {

v1::Issue StaticIssue(absl::string_view category, absl::string_view path, int line,
                      std::string message, std::string suggestion) {
  v1::Issue issue;
  issue.set_severity(v1::SEVERITY_MAJOR);
  issue.set_source(v1::ISSUE_SOURCE_STATIC);
  issue.set_category(std::string(category));
  issue.set_path(std::string(path));
  issue.set_line(line);
  issue.set_message(std::move(message));
  issue.set_suggestion(std::move(suggestion));
  issue.set_fingerprint(IssueFingerprint(category, path, issue.message()));
  return issue;
}

bool HasMode(const patch::FilePatch& file, uint32_t mode) {
  return file.old_mode == mode || file.new_mode == mode;
}

void CheckEntry(const patch::FilePatch& file, std::vector<v1::Issue>* issues) {
  const char* kind = nullptr;
  if (file.binary) {
    kind = "a binary file";
  } else if (HasMode(file, patch::kModeSymlink)) {
    kind = "a symlink";
  } else if (HasMode(file, patch::kModeSubmodule)) {
    kind = "a submodule";
  }
  if (kind == nullptr) return;
  issues->push_back(StaticIssue("forbidden_entry", file.display_path(), 0,
                                absl::StrCat("the patch changes ", kind, " (", file.display_path(),
                                             "); only regular text files may be changed"),
                                "change regular text files only"));
}

// Every reading GitAdapter may apply is checked: the lines past a hunk's
// counts too.
void CheckSecrets(const patch::FilePatch& file, const AuditorConfig& config,
                  std::vector<v1::Issue>* issues) {
  for (const patch::Hunk& hunk : file.hunks) {
    int new_line = hunk.new_start;
    for (const patch::DiffLine& line : hunk.lines) {
      if (line.kind == '-') continue;
      if (line.kind == '+') {
        for (const SecretPattern& pattern : config.secret_patterns) {
          if (std::regex_search(line.text.begin(), line.text.end(), *pattern.regex)) {
            // The message names the pattern only: the secret must not spread further.
            issues->push_back(StaticIssue(
                "secret", file.display_path(), new_line,
                absl::StrCat("an added line looks like a secret (", pattern.name, ")"),
                "remove the value; read it from the environment or a secret store"));
            break;
          }
        }
      }
      ++new_line;
    }
  }
}

}  // namespace

StaticReview RunStaticChecks(absl::string_view patch, const AuditorConfig& config,
                             const std::vector<std::string>& extra_protected_paths) {
  StaticReview review;
  absl::StatusOr<patch::Patch> parsed = patch::ParsePatch(patch);
  if (!parsed.ok()) {
    review.issues.push_back(StaticIssue("unparseable_patch", "", 0,
                                        absl::StrCat("the patch does not parse: ",
                                                     parsed.status().message()),
                                        "send a well-formed unified diff"));
    return review;
  }
  review.parsed = true;
  std::vector<std::string> globs = config.protected_paths;
  globs.insert(globs.end(), extra_protected_paths.begin(), extra_protected_paths.end());
  int64_t deleted_lines = 0;
  int64_t deleted_files = 0;
  for (const patch::FilePatch& file : parsed->files) {
    for (const std::string& path : patch::FilesTouched({{file}})) {
      const std::optional<std::string> glob = patch::ProtectingGlob(globs, path);
      if (!glob) continue;
      review.issues.push_back(StaticIssue(
          "protected_path", path, 0,
          absl::StrCat("the patch changes protected path ", path, " (matches ", *glob, ")"),
          "leave this file unchanged; protected files need a human"));
    }
    CheckEntry(file, &review.issues);
    CheckSecrets(file, config, &review.issues);
    if (file.deleted) ++deleted_files;
    for (const patch::Hunk& hunk : file.hunks) {
      for (const patch::DiffLine& line : hunk.lines) deleted_lines += line.kind == '-' ? 1 : 0;
    }
  }
  if (deleted_lines > config.max_deleted_lines || deleted_files > config.max_deleted_files) {
    review.issues.push_back(StaticIssue(
        "mass_deletion", "", 0,
        absl::StrCat("the patch deletes ", deleted_lines, " lines and ", deleted_files,
                     " files; the limits are ", config.max_deleted_lines, " lines and ",
                     config.max_deleted_files, " files"),
        "make a smaller change, or have a human make the deletion"));
  }
  return review;
}

}  // namespace autopack::auditor
