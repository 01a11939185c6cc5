// Workspaces: one clone per id under a root directory, with its integration
// branch autopack/<run_id>. What a workspace is (run, branch, base, source) is
// persisted beside the clone, so a restarted service reopens workspaces by id.
#ifndef AUTOPACK_SERVICES_GITADAPTER_WORKSPACE_MANAGER_H_
#define AUTOPACK_SERVICES_GITADAPTER_WORKSPACE_MANAGER_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "autopack/v1/gitadapter.pb.h"
#include "services/gitadapter/repository.h"

namespace autopack::gitadapter {

struct WorkspaceInfo {
  std::string id;
  std::string run_id;
  std::string branch;
  std::string base_sha;
  std::string repo_url;
};

// One open workspace. Hold `mu` for every use of `repo` or the working tree.
struct Workspace {
  WorkspaceInfo info;
  std::string dir;  // working tree
  absl::Mutex mu;
  std::unique_ptr<Repository> repo ABSL_GUARDED_BY(mu);
  // True while the working tree is known to match the branch head: after a
  // full clean checkout, until a check (model-written code) runs in it. Only
  // then may a checkout touch just the paths a commit changes.
  bool tree_matches_head ABSL_GUARDED_BY(mu) = false;
};

struct WorkspaceManagerOptions {
  std::string root;             // where workspaces live
  std::string credentials_dir;  // base of OpenWorkspaceRequest.credentials_file
  // Where local repositories (paths, file:// URLs) may be cloned from; a path
  // resolving elsewhere (another run's workspace, /etc, a credentials dir) is
  // refused. Empty: no local repository may be cloned.
  std::vector<std::string> local_roots;
  // The environment variables OpenWorkspaceRequest.credentials_env may name.
  // Anything else (a provider key, say) is refused: a caller must not be able
  // to make GitAdapter send its environment to a URL of the caller's choice.
  std::set<std::string> credentials_env_allowlist;
  // How repositories are cloned and reopened; GitRepository by default.
  std::function<absl::StatusOr<std::unique_ptr<Repository>>(const std::string& url, const std::string& dir,
                                                            const std::string& token)>
      clone;
  std::function<absl::StatusOr<std::unique_ptr<Repository>>(const std::string& dir)> open;
};

class WorkspaceManager {
 public:
  explicit WorkspaceManager(WorkspaceManagerOptions options);

  // Creates the workspace (clone, resolve base_ref, create or continue the
  // branch) or reopens it when the id exists. INVALID_ARGUMENT for bad ids, a
  // missing or malformed repo_url, credentials in the URL or credentials over
  // a plaintext transport; PERMISSION_DENIED for a local path outside the
  // local roots or a credentials_env not allowlisted; NOT_FOUND for a missing
  // local repository or an unknown base_ref, FAILED_PRECONDITION
  // when an existing id belongs to another run or repository or credentials
  // are missing; clone errors as GitRepository::Clone reports them.
  absl::StatusOr<v1::OpenWorkspaceResponse> Open(const v1::OpenWorkspaceRequest& request);

  // An open workspace, loaded from disk when the service restarted since.
  // NOT_FOUND when there is none.
  absl::StatusOr<std::shared_ptr<Workspace>> Get(const std::string& id);

  // Forgets the workspace (Get fails until it is opened again) and deletes its
  // files if asked. NOT_FOUND when there is none.
  absl::Status Close(const std::string& id, bool delete_files);

 private:
  absl::StatusOr<std::shared_ptr<Workspace>> Load(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> Token(const v1::OpenWorkspaceRequest& request) const;
  // Why the request's repository may not be cloned, or OK; see the options.
  absl::Status CheckSource(const v1::OpenWorkspaceRequest& request) const;
  std::string WorkspaceDir(const std::string& id) const;

  WorkspaceManagerOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Workspace>> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_WORKSPACE_MANAGER_H_
