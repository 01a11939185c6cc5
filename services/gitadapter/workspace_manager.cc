#include "services/gitadapter/workspace_manager.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/files.h"
#include "services/common/status_macros.h"
#include "services/common/text.h"
#include "services/common/url.h"
#include "services/gitadapter/git_repository.h"
#include "services/gitadapter/path_safety.h"

namespace autopack::gitadapter {
namespace {

constexpr char kMetaFile[] = "workspace.meta";
constexpr char kClosedFile[] = "workspace.closed";

// Ids name directories and branch components, so they are kept plain.
absl::Status ValidateId(const std::string& value, absl::string_view field) {
  const bool plain_chars = !value.empty() && value.size() <= 128 && absl::ascii_isalnum(value[0]) &&
                           std::all_of(value.begin(), value.end(), [](char c) {
                             return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
                           });
  if (!plain_chars || absl::StrContains(value, "..") || absl::EndsWith(value, ".lock")) {
    return absl::InvalidArgumentError(absl::StrCat(field, " \"", ClipForMessage(value, 64),
                                                   "\" must be 1-128 characters of [A-Za-z0-9._-], start with a "
                                                   "letter or digit, and contain no \"..\""));
  }
  return absl::OkStatus();
}

std::string SerializeInfo(const WorkspaceInfo& info) {
  return absl::StrCat("id=", info.id, "\nrun_id=", info.run_id, "\nbranch=", info.branch,
                      "\nbase_sha=", info.base_sha, "\nrepo_url=", info.repo_url, "\n");
}

absl::StatusOr<WorkspaceInfo> ParseInfo(const std::string& path, const std::string& text) {
  std::map<std::string, std::string> values;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) return absl::DataLossError(absl::StrCat(path, ": malformed line"));
    values[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  WorkspaceInfo info{values["id"], values["run_id"], values["branch"], values["base_sha"], values["repo_url"]};
  if (info.id.empty() || info.branch.empty() || info.base_sha.empty()) {
    return absl::DataLossError(absl::StrCat(path, ": missing id, branch or base_sha"));
  }
  return info;
}

absl::StatusOr<v1::OpenWorkspaceResponse> Describe(Workspace& ws, bool created) {
  absl::MutexLock lock(&ws.mu);
  ASSIGN_OR_RETURN(const std::optional<std::string> head, ws.repo->BranchHead(ws.info.branch));
  v1::OpenWorkspaceResponse response;
  response.set_workspace_id(ws.info.id);
  response.set_branch(ws.info.branch);
  response.set_base_sha(ws.info.base_sha);
  response.set_head_sha(head.value_or(ws.info.base_sha));
  response.set_created(created);
  return response;
}

absl::Status FsError(const std::error_code& error, absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", error.message()));
}

}  // namespace

WorkspaceManager::WorkspaceManager(WorkspaceManagerOptions options) : options_(std::move(options)) {
  if (!options_.clone) {
    options_.clone = [](const std::string& url, const std::string& dir, const std::string& token)
        -> absl::StatusOr<std::unique_ptr<Repository>> {
      ASSIGN_OR_RETURN(std::unique_ptr<GitRepository> repo, GitRepository::Clone(url, dir, token));
      return std::unique_ptr<Repository>(std::move(repo));
    };
  }
  if (!options_.open) {
    options_.open = [](const std::string& dir) -> absl::StatusOr<std::unique_ptr<Repository>> {
      ASSIGN_OR_RETURN(std::unique_ptr<GitRepository> repo, GitRepository::Open(dir));
      return std::unique_ptr<Repository>(std::move(repo));
    };
  }
}

std::string WorkspaceManager::WorkspaceDir(const std::string& id) const { return absl::StrCat(options_.root, "/", id); }

absl::Status WorkspaceManager::CheckSource(const v1::OpenWorkspaceRequest& request) const {
  const std::string& url = request.repo_url();
  if (url.size() > 2048 || HasControlCharacters(url)) {
    return absl::InvalidArgumentError("repo_url: must be at most 2048 bytes without control characters");
  }
  if (UrlHasCredentials(url)) {
    return absl::InvalidArgumentError(
        "repo_url: must not carry a password or token; use credentials_env or credentials_file");
  }
  const bool wants_credentials = !request.credentials_env().empty() || !request.credentials_file().empty();
  const size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : absl::AsciiStrToLower(url.substr(0, scheme_end));
  // "user@host:path", git's scp-like ssh syntax: a colon before any slash.
  const size_t colon = url.find(':');
  const size_t at = url.find('@');
  const size_t host_start = at != std::string::npos && at < colon ? at + 1 : 0;
  const bool scp_like = scheme.empty() && colon != std::string::npos && colon > host_start && url[0] != '/' &&
                        url.find('/') > colon && url.find_first_of(" \t") == std::string::npos &&
                        colon + 1 < url.size() && url[colon + 1] != ':' &&
                        std::all_of(url.begin() + host_start, url.begin() + colon,
                                    [](char c) { return absl::ascii_isalnum(c) || c == '.' || c == '-'; });
  if (scheme == "https" || scheme == "ssh" || scheme == "git+ssh" || scp_like) return absl::OkStatus();
  if (scheme == "http" || scheme == "git") {
    if (wants_credentials) {
      return absl::InvalidArgumentError(absl::StrCat(
          "repo_url: credentials are only sent over https:// or ssh://, not ", scheme, "://"));
    }
    return absl::OkStatus();
  }
  const size_t transport = url.find("::");
  if ((!scheme.empty() && scheme != "file") || (transport != std::string::npos && transport < url.find('/'))) {
    return absl::InvalidArgumentError(absl::StrCat("repo_url: transport \"", ClipForMessage(scheme.empty() ? url.substr(0, transport) : scheme, 16),
                                                   "\" is not supported (https, ssh, http, git, file or a path)"));
  }
  if (wants_credentials) return absl::InvalidArgumentError("repo_url: a local repository takes no credentials");
  // A local repository: only from under the configured roots, judged by the
  // real path so that symlinks and ".." cannot leave them.
  const std::string path = scheme.empty() ? url : url.substr(scheme_end + 3);
  std::error_code error;
  const std::filesystem::path real = std::filesystem::canonical(path, error);
  if (error) {
    return absl::NotFoundError(absl::StrCat("repo_url: local repository ", ClipForMessage(path, 200),
                                            " does not exist or cannot be read: ", error.message()));
  }
  const auto under = [](const std::filesystem::path& child, const std::filesystem::path& parent) {
    auto p = parent.begin();
    auto c = child.begin();
    for (; p != parent.end(); ++p, ++c) {
      if (c == child.end() || *p != *c) return false;
    }
    return true;
  };
  const std::filesystem::path workspaces = std::filesystem::weakly_canonical(options_.root, error);
  if (!error && under(real, workspaces)) {
    return absl::PermissionDeniedError("repo_url: may not name a GitAdapter workspace");
  }
  for (const std::string& root : options_.local_roots) {
    const std::filesystem::path real_root = std::filesystem::canonical(root, error);
    if (!error && under(real, real_root)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "repo_url: ", ClipForMessage(real.string(), 200),
      " is not under a directory this GitAdapter clones local repositories from (--local_repo_roots)"));
}

absl::StatusOr<std::string> WorkspaceManager::Token(const v1::OpenWorkspaceRequest& request) const {
  if (!request.credentials_env().empty()) {
    if (options_.credentials_env_allowlist.count(request.credentials_env()) == 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("credentials_env: \"", ClipForMessage(request.credentials_env(), 64),
                       "\" is not one of the variables this GitAdapter allows (--credentials_env_allowlist)"));
    }
    const char* value = std::getenv(request.credentials_env().c_str());
    if (value == nullptr || *value == '\0') {
      return absl::FailedPreconditionError(
          absl::StrCat("credentials_env: environment variable ", request.credentials_env(), " is not set"));
    }
    return std::string(absl::StripAsciiWhitespace(value));
  }
  if (!request.credentials_file().empty()) {
    if (options_.credentials_dir.empty()) {
      return absl::FailedPreconditionError("credentials_file given but the service has no --credentials_dir");
    }
    if (const absl::Status status = CheckRepoPath(request.credentials_file()); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("credentials_file: ", status.message()));
    }
    absl::StatusOr<std::string> token =
        ReadFile(absl::StrCat(options_.credentials_dir, "/", request.credentials_file()));
    if (!token.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("credentials_file: ", token.status().message()));
    }
    return std::string(absl::StripAsciiWhitespace(*token));
  }
  return std::string();
}

