// Filesystem housekeeping on a working tree that a check (model-written code)
// has had write access to, so may have filled with symlinks to anywhere,
// fifos, hardlinks, setuid files or directories where files belong.
//
// Both walks open every directory relative to its parent with
// O_NOFOLLOW|O_DIRECTORY and act on entries through their parent's fd
// (fstatat/unlinkat/fchownat with AT_SYMLINK_NOFOLLOW), so no symlink in the
// tree is ever followed and nothing outside `dir` is touched. Nothing may be
// running in the tree meanwhile (the caller holds the workspace and the check
// has ended).
#ifndef AUTOPACK_SERVICES_GITADAPTER_WORKING_TREE_H_
#define AUTOPACK_SERVICES_GITADAPTER_WORKING_TREE_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/gitadapter/repository.h"

namespace autopack::gitadapter {

// Deletes from the working tree at `dir` everything but the directories and
// regular files that `tracked` (a commit's ListFiles) has at that path:
// untracked entries, every symlink (checkout recreates tracked ones),
// fifos, sockets, devices, files of the wrong type, files with more than one
// link and files with setuid/setgid/sticky bits; what stays loses group and
// other write permission (directories become 0755). The top-level `.git` stays;
// FAILED_PRECONDITION when it is not a directory. A following forced checkout
// of the same commit then restores the tree exactly, and writes only through
// real directories. INTERNAL for filesystem errors and for trees nested
// deeper than 512 directories.
absl::Status ScrubWorkingTree(const std::string& dir, const std::vector<TreeEntryInfo>& tracked);

// True when every existing component on the way to each of `paths`
// (relative to `dir`) is a real directory and each path is absent or a regular
// file with one link: a checkout writing just those paths then writes only
// inside the tree. Costs a few lstat()s per path, not a walk of the tree.
bool PathsAreSafeToWrite(const std::string& dir, const std::vector<std::string>& paths);

// Gives `dir` and everything below it, except the top-level entries named in
// `skip`, to uid:gid, so a sandboxed check running as that uid can write the
// tree. Symlinks are re-owned themselves; files with more than one link are
// left alone (another of their names may lie outside the tree).
absl::Status ChownWorkingTree(const std::string& dir, const std::vector<std::string>& skip, uid_t uid, gid_t gid);

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_WORKING_TREE_H_
