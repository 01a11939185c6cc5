#include "services/gitadapter/gitadapter.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/metrics.h"
#include "services/common/status_macros.h"
#include "services/common/text.h"
#include "services/gitadapter/check_output.h"
#include "services/common/glob.h"
#include "services/common/patch/patch.h"
#include "services/gitadapter/path_safety.h"
#include "services/gitadapter/patch_plan.h"
#include "services/gitadapter/working_tree.h"

namespace autopack::gitadapter {
namespace {

constexpr size_t kMaxPatchBytes = 16 << 20;
constexpr int kMaxIdempotencySearch = 10000;

absl::StatusOr<std::string> BranchHead(Workspace& ws) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ws.mu) {
  ASSIGN_OR_RETURN(const std::optional<std::string> head, ws.repo->BranchHead(ws.info.branch));
  if (!head) return absl::DataLossError(absl::StrCat("branch ", ws.info.branch, " is missing from workspace ", ws.info.id));
  return *head;
}

// Checks out `target` on the branch once the working tree holds nothing but
// the directories and files of `current` (the commit it was checked out at):
// whatever a check left behind (untracked files, symlinks to anywhere, fifos,
// hardlinks) is gone first, so libgit2 never writes through a planted link.
absl::Status CleanCheckout(Workspace& ws, const std::string& current, const std::string& target)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(ws.mu) {
  ws.tree_matches_head = false;
  ASSIGN_OR_RETURN(const std::vector<TreeEntryInfo> files, ws.repo->ListFiles(current));
  RETURN_IF_ERROR(ScrubWorkingTree(ws.dir, files));
  RETURN_IF_ERROR(ws.repo->CheckoutBranch(ws.info.branch, target));
  ws.tree_matches_head = true;
  return absl::OkStatus();
}

// Moves the branch from `current` to `target`, which differ only in
// `changed`: when nothing but GitAdapter touched the tree since the last clean
// checkout, only those paths are written (the cost of the change, not of the
// repository); otherwise a CleanCheckout.
absl::Status CheckoutChange(Workspace& ws, const std::string& current, const std::string& target,
                            const std::vector<std::string>& changed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ws.mu) {
  // The paths are checked anyway: a link there would be followed by libgit2.
  if (!ws.tree_matches_head || !PathsAreSafeToWrite(ws.dir, changed)) return CleanCheckout(ws, current, target);
  ws.tree_matches_head = false;
  RETURN_IF_ERROR(ws.repo->CheckoutPaths(ws.info.branch, target, changed));
  ws.tree_matches_head = true;
  return absl::OkStatus();
}

std::string TrailerLine(const std::string& key) { return absl::StrCat(kIdempotencyTrailer, ": ", key); }

bool CarriesTrailer(const std::string& message, const std::string& line) {
  for (size_t at = message.find(line); at != std::string::npos; at = message.find(line, at + 1)) {
    const bool starts_line = at == 0 || message[at - 1] == '\n';
    const size_t end = at + line.size();
    if (starts_line && (end == message.size() || message[end] == '\n')) return true;
  }
  return false;
}

// The commit on the branch (first parents, back to the base) carrying `key`.
absl::StatusOr<std::optional<CommitInfo>> FindKeyedCommit(Workspace& ws, const std::string& head,
                                                          const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ws.mu) {
  const std::string line = TrailerLine(key);
  std::string sha = head;
  for (int i = 0; i < kMaxIdempotencySearch && sha != ws.info.base_sha; ++i) {
    ASSIGN_OR_RETURN(CommitInfo info, ws.repo->GetCommit(sha));
    if (CarriesTrailer(info.message, line)) return std::optional<CommitInfo>(std::move(info));
    if (info.parents.empty()) break;
    sha = info.parents[0];
  }
  return std::optional<CommitInfo>();
}

absl::StatusOr<absl::Duration> ToDuration(const google::protobuf::Duration& d, absl::Duration fallback) {
  if (d.seconds() < 0 || d.nanos() < 0) return absl::InvalidArgumentError("timeout must not be negative");
  const absl::Duration value = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  return value == absl::ZeroDuration() ? fallback : value;
}

// A ref, revision or tag name a caller sent: git allows no control
// characters in them, and none is longer than this.
absl::Status CheckRef(const std::string& value, absl::string_view field) {
  if (value.size() > 256 || HasControlCharacters(value)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", ClipForMessage(value, 64),
                                                   "\" is not a ref (at most 256 bytes, no control characters)"));
  }
  return absl::OkStatus();
}

