// Turns a parsed patch into the file writes it makes on a tree, or into a
// rejection naming every file and hunk that cannot be applied and why. Reads
// the tree through TreeReader and writes nothing, so callers decide whether the
// plan becomes a commit (ApplyPatch) or is only reported (dry_run).
#ifndef AUTOPACK_SERVICES_GITADAPTER_PATCH_PLAN_H_
#define AUTOPACK_SERVICES_GITADAPTER_PATCH_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "autopack/v1/gitadapter.pb.h"
#include "services/common/patch/patch.h"

namespace autopack::gitadapter {

inline constexpr uint32_t kModeDirectory = 0040000;
inline constexpr uint32_t kModeFile = 0100644;
inline constexpr uint32_t kModeExecutable = 0100755;
using patch::kModeSubmodule;
using patch::kModeSymlink;

// The tree a patch applies to (a commit's tree in production, a map in tests).
class TreeReader {
 public:
  virtual ~TreeReader() = default;
  // Git mode of the entry at `path` (kModeDirectory for directories), or
  // nullopt when there is none.
  virtual absl::StatusOr<std::optional<uint32_t>> EntryMode(const std::string& path) = 0;
  // Content of the regular file at `path`.
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
};

struct FileContent {
  uint32_t mode = kModeFile;
  std::string content;
};

// The final state of one path: new content, or nullopt when it is deleted.
struct FileWrite {
  std::string path;
  std::optional<FileContent> file;
};

struct PatchPlan {
  std::vector<FileWrite> writes;  // sorted by path, one per path
  std::vector<v1::FileChange> changes;
  std::vector<v1::HunkPlacement> relocated;
};

// INVALID_ARGUMENT "patch rejected: PATH: hunk N: REASON; PATH: REASON; ..."
// listing every problem: unsafe paths, paths outside `allowed_paths` (globs;
// empty allows any path), protected paths (patch::ProtectingGlob over
// `protected_paths`), binary, symlink, submodule and copy entries, paths
// through symlinks or submodules of the tree, adds of existing files, changes
// to missing ones, and hunks whose lines match nowhere. Other codes come from
// the TreeReader.
absl::StatusOr<PatchPlan> PlanPatch(const patch::Patch& patch, const std::vector<std::string>& allowed_paths,
                                    const std::vector<std::string>& protected_paths, TreeReader& tree);

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_PATCH_PLAN_H_
