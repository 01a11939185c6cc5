// The one patch parser of Autopack: Builder, Auditor and GitAdapter read
// patches with it, so every service sees the same paths and the same hunks.
// Unified diffs as tools and models write them: git style (with `diff --git`,
// mode, rename and index lines), `git format-patch` mails, and plain
// `---`/`+++` diffs, also git diffs whose `diff --git`/`index` lines were
// dropped. Nothing else: ed scripts and context diffs are rejected.
//
// Byte-exact: no encoding is assumed. Paths are decoded as git writes them
// (quoted, with C escapes such as `\143` or `\t`), and lines keep every byte
// (a "\r" of a CRLF file stays in the line). The parser only reads; whether a
// path is safe or a hunk fits is for the caller (GitAdapter's path_safety and
// hunk_applier, the Builder's edit resolution).
#ifndef AUTOPACK_SERVICES_COMMON_PATCH_PATCH_H_
#define AUTOPACK_SERVICES_COMMON_PATCH_PATCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace autopack::patch {

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
  int patch_line = 0;  // 1-based line of the `@@` header in the patch
  // The body as far as it goes: the header's counts, then any body lines
  // that follow them (models miscount). The first `counted` lines are the
  // reading by the header's counts, which callers must try first; the longer
  // reading is only for when that one does not apply, because past the counts
  // may be a mail's prose. Neither reading ever includes a `git format-patch`
  // signature (a `-- ` line, a version line, then only blank lines).
  std::vector<DiffLine> lines;
  size_t counted = 0;

  // True when the body is longer than the header's counts say.
  bool has_extra_lines() const { return lines.size() > counted; }
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
// that holds no file change at all. Prose around the diff (a mail's headers,
// its message, trailers, signature) is ignored. Binary entries are parsed and
// marked (`binary`), never decoded: every caller refuses them.
absl::StatusOr<Patch> ParsePatch(absl::string_view text);

// Paths the patch touches, in order of appearance, without repeats (both
// sides of a rename).
std::vector<std::string> FilesTouched(const Patch& patch);

// `content` as lines, each with its "\n" (the last may lack one): how every
// user of the library splits files, so a missing final newline is kept.
std::vector<absl::string_view> SplitLines(absl::string_view content);

// Git file modes of entries no service lets a patch touch.
inline constexpr uint32_t kModeSymlink = 0120000;
inline constexpr uint32_t kModeSubmodule = 0160000;

}  // namespace autopack::patch

#endif  // AUTOPACK_SERVICES_COMMON_PATCH_PATCH_H_