// What a caller sizes in RunChecks, against the server's ceilings.
absl::Status ValidateChecksRequest(const v1::RunChecksRequest& request, const GitAdapterOptions& options) {
  if (request.command().empty()) return absl::InvalidArgumentError("command is required");
  if (request.command().size() > 4096) {
    return absl::InvalidArgumentError(absl::StrCat("command is ", request.command().size(), " bytes; at most 4096"));
  }
  if (HasControlCharacters(request.command())) {
    return absl::InvalidArgumentError("command must not contain NUL or other control characters");
  }
  if (request.max_output_bytes() < 0) return absl::InvalidArgumentError("max_output_bytes must not be negative");
  if (request.max_output_bytes() > options.check_output_ceiling) {
    return absl::InvalidArgumentError(absl::StrCat("max_output_bytes must be at most ", options.check_output_ceiling,
                                                   " (this server's --check_output_ceiling)"));
  }
  const google::protobuf::Duration& t = request.timeout();
  if (t.nanos() < 0 || t.nanos() >= 1000000000) return absl::InvalidArgumentError("timeout.nanos is out of range");
  if (t.seconds() > absl::ToInt64Seconds(options.check_timeout_ceiling)) {
    return absl::InvalidArgumentError(absl::StrCat("timeout must be at most ",
                                                   absl::FormatDuration(options.check_timeout_ceiling),
                                                   " (this server's --check_timeout_ceiling)"));
  }
  if (request.env_size() > 64) return absl::InvalidArgumentError("env has more than 64 variables");
  for (const auto& [key, value] : request.env()) {
    const bool plain = !key.empty() && key.size() <= 128 && !absl::ascii_isdigit(key[0]) &&
                       std::all_of(key.begin(), key.end(), [](char c) { return absl::ascii_isalnum(c) || c == '_'; });
    if (!plain) {
      return absl::InvalidArgumentError(
          absl::StrCat("env: \"", ClipForMessage(key, 64), "\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)"));
    }
    if (value.size() > 4096 || HasControlCharacters(value)) {
      return absl::InvalidArgumentError(absl::StrCat("env[", key, "]: must be at most 4096 bytes without control characters"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

GitAdapter::GitAdapter(GitAdapterOptions options, WorkspaceManager* workspaces, CheckRunner* checks)
    : options_(std::move(options)), workspaces_(workspaces), checks_(checks) {}

absl::StatusOr<v1::OpenWorkspaceResponse> GitAdapter::OpenWorkspace(const v1::OpenWorkspaceRequest& request) {
  return workspaces_->Open(request);
}

absl::StatusOr<v1::ReadFilesResponse> GitAdapter::ReadFiles(const v1::ReadFilesRequest& request) {
  if (request.max_file_bytes() < 0 || request.max_total_bytes() < 0) {
    return absl::InvalidArgumentError("max_file_bytes and max_total_bytes must not be negative");
  }
  // The server's caps are ceilings too: the answer is built in memory.
  if (request.max_file_bytes() > options_.max_file_bytes || request.max_total_bytes() > options_.max_total_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("max_file_bytes and max_total_bytes must be at most ",
                                                   options_.max_file_bytes, " and ", options_.max_total_bytes,
                                                   " (this server's --read_max_file_bytes, --read_max_total_bytes)"));
  }
  if (request.paths_size() > 10000 || request.globs_size() > 100) {
    return absl::InvalidArgumentError("paths: at most 10000 entries; globs: at most 100");
  }
  const int64_t file_cap = request.max_file_bytes() > 0 ? request.max_file_bytes() : options_.max_file_bytes;
  const int64_t total_cap = request.max_total_bytes() > 0 ? request.max_total_bytes() : options_.max_total_bytes;
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> ws, workspaces_->Get(request.workspace_id()));
  absl::MutexLock lock(&ws->mu);
  ASSIGN_OR_RETURN(const std::string head, BranchHead(*ws));
  ASSIGN_OR_RETURN(std::unique_ptr<TreeReader> tree, ws->repo->ReadTree(head));

  v1::ReadFilesResponse response;
  std::set<std::string> wanted;
  for (const std::string& path : request.paths()) {
    if (CheckRepoPath(path).ok()) {
      wanted.insert(path);
    } else {
      v1::SkippedFile* skipped = response.add_skipped();
      skipped->set_path(SanitizeUtf8(path));
      skipped->set_reason("outside");
    }
  }
  if (!request.globs().empty()) {
    const std::vector<std::string> globs(request.globs().begin(), request.globs().end());
    ASSIGN_OR_RETURN(const std::vector<TreeEntryInfo> files, ws->repo->ListFiles(head));
    for (const TreeEntryInfo& file : files) {
      if (GlobMatchAny(globs, file.path)) wanted.insert(file.path);
    }
  }
  int64_t total = 0;
  for (const std::string& path : wanted) {
    auto skip = [&](const char* reason) {
      v1::SkippedFile* skipped = response.add_skipped();
      skipped->set_path(SanitizeUtf8(path));
      skipped->set_reason(reason);
    };
    if (LooksLikeSecret(path)) {
      skip("secret");
      continue;
    }
    ASSIGN_OR_RETURN(const std::optional<uint32_t> mode, tree->EntryMode(path));
    if (!mode || *mode == kModeDirectory) {
      skip("not_found");
      continue;
    }
    if (*mode == kModeSymlink || *mode == kModeSubmodule) {
      skip("outside");
      continue;
    }
    ASSIGN_OR_RETURN(std::string content, tree->ReadFile(path));
    // Text in any encoding is content (a Latin-1 file is patched like any
    // other, fields are bytes); a NUL byte marks a binary file.
    if (content.find('\0') != std::string::npos) {
      skip("binary");
      continue;
    }
    const bool truncated = static_cast<int64_t>(content.size()) > file_cap;
    if (truncated) content = std::string(Utf8Prefix(content, static_cast<size_t>(file_cap)));
    if (total + static_cast<int64_t>(content.size()) > total_cap) {
      skip("total_cap");
      continue;
    }
    total += static_cast<int64_t>(content.size());
    v1::ContextFile* file = response.add_files();
    file->set_path(path);
    file->set_content(std::move(content));
    file->set_truncated(truncated);
  }
  return response;
}

absl::StatusOr<v1::ApplyPatchResponse> GitAdapter::ApplyPatch(const v1::ApplyPatchRequest& request) {
  if (request.patch().empty()) return absl::InvalidArgumentError("patch is empty");
  if (request.patch().size() > kMaxPatchBytes) return absl::InvalidArgumentError("patch is larger than 16 MiB");
  if (!request.dry_run() && request.commit_message().empty()) {
    return absl::InvalidArgumentError("commit_message is required unless dry_run is set");
  }
  if (absl::StrContains(request.idempotency_key(), "\n")) {
    return absl::InvalidArgumentError("idempotency_key must be a single line");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> ws, workspaces_->Get(request.workspace_id()));
  absl::MutexLock lock(&ws->mu);
  ASSIGN_OR_RETURN(const std::string head, BranchHead(*ws));

  v1::ApplyPatchResponse response;
  if (!request.idempotency_key().empty()) {
    ASSIGN_OR_RETURN(const std::optional<CommitInfo> done, FindKeyedCommit(*ws, head, request.idempotency_key()));
    if (done) {
      response.set_already_applied(true);
      response.set_commit_sha(done->sha);
      response.set_tree_sha(done->tree_sha);
      if (!done->parents.empty()) {
        ASSIGN_OR_RETURN(DiffResult diff, ws->repo->Diff(done->parents[0], done->sha));
        for (v1::FileChange& change : diff.files) *response.add_files() = std::move(change);
      }
      return response;
    }
  }
  if (!request.expected_head_sha().empty() && request.expected_head_sha() != head) {
    return absl::FailedPreconditionError(absl::StrCat("expected_head_sha ", request.expected_head_sha(), " but branch ",
                                                      ws->info.branch, " is at ", head));
  }

  ASSIGN_OR_RETURN(const patch::Patch patch, patch::ParsePatch(request.patch()));
  ASSIGN_OR_RETURN(std::unique_ptr<TreeReader> tree, ws->repo->ReadTree(head));
  const std::vector<std::string> allowed(request.allowed_paths().begin(), request.allowed_paths().end());
  const std::vector<std::string> protected_paths(request.protected_paths().begin(),
                                                 request.protected_paths().end());
  ASSIGN_OR_RETURN(PatchPlan plan, PlanPatch(patch, allowed, protected_paths, *tree));
  ASSIGN_OR_RETURN(const std::string tree_sha, ws->repo->WriteTree(head, plan.writes));
  for (v1::FileChange& change : plan.changes) *response.add_files() = std::move(change);
  for (v1::HunkPlacement& placement : plan.relocated) *response.add_relocated_hunks() = std::move(placement);
  response.set_tree_sha(tree_sha);
  if (request.dry_run()) return response;

  std::string message = request.commit_message();
  if (!request.idempotency_key().empty()) {
    if (!absl::EndsWith(message, "\n")) message += "\n";
    absl::StrAppend(&message, "\n", TrailerLine(request.idempotency_key()), "\n");
  }
  Identity author{request.author().name(), request.author().email()};
  if (author.name.empty() && author.email.empty()) author = options_.committer;
  ASSIGN_OR_RETURN(const std::string commit,
                   ws->repo->CreateCommit(tree_sha, head, message, author, options_.committer));
  std::vector<std::string> changed;
  for (const FileWrite& write : plan.writes) changed.push_back(write.path);
  if (absl::Status status = CheckoutChange(*ws, head, commit, changed); !status.ok()) {
    // Put the working tree back where the branch still is, without the files
    // the half-done checkout added.
    CleanCheckout(*ws, head, head).IgnoreError();
    return status;
  }
  response.set_commit_sha(commit);
  return response;
}

absl::StatusOr<v1::RollbackResponse> GitAdapter::Rollback(const v1::RollbackRequest& request) {
  if (request.commit_sha().empty()) return absl::InvalidArgumentError("commit_sha is required");
  RETURN_IF_ERROR(CheckRef(request.commit_sha(), "commit_sha"));
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> ws, workspaces_->Get(request.workspace_id()));
  absl::MutexLock lock(&ws->mu);
  ASSIGN_OR_RETURN(const std::string head, BranchHead(*ws));
  ASSIGN_OR_RETURN(const std::string target, ws->repo->ResolveCommit(request.commit_sha()));
  ASSIGN_OR_RETURN(const bool on_branch, ws->repo->IsAncestor(target, head));
  if (!on_branch) {
    return absl::FailedPreconditionError(absl::StrCat("commit_sha ", request.commit_sha(), " is not on branch ",
                                                      ws->info.branch, " (head ", head, ")"));
  }
  ASSIGN_OR_RETURN(const DiffResult undone, ws->repo->Diff(target, head));
  std::vector<std::string> changed;
  for (const v1::FileChange& change : undone.files) {
    changed.push_back(change.path());
    if (!change.old_path().empty() && change.old_path() != change.path()) changed.push_back(change.old_path());
  }
  RETURN_IF_ERROR(CheckoutChange(*ws, head, target, changed));
  v1::RollbackResponse response;
  response.set_head_sha(target);
  return response;
}

absl::StatusOr<v1::RunChecksResponse> GitAdapter::RunChecks(const v1::RunChecksRequest& request) {
  RETURN_IF_ERROR(ValidateChecksRequest(request, options_));
  ASSIGN_OR_RETURN(const absl::Duration timeout, ToDuration(request.timeout(), options_.check_timeout));
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> ws, workspaces_->Get(request.workspace_id()));
  absl::MutexLock lock(&ws->mu);
  ASSIGN_OR_RETURN(const std::string head, BranchHead(*ws));
  CheckSpec spec;
  spec.dir = ws->dir;
  spec.read_only_entries = {".git"};
  spec.command = request.command();
  spec.timeout = timeout;
  spec.max_output_bytes =
      request.max_output_bytes() > 0 ? request.max_output_bytes() : options_.check_max_output_bytes;
  spec.env.insert(request.env().begin(), request.env().end());
  ws->tree_matches_head = false;  // from here on the tree holds whatever the check left
  absl::StatusOr<v1::CheckResult> result = checks_->Run(spec);
  // The check may have left anything in the tree; the next call starts from
  // the commit, as if no check had run.
  if (absl::Status reset = CleanCheckout(*ws, head, head); !reset.ok()) {
    return absl::InternalError(absl::StrCat("resetting the working tree after the check: ", reset.message()));
  }
  if (!result.ok()) return result.status();
  static Histogram& durations = Metrics().GetHistogram(
      "autopack_check_duration_seconds", "Sandboxed check runs, by how they ended (passed or failed)",
      {"passed"});
  durations.Observe({result->passed() ? "true" : "false"},
                    absl::ToDoubleSeconds(absl::Seconds(result->duration().seconds()) +
                                          absl::Nanoseconds(result->duration().nanos())));
  v1::RunChecksResponse response;
  *response.mutable_result() = *std::move(result);
  return response;
}

absl::StatusOr<v1::GetDiffResponse> GitAdapter::GetDiff(const v1::GetDiffRequest& request) {
  RETURN_IF_ERROR(CheckRef(request.from_ref(), "from_ref"));
  RETURN_IF_ERROR(CheckRef(request.to_ref(), "to_ref"));
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> ws, workspaces_->Get(request.workspace_id()));
  absl::MutexLock lock(&ws->mu);
  ASSIGN_OR_RETURN(const std::string head, BranchHead(*ws));
  ASSIGN_OR_RETURN(const std::string from, request.from_ref().empty() ? absl::StatusOr<std::string>(ws->info.base_sha)
                                                                      : ws->repo->ResolveCommit(request.from_ref()));
  ASSIGN_OR_RETURN(const std::string to, request.to_ref().empty() ? absl::StatusOr<std::string>(head) : ws->repo->ResolveCommit(request.to_ref()));
  ASSIGN_OR_RETURN(DiffResult diff, ws->repo->Diff(from, to));
  v1::GetDiffResponse response;
  response.set_patch(diff.patch);
  for (v1::FileChange& change : diff.files) *response.add_files() = std::move(change);
  return response;
}