absl::StatusOr<std::shared_ptr<Workspace>> WorkspaceManager::Load(const std::string& id) {
  const auto it = open_.find(id);
  if (it != open_.end()) return it->second;
  const std::string meta_path = absl::StrCat(WorkspaceDir(id), "/", kMetaFile);
  absl::StatusOr<std::string> text = ReadFile(meta_path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return absl::NotFoundError(absl::StrCat("workspace \"", id, "\" not found"));
    return text.status();
  }
  ASSIGN_OR_RETURN(WorkspaceInfo info, ParseInfo(meta_path, *text));
  auto workspace = std::make_shared<Workspace>();
  workspace->info = std::move(info);
  workspace->dir = absl::StrCat(WorkspaceDir(id), "/repo");
  ASSIGN_OR_RETURN(std::unique_ptr<Repository> repo, options_.open(workspace->dir));
  {
    absl::MutexLock lock(&workspace->mu);
    workspace->repo = std::move(repo);
  }
  open_[id] = workspace;
  return workspace;
}

absl::StatusOr<std::shared_ptr<Workspace>> WorkspaceManager::Get(const std::string& id) {
  RETURN_IF_ERROR(ValidateId(id, "workspace_id"));
  absl::MutexLock lock(&mu_);
  return Load(id);
}

