// The edit formats a model may write its change in (v1::EditFormat), and how
// the Builder turns each, against the context files it was sent, into an
// exact git diff (services/common/patch/diff_writer.h): downstream services
// only ever see exact patches.
//
// Lenient where the reading is unique: whitespace-only differences in
// context, miscounted hunks, drifted line numbers, blank lines at a hunk's
// edge. Never where two places could match: an edit whose lines fit more than
// one place of its file (and no line number picks one exactly) is refused
// with the file and every line it could mean, so the next attempt can be
// precise. Lines of the file the edit only quotes keep their exact bytes.
#ifndef AUTOPACK_SERVICES_BUILDER_EDIT_FORMATS_H_
#define AUTOPACK_SERVICES_BUILDER_EDIT_FORMATS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "autopack/v1/builder.pb.h"

namespace autopack::builder {

// What an answer resolves to: the exact git diff and the files it touches.
struct ResolvedEdit {
  std::string patch;
  std::vector<std::string> files_touched;
};

// Files as the model saw them: repository path -> content (bytes).
using ContextFiles = std::map<std::string, std::string>;

// Reads `answer` in `format` (UNSPECIFIED means SEARCH_REPLACE) and applies it
// to `files`. INVALID_ARGUMENT, naming the file and the block or hunk, for an
// answer without an edit in that format, an edit of a file the model was not
// shown, lines that match nowhere, lines that match in more than one place
// ("ambiguous: ... could mean line 12 or line 40"), and an edit that changes
// nothing.
absl::StatusOr<ResolvedEdit> ResolveAnswer(v1::EditFormat format, absl::string_view answer,
                                           const ContextFiles& files);

}  // namespace autopack::builder

#endif  // AUTOPACK_SERVICES_BUILDER_EDIT_FORMATS_H_
