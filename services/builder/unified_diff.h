// Reading a model's unified diff: pulling it out of the answer, parsing its
// file headers and hunks (git style and plain ---/+++), and the checks a
// generated patch must pass before the Builder returns it. Self-contained on
// purpose: GitAdapter applies patches with its own parser.
#ifndef AUTOPACK_SERVICES_BUILDER_UNIFIED_DIFF_H_
#define AUTOPACK_SERVICES_BUILDER_UNIFIED_DIFF_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace autopack::builder {

struct DiffHunk {
  int old_start = 0;
  int old_count = 0;
  int new_start = 0;
  int new_count = 0;
  int line = 0;  // 1-based line of the "@@" header in the diff text
  // Body lines with their prefix: ' ', '+', '-' or '\' ("\ No newline at end of file").
  std::vector<std::string> lines;
};

struct FilePatch {
  // Repository-relative, without a/ b/ prefixes; empty for /dev/null.
  std::string old_path;
  std::string new_path;
  // Git file modes when the diff states them ("100644", "120000" symlink,
  // "160000" submodule); empty otherwise.
  std::string old_mode;
  std::string new_mode;
  bool binary = false;  // "Binary files ... differ" or "GIT binary patch"
  std::vector<DiffHunk> hunks;
  int line = 0;  // 1-based line where the file's section starts

  // The path the change is about: the new path, or the old one for a deletion.
  const std::string& path() const { return new_path.empty() ? old_path : new_path; }
};

// Parses a whole diff. INVALID_ARGUMENT naming the line, file and hunk at
// fault: text outside file sections, a hunk outside a file, a hunk whose body
// does not match its header's line counts, paths that are absolute or contain
// "..", a file section without changes, an empty diff.
absl::StatusOr<std::vector<FilePatch>> ParseUnifiedDiff(absl::string_view text);

// Checks the Builder adds on top of parsing, on added lines: no elided code
// ("...", "// ... existing code ..."), no merge-conflict markers, no binary
// entries. INVALID_ARGUMENT naming file, hunk and line.
absl::Status ValidateGeneratedPatch(const std::vector<FilePatch>& files);

// Paths the patch touches, in order of appearance, without repeats (both
// sides of a rename).
std::vector<std::string> FilesTouched(const std::vector<FilePatch>& files);

struct ModelAnswer {
  std::string summary;
  std::string diff;  // "" when the answer has none
};

// Splits a model's answer into its summary ("Summary: ..." line, else the
// first line of prose) and its diff (the first ```diff / ```patch / ``` fence
// that holds one, else everything from the first diff header on).
ModelAnswer SplitModelAnswer(absl::string_view answer);

}  // namespace autopack::builder

#endif  // AUTOPACK_SERVICES_BUILDER_UNIFIED_DIFF_H_
