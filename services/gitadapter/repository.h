// The repository side of a workspace, behind a small interface: objects,
// trees, commits, refs, checkout and tags. The real implementation is
// GitRepository (libgit2); patch planning reads trees through TreeReader.
#ifndef AUTOPACK_SERVICES_GITADAPTER_REPOSITORY_H_
#define AUTOPACK_SERVICES_GITADAPTER_REPOSITORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "autopack/v1/gitadapter.pb.h"
#include "services/gitadapter/patch_plan.h"

namespace autopack::gitadapter {

struct Identity {
  std::string name;
  std::string email;
};

struct CommitInfo {
  std::string sha;
  std::string tree_sha;
  std::string message;
  std::vector<std::string> parents;
};

struct TreeEntryInfo {
  std::string path;
  uint32_t mode = 0;  // blobs, symlinks and submodules; no directories
};

struct DiffResult {
  std::string patch;  // git format, renames detected
  std::vector<v1::FileChange> files;
};

class Repository {
 public:
  virtual ~Repository() = default;

  // Commit that `revision` (sha, branch, tag, "origin/x", "HEAD~2") peels to.
  // NOT_FOUND when it names nothing, INVALID_ARGUMENT when it is malformed.
  virtual absl::StatusOr<std::string> ResolveCommit(const std::string& revision) = 0;
  // Head of local branch `branch`, nullopt if the branch does not exist.
  virtual absl::StatusOr<std::optional<std::string>> BranchHead(const std::string& branch) = 0;
  virtual absl::StatusOr<CommitInfo> GetCommit(const std::string& sha) = 0;
  // The tree of a commit, for patch planning and reading files.
  virtual absl::StatusOr<std::unique_ptr<TreeReader>> ReadTree(const std::string& commit_sha) = 0;
  // Every non-directory entry of a commit's tree, in path order.
  virtual absl::StatusOr<std::vector<TreeEntryInfo>> ListFiles(const std::string& commit_sha) = 0;
  // Stores the tree of `base_commit` with `writes` applied and returns its id.
  // Only adds objects: index, working tree and refs are untouched.
  virtual absl::StatusOr<std::string> WriteTree(const std::string& base_commit,
                                                const std::vector<FileWrite>& writes) = 0;
  // Stores a commit (no ref moves) and returns its sha. INVALID_ARGUMENT for an
  // unusable author identity.
  virtual absl::StatusOr<std::string> CreateCommit(const std::string& tree_sha, const std::string& parent_sha,
                                                   const std::string& message, const Identity& author,
                                                   const Identity& committer) = 0;
  // Forces index and working tree to `commit_sha` (tracked files only;
  // untracked ones stay), points local `branch` at it and HEAD at the branch.
  virtual absl::Status CheckoutBranch(const std::string& branch, const std::string& commit_sha) = 0;
  // Like CheckoutBranch, but reads and writes only `paths` of the index and
  // the working tree: for a caller that knows the tree matches the current
  // HEAD and that `commit_sha` differs from it only there. Costs what the
  // change costs, not what the repository's size does.
  virtual absl::Status CheckoutPaths(const std::string& branch, const std::string& commit_sha,
                                     const std::vector<std::string>& paths) = 0;
  // True when `ancestor` equals `descendant` or is one of its ancestors.
  virtual absl::StatusOr<bool> IsAncestor(const std::string& ancestor, const std::string& descendant) = 0;
  virtual absl::StatusOr<DiffResult> Diff(const std::string& from_sha, const std::string& to_sha) = 0;
  // Creates refs/tags/<name> at a commit (annotated when `message` is set) and
  // returns the ref name. Repeating the same call is fine; ALREADY_EXISTS when
  // the tag points elsewhere, INVALID_ARGUMENT for a malformed name.
  virtual absl::StatusOr<std::string> CreateTag(const std::string& name, const std::string& commit_sha,
                                                const std::string& message, const Identity& tagger) = 0;
};

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_REPOSITORY_H_
