// What paths a patch may write and ReadFiles may return.
#ifndef AUTOPACK_SERVICES_GITADAPTER_PATH_SAFETY_H_
#define AUTOPACK_SERVICES_GITADAPTER_PATH_SAFETY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace autopack::gitadapter {

// OK for a plain repository-relative path. INVALID_ARGUMENT naming the path and
// the rule for: empty paths, absolute paths, backslashes, control characters,
// empty, `.` or `..` components, and anything under `.git` (also spelt `.GIT`,
// `.git.` or `git~1`, which some filesystems treat as `.git`).
absl::Status CheckRepoPath(absl::string_view path);

// True for files that typically hold secrets: `.env` files, private keys and
// certificates' keys, credential and token files, SSH and cloud configs.
bool LooksLikeSecret(absl::string_view path);

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_PATH_SAFETY_H_
