#include "services/common/patch/protected_paths.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/glob.h"

namespace autopack::patch {

bool MatchesProtectedGlob(absl::string_view glob, absl::string_view path) {
  if (!absl::StrContains(glob, '/')) return GlobMatch(absl::StrCat("**/", glob), path);
  return GlobMatch(glob, path);
}

std::optional<std::string> ProtectingGlob(const std::vector<std::string>& globs, absl::string_view path) {
  for (const std::string& glob : globs) {
    if (MatchesProtectedGlob(glob, path)) return glob;
  }
  return std::nullopt;
}

}  // namespace autopack::patch
