// Writes exact git diffs: the Builder's way of turning whatever edit format a
// model used into the one thing Auditor and GitAdapter accept. Byte-exact like
// the parser (services/common/patch/patch.h), which reads back exactly the
// files it was given: ParsePatch(WriteFileDiff(...)) applied to `old_content`
// at the stated lines yields `new_content`.
#ifndef AUTOPACK_SERVICES_COMMON_PATCH_DIFF_WRITER_H_
#define AUTOPACK_SERVICES_COMMON_PATCH_DIFF_WRITER_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace autopack::patch {

// One file's change. nullopt content: the file does not exist on that side
// (an added or deleted file). Paths are repository-relative.
struct FileChangeText {
  std::string old_path;
  std::string new_path;
  std::optional<std::string> old_content;
  std::optional<std::string> new_content;
};

// A git-style diff of the change (`diff --git`, new/deleted file modes
// 100644, `---`/`+++`, hunks with 3 lines of context and exact counts, "\ No
// newline at end of file" where a side's last line lacks one). Paths that git
// would quote (control bytes, `"`, `\`, bytes >= 0x80) are quoted the way git
// quotes them. Empty when nothing changes.
std::string WriteFileDiff(const FileChangeText& change);

// `path` as git writes it in a header: as is, or quoted with C escapes.
std::string QuotePath(absl::string_view path);

}  // namespace autopack::patch

#endif  // AUTOPACK_SERVICES_COMMON_PATCH_DIFF_WRITER_H_
