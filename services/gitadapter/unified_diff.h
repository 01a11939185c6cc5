// Parser for unified diffs as tools and models write them: git style (with
// `diff --git`, mode, rename and index lines) and plain `---`/`+++` diffs, also
// git diffs whose `diff --git`/`index` lines were dropped. Nothing else: ed
// scripts and context diffs are rejected. The parser only reads text; whether a
// path is safe or a hunk fits is decided by path_safety and hunk_applier.
#ifndef AUTOPACK_SERVICES_GITADAPTER_UNIFIED_DIFF_H_
#define AUTOPACK_SERVICES_GITADAPTER_UNIFIED_DIFF_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace autopack::gitadapter {

// One body line of a hunk.
struct DiffLine {
  char kind;         // ' ' context, '-' removed, '+' added
  std::string text;  // the line with its "\n", without it before "\ No newline"
};

struct Hunk {
  int number = 0;  // 1-based within its file
  int old_start = 0;
  int old_count = 0;
  int new_start = 0;
  int new_count = 0;
  // Counts above are the header's; LLMs miscount, so the body is read until it
  // ends and these lines are what gets applied.
  std::vector<DiffLine> lines;
};

// Git file modes are kept as written (octal), e.g. 0100644, 0120000.
struct FilePatch {
  std::string old_path;  // empty for an added file
  std::string new_path;  // empty for a deleted file
  bool added = false;
  bool deleted = false;
  bool copied = false;
  bool binary = false;
  std::optional<uint32_t> old_mode;
  std::optional<uint32_t> new_mode;
  int patch_line = 0;  // 1-based line of the patch where this file starts
  std::vector<Hunk> hunks;

  // The path messages name: the new path, or the old one for deletions.
  const std::string& display_path() const { return new_path.empty() ? old_path : new_path; }
  bool renamed() const { return !added && !deleted && !copied && old_path != new_path; }
};

struct Patch {
  std::vector<FilePatch> files;
};

// Parses `text`. INVALID_ARGUMENT, naming the patch line, for malformed hunk
// headers, hunks outside a file, files without a path, context diffs, and text
// that holds no file change at all. Prose around the diff is ignored.
absl::StatusOr<Patch> ParseUnifiedDiff(absl::string_view text);

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_UNIFIED_DIFF_H_