absl::StatusOr<v1::OpenWorkspaceResponse> WorkspaceManager::Open(const v1::OpenWorkspaceRequest& request) {
  const std::string id = request.workspace_id().empty() ? request.run_id() : request.workspace_id();
  RETURN_IF_ERROR(ValidateId(id, request.workspace_id().empty() ? "run_id" : "workspace_id"));
  if (!request.run_id().empty()) RETURN_IF_ERROR(ValidateId(request.run_id(), "run_id"));

  absl::MutexLock lock(&mu_);
  const std::string dir = WorkspaceDir(id);
  std::error_code error;
  const std::string closed = absl::StrCat(dir, "/", kClosedFile);
  if (std::filesystem::exists(closed, error)) {
    std::filesystem::rename(closed, absl::StrCat(dir, "/", kMetaFile), error);
    if (error) return FsError(error, "reopen", dir);
  }
  absl::StatusOr<std::shared_ptr<Workspace>> existing = Load(id);
  if (existing.ok()) {
    Workspace& ws = **existing;
    if (!request.run_id().empty() && request.run_id() != ws.info.run_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("workspace \"", id, "\" belongs to run \"", ws.info.run_id, "\", not \"", request.run_id(), "\""));
    }
    if (!request.repo_url().empty() && request.repo_url() != ws.info.repo_url) {
      return absl::FailedPreconditionError(
          absl::StrCat("workspace \"", id, "\" was cloned from ", ws.info.repo_url, ", not ", ClipForMessage(request.repo_url(), 200)));
    }
    return Describe(ws, false);
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();
  if (request.repo_url().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("repo_url is required to create workspace \"", id, "\""));
  }
  if (request.run_id().empty()) return absl::InvalidArgumentError("run_id is required to create a workspace");
  RETURN_IF_ERROR(CheckSource(request));
  if (request.base_ref().size() > 256 || HasControlCharacters(request.base_ref())) {
    return absl::InvalidArgumentError("base_ref: must be at most 256 bytes without control characters");
  }
  ASSIGN_OR_RETURN(const std::string token, Token(request));

  // A directory without metadata is a creation that did not finish.
  std::filesystem::remove_all(dir, error);
  std::filesystem::create_directories(dir, error);
  // Private: checks get the tree bound in, and what one left behind until
  // the next reset is nobody else's to use on the host.
  if (!error) std::filesystem::permissions(dir, std::filesystem::perms::owner_all, error);
  if (error) return FsError(error, "create", dir);
  auto created = [&]() -> absl::StatusOr<std::shared_ptr<Workspace>> {
    auto workspace = std::make_shared<Workspace>();
    workspace->dir = absl::StrCat(dir, "/repo");
    ASSIGN_OR_RETURN(std::unique_ptr<Repository> repo, options_.clone(request.repo_url(), workspace->dir, token));
    const std::string base_ref = request.base_ref().empty() ? "HEAD" : request.base_ref();
    absl::StatusOr<std::string> base = repo->ResolveCommit(base_ref);
    if (!base.ok() && !request.base_ref().empty()) base = repo->ResolveCommit("origin/" + base_ref);
    if (!base.ok()) {
      return absl::NotFoundError(absl::StrCat("base_ref \"", base_ref, "\" not found in ", ClipForMessage(request.repo_url(), 200)));
    }
    WorkspaceInfo& info = workspace->info;
    info = {id, request.run_id(), "autopack/" + request.run_id(), *base, request.repo_url()};
    // The branch may already exist upstream from an earlier workspace: continue it.
    const absl::StatusOr<std::string> upstream = repo->ResolveCommit("origin/" + info.branch);
    RETURN_IF_ERROR(repo->CheckoutBranch(info.branch, upstream.ok() ? *upstream : *base));
    RETURN_IF_ERROR(WriteFileAtomically(absl::StrCat(dir, "/", kMetaFile), SerializeInfo(info)));
    absl::MutexLock ws_lock(&workspace->mu);
    workspace->repo = std::move(repo);
    return workspace;
  }();
  if (!created.ok()) {
    std::filesystem::remove_all(dir, error);
    return created.status();
  }
  open_[id] = *created;
  return Describe(**created, true);
}

absl::Status WorkspaceManager::Close(const std::string& id, bool delete_files) {
  RETURN_IF_ERROR(ValidateId(id, "workspace_id"));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> workspace, Load(id));
  open_.erase(id);
  absl::MutexLock ws_lock(&workspace->mu);  // waits for calls in flight
  workspace->repo.reset();
  const std::string dir = WorkspaceDir(id);
  std::error_code error;
  if (delete_files) {
    std::filesystem::remove_all(dir, error);
    if (error) return FsError(error, "delete", dir);
    return absl::OkStatus();
  }
  std::filesystem::rename(absl::StrCat(dir, "/", kMetaFile), absl::StrCat(dir, "/", kClosedFile), error);
  if (error) return FsError(error, "close", dir);
  return absl::OkStatus();
}

}  // namespace autopack::gitadapter