absl::StatusOr<v1::TagSnapshotResponse> GitAdapter::TagSnapshot(const v1::TagSnapshotRequest& request) {
  if (request.tag().empty()) return absl::InvalidArgumentError("tag is required");
  RETURN_IF_ERROR(CheckRef(request.tag(), "tag"));
  RETURN_IF_ERROR(CheckRef(request.ref(), "ref"));
  if (request.message().size() > 64 * 1024) return absl::InvalidArgumentError("message: at most 64 KiB");
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> ws, workspaces_->Get(request.workspace_id()));
  absl::MutexLock lock(&ws->mu);
  ASSIGN_OR_RETURN(const std::string head, BranchHead(*ws));
  ASSIGN_OR_RETURN(const std::string commit, request.ref().empty() ? absl::StatusOr<std::string>(head) : ws->repo->ResolveCommit(request.ref()));
  ASSIGN_OR_RETURN(const std::string ref_name,
                   ws->repo->CreateTag(request.tag(), commit, request.message(), options_.committer));
  v1::TagSnapshotResponse response;
  response.set_ref_name(ref_name);
  response.set_commit_sha(commit);
  return response;
}

absl::StatusOr<v1::CloseWorkspaceResponse> GitAdapter::CloseWorkspace(const v1::CloseWorkspaceRequest& request) {
  RETURN_IF_ERROR(workspaces_->Close(request.workspace_id(), request.delete_files()));
  return v1::CloseWorkspaceResponse();
}

}  // namespace autopack::gitadapter
