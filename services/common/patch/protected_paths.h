// Protected paths (CI config, test harness files, lockfiles): the one rule
// both the Auditor's static check and GitAdapter's ApplyPatch enforce, on the
// paths the shared parser decoded, so the two cannot disagree.
#ifndef AUTOPACK_SERVICES_COMMON_PATCH_PROTECTED_PATHS_H_
#define AUTOPACK_SERVICES_COMMON_PATCH_PROTECTED_PATHS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace autopack::patch {

// Glob match as services/common/glob.h defines it, except that a glob
// without '/' matches the file name at any depth ("conftest.py" protects
// tests/conftest.py too).
bool MatchesProtectedGlob(absl::string_view glob, absl::string_view path);

// The first glob of `globs` that protects `path`, or nullopt.
std::optional<std::string> ProtectingGlob(const std::vector<std::string>& globs, absl::string_view path);

}  // namespace autopack::patch

#endif  // AUTOPACK_SERVICES_COMMON_PATCH_PROTECTED_PATHS_H_
