// Repository implemented with libgit2. Every libgit2 return code is converted
// to absl::Status here. Not thread-safe: callers serialise use per workspace.
#ifndef AUTOPACK_SERVICES_GITADAPTER_GIT_REPOSITORY_H_
#define AUTOPACK_SERVICES_GITADAPTER_GIT_REPOSITORY_H_

#include <memory>
#include <string>
#include <vector>

#include "services/gitadapter/repository.h"

struct git_repository;
struct git_commit;

namespace autopack::gitadapter {

class GitRepository : public Repository {
 public:
  // Opens the non-bare repository whose working tree is `path`. NOT_FOUND if
  // there is none.
  static absl::StatusOr<std::unique_ptr<GitRepository>> Open(const std::string& path);

  // Clones `url` (file://, a local path, or https) into `path`, which must not
  // exist yet. `token`, when set, answers https authentication as
  // x-access-token:<token>. UNAVAILABLE for network failures,
  // PERMISSION_DENIED when the server refuses the credentials, NOT_FOUND when
  // there is no repository at `url`.
  static absl::StatusOr<std::unique_ptr<GitRepository>> Clone(const std::string& url, const std::string& path,
                                                              const std::string& token);

  ~GitRepository() override;

  absl::StatusOr<std::string> ResolveCommit(const std::string& revision) override;
  absl::StatusOr<std::optional<std::string>> BranchHead(const std::string& branch) override;
  absl::StatusOr<CommitInfo> GetCommit(const std::string& sha) override;
  absl::StatusOr<std::unique_ptr<TreeReader>> ReadTree(const std::string& commit_sha) override;
  absl::StatusOr<std::vector<TreeEntryInfo>> ListFiles(const std::string& commit_sha) override;
  absl::StatusOr<std::string> WriteTree(const std::string& base_commit,
                                        const std::vector<FileWrite>& writes) override;
  absl::StatusOr<std::string> CreateCommit(const std::string& tree_sha, const std::string& parent_sha,
                                           const std::string& message, const Identity& author,
                                           const Identity& committer) override;
  absl::Status CheckoutBranch(const std::string& branch, const std::string& commit_sha) override;
  absl::Status CheckoutPaths(const std::string& branch, const std::string& commit_sha,
                             const std::vector<std::string>& paths) override;
  absl::StatusOr<bool> IsAncestor(const std::string& ancestor, const std::string& descendant) override;
  absl::StatusOr<DiffResult> Diff(const std::string& from_sha, const std::string& to_sha) override;
  absl::StatusOr<std::string> CreateTag(const std::string& name, const std::string& commit_sha,
                                        const std::string& message, const Identity& tagger) override;

 private:
  // Checks out `commit_sha` (only `paths` when given) and moves the branch.
  absl::Status Checkout(const std::string& branch, const std::string& commit_sha,
                        const std::vector<std::string>* paths);
  // Points local `branch` at `commit` and HEAD at the branch.
  absl::Status MoveBranch(const std::string& branch, const git_commit* commit);

  explicit GitRepository(git_repository* repo) : repo_(repo) {}
  git_repository* repo_;
};

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_GIT_REPOSITORY_H_
