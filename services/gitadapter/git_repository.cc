#include "services/gitadapter/git_repository.h"

#include <fcntl.h>
#include <git2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"

namespace autopack::gitadapter {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

using ObjectPtr = Owned<git_object, git_object_free>;
using CommitPtr = Owned<git_commit, git_commit_free>;
using TreePtr = Owned<git_tree, git_tree_free>;
using TreeEntryPtr = Owned<git_tree_entry, git_tree_entry_free>;
using BlobPtr = Owned<git_blob, git_blob_free>;
using IndexPtr = Owned<git_index, git_index_free>;
using ReferencePtr = Owned<git_reference, git_reference_free>;
using SignaturePtr = Owned<git_signature, git_signature_free>;
using DiffPtr = Owned<git_diff, git_diff_free>;

void InitLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    // git's safe.directory check keeps a user from running commands that
    // another user's repository config names (core.fsmonitor, hooks);
    // libgit2 runs none of those. Local sources are limited to the
    // operator's --local_repo_roots and are typically a volume owned by
    // another uid than GitAdapter's (a container's), which the check would
    // refuse to clone.
    git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
  });
}

// Converts a libgit2 return code; the message names what was being done.
absl::Status GitError(int code, absl::string_view what) {
  const git_error* error = git_error_last();
  const std::string message =
      absl::StrCat(what, ": ", error != nullptr && error->message != nullptr ? error->message : "libgit2 error");
  const bool network = error != nullptr && (error->klass == GIT_ERROR_NET || error->klass == GIT_ERROR_SSL ||
                                            error->klass == GIT_ERROR_HTTP || error->klass == GIT_ERROR_SSH);
  switch (code) {
    case GIT_ENOTFOUND: return absl::NotFoundError(message);
    case GIT_EEXISTS: return absl::AlreadyExistsError(message);
    case GIT_EINVALIDSPEC: case GIT_EAMBIGUOUS: return absl::InvalidArgumentError(message);
    case GIT_EAUTH: case GIT_ECERTIFICATE: return absl::PermissionDeniedError(message);
    default: break;
  }
  if (network) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

#define GIT_CALL(expr, what)                                \
  do {                                                      \
    const int _git_code = (expr);                           \
    if (_git_code < 0) return GitError(_git_code, (what));  \
  } while (false)

std::string ToHex(const git_oid* oid) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof(hex), oid);
  return hex;
}

absl::StatusOr<git_oid> ParseOid(const std::string& sha) {
  git_oid oid;
  if (sha.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, sha.c_str()) < 0) {
    return absl::InvalidArgumentError(absl::StrCat("not a full commit sha: \"", sha, "\""));
  }
  return oid;
}

absl::StatusOr<CommitPtr> LookupCommit(git_repository* repo, const std::string& sha) {
  ASSIGN_OR_RETURN(const git_oid oid, ParseOid(sha));
  git_commit* commit = nullptr;
  GIT_CALL(git_commit_lookup(&commit, repo, &oid), absl::StrCat("commit ", sha));
  return CommitPtr(commit);
}

absl::StatusOr<TreePtr> CommitTree(git_repository* repo, const std::string& sha) {
  ASSIGN_OR_RETURN(CommitPtr commit, LookupCommit(repo, sha));
  git_tree* tree = nullptr;
  GIT_CALL(git_commit_tree(&tree, commit.get()), absl::StrCat("tree of ", sha));
  return TreePtr(tree);
}

absl::StatusOr<SignaturePtr> MakeSignature(const Identity& who, absl::string_view role) {
  git_signature* signature = nullptr;
  const int code = git_signature_now(&signature, who.name.c_str(), who.email.c_str());
  if (code < 0) {
    return absl::InvalidArgumentError(absl::StrCat(role, " \"", who.name, " <", who.email,
                                                   ">\" is not a usable git identity"));
  }
  return SignaturePtr(signature);
}

class GitTree : public TreeReader {
 public:
  GitTree(git_repository* repo, TreePtr tree) : repo_(repo), tree_(std::move(tree)) {}

  absl::StatusOr<std::optional<uint32_t>> EntryMode(const std::string& path) override {
    git_tree_entry* entry = nullptr;
    const int code = git_tree_entry_bypath(&entry, tree_.get(), path.c_str());
    if (code == GIT_ENOTFOUND) return std::optional<uint32_t>();
    GIT_CALL(code, absl::StrCat("tree entry ", path));
    TreeEntryPtr owned(entry);
    return std::optional<uint32_t>(static_cast<uint32_t>(git_tree_entry_filemode(entry)));
  }

  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    git_tree_entry* entry = nullptr;
    GIT_CALL(git_tree_entry_bypath(&entry, tree_.get(), path.c_str()), absl::StrCat("file ", path));
    TreeEntryPtr owned(entry);
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
      return absl::FailedPreconditionError(absl::StrCat(path, " is not a file"));
    }
    git_blob* blob = nullptr;
    GIT_CALL(git_blob_lookup(&blob, repo_, git_tree_entry_id(entry)), absl::StrCat("blob of ", path));
    BlobPtr owned_blob(blob);
    return std::string(static_cast<const char*>(git_blob_rawcontent(blob)),
                       static_cast<size_t>(git_blob_rawsize(blob)));
  }

 private:
  git_repository* repo_;
  TreePtr tree_;
};

struct CredentialPayload {
  const std::string* token;
  int attempts = 0;
};

int AnswerCredentials(git_credential** out, const char*, const char*, unsigned int allowed, void* payload) {
  auto* credentials = static_cast<CredentialPayload*>(payload);
  // libgit2 asks again after a refusal; a second answer would loop forever.
  if (credentials->token->empty() || credentials->attempts++ > 0 ||
      (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) == 0) {
    git_error_set_str(GIT_ERROR_NET, "authentication required or refused");
    return GIT_EAUTH;
  }
  return git_credential_userpass_plaintext_new(out, "x-access-token", credentials->token->c_str());
}

}  // namespace

absl::StatusOr<std::unique_ptr<GitRepository>> GitRepository::Open(const std::string& path) {
  InitLibgit2();
  git_repository* repo = nullptr;
  GIT_CALL(git_repository_open_ext(&repo, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr),
           absl::StrCat("open repository ", path));
  return std::unique_ptr<GitRepository>(new GitRepository(repo));
}

absl::StatusOr<std::unique_ptr<GitRepository>> GitRepository::Clone(const std::string& url, const std::string& path,
                                                                    const std::string& token) {
  InitLibgit2();
  CredentialPayload payload{&token};
  git_clone_options options;
  git_clone_options_init(&options, GIT_CLONE_OPTIONS_VERSION);
  options.fetch_opts.callbacks.credentials = AnswerCredentials;
  options.fetch_opts.callbacks.payload = &payload;
  git_repository* repo = nullptr;
  const int code = git_clone(&repo, url.c_str(), path.c_str(), &options);
  if (code < 0) {
    absl::Status status = GitError(code, absl::StrCat("clone ", url));
    if (status.code() == absl::StatusCode::kInternal && payload.attempts > 0) {
      status = absl::PermissionDeniedError(status.message());
    }
    return status;
  }
  return std::unique_ptr<GitRepository>(new GitRepository(repo));
}

GitRepository::~GitRepository() { git_repository_free(repo_); }

absl::StatusOr<std::string> GitRepository::ResolveCommit(const std::string& revision) {
  git_object* object = nullptr;
  GIT_CALL(git_revparse_single(&object, repo_, revision.c_str()), absl::StrCat("revision \"", revision, "\""));
  ObjectPtr owned(object);
  git_object* commit = nullptr;
  GIT_CALL(git_object_peel(&commit, object, GIT_OBJECT_COMMIT),
           absl::StrCat("revision \"", revision, "\" is not a commit"));
  ObjectPtr owned_commit(commit);
  return ToHex(git_object_id(commit));
}

absl::StatusOr<std::optional<std::string>> GitRepository::BranchHead(const std::string& branch) {
  git_reference* ref = nullptr;
  const int code = git_branch_lookup(&ref, repo_, branch.c_str(), GIT_BRANCH_LOCAL);
  if (code == GIT_ENOTFOUND) return std::optional<std::string>();
  GIT_CALL(code, absl::StrCat("branch ", branch));
  ReferencePtr owned(ref);
  const git_oid* target = git_reference_target(ref);
  if (target == nullptr) return absl::InternalError(absl::StrCat("branch ", branch, " is symbolic"));
  return std::optional<std::string>(ToHex(target));
}

absl::StatusOr<CommitInfo> GitRepository::GetCommit(const std::string& sha) {
  ASSIGN_OR_RETURN(CommitPtr commit, LookupCommit(repo_, sha));
  CommitInfo info;
  info.sha = ToHex(git_commit_id(commit.get()));
  info.tree_sha = ToHex(git_commit_tree_id(commit.get()));
  const char* message = git_commit_message_raw(commit.get());
  info.message = message != nullptr ? message : "";
  for (unsigned int i = 0; i < git_commit_parentcount(commit.get()); ++i) {
    info.parents.push_back(ToHex(git_commit_parent_id(commit.get(), i)));
  }
  return info;
}

absl::StatusOr<std::unique_ptr<TreeReader>> GitRepository::ReadTree(const std::string& commit_sha) {
  ASSIGN_OR_RETURN(TreePtr tree, CommitTree(repo_, commit_sha));
  return std::unique_ptr<TreeReader>(new GitTree(repo_, std::move(tree)));
}

absl::StatusOr<std::vector<TreeEntryInfo>> GitRepository::ListFiles(const std::string& commit_sha) {
  ASSIGN_OR_RETURN(TreePtr tree, CommitTree(repo_, commit_sha));
  std::vector<TreeEntryInfo> files;
  auto visit = [](const char* root, const git_tree_entry* entry, void* payload) -> int {
    if (git_tree_entry_type(entry) == GIT_OBJECT_TREE) return 0;
    static_cast<std::vector<TreeEntryInfo>*>(payload)->push_back(
        {absl::StrCat(root, git_tree_entry_name(entry)), static_cast<uint32_t>(git_tree_entry_filemode(entry))});
    return 0;
  };
  GIT_CALL(git_tree_walk(tree.get(), GIT_TREEWALK_PRE, visit, &files), "walk tree");
  return files;
}

absl::StatusOr<std::string> GitRepository::WriteTree(const std::string& base_commit,
                                                     const std::vector<FileWrite>& writes) {
  ASSIGN_OR_RETURN(TreePtr base, CommitTree(repo_, base_commit));
  std::vector<git_tree_update> updates;
  for (const FileWrite& write : writes) {
    git_tree_update update{};
    update.path = write.path.c_str();
    if (!write.file) {
      update.action = GIT_TREE_UPDATE_REMOVE;
    } else {
      update.action = GIT_TREE_UPDATE_UPSERT;
      update.filemode = static_cast<git_filemode_t>(write.file->mode);
      GIT_CALL(git_blob_create_from_buffer(&update.id, repo_, write.file->content.data(), write.file->content.size()),
               absl::StrCat("store ", write.path));
    }
    updates.push_back(update);
  }
  // Rewrites only the trees on the changed paths. It cannot turn a file into
  // a directory or back; for that, the whole tree goes through an index.
  git_oid tree;
  if (git_tree_create_updated(&tree, repo_, base.get(), updates.size(), updates.data()) == 0) return ToHex(&tree);
  git_index* raw_index = nullptr;
  GIT_CALL(git_index_new(&raw_index), "in-memory index");
  IndexPtr index(raw_index);
  GIT_CALL(git_index_read_tree(index.get(), base.get()), "read base tree");
  for (const git_tree_update& update : updates) {
    if (update.action == GIT_TREE_UPDATE_REMOVE) {
      const int code = git_index_remove(index.get(), update.path, 0);
      if (code < 0 && code != GIT_ENOTFOUND) return GitError(code, absl::StrCat("remove ", update.path));
      continue;
    }
    git_index_entry entry{};
    entry.id = update.id;
    entry.mode = update.filemode;
    entry.path = update.path;
    GIT_CALL(git_index_add(index.get(), &entry), absl::StrCat("stage ", update.path));
  }
  GIT_CALL(git_index_write_tree_to(&tree, index.get(), repo_), "write tree");
  return ToHex(&tree);
}

absl::StatusOr<std::string> GitRepository::CreateCommit(const std::string& tree_sha, const std::string& parent_sha,
                                                        const std::string& message, const Identity& author,
                                                        const Identity& committer) {
  ASSIGN_OR_RETURN(SignaturePtr author_sig, MakeSignature(author, "author"));
  ASSIGN_OR_RETURN(SignaturePtr committer_sig, MakeSignature(committer, "committer"));
  ASSIGN_OR_RETURN(const git_oid tree_oid, ParseOid(tree_sha));
  git_tree* tree = nullptr;
  GIT_CALL(git_tree_lookup(&tree, repo_, &tree_oid), absl::StrCat("tree ", tree_sha));
  TreePtr owned_tree(tree);
  ASSIGN_OR_RETURN(CommitPtr parent, LookupCommit(repo_, parent_sha));
  const git_commit* parents[] = {parent.get()};
  git_oid commit;
  GIT_CALL(git_commit_create(&commit, repo_, nullptr, author_sig.get(), committer_sig.get(), nullptr,
                             message.c_str(), tree, 1, parents),
           "create commit");
  return ToHex(&commit);
}

absl::Status GitRepository::CheckoutBranch(const std::string& branch, const std::string& commit_sha) {
  return Checkout(branch, commit_sha, nullptr);
}

absl::Status GitRepository::CheckoutPaths(const std::string& branch, const std::string& commit_sha,
                                          const std::vector<std::string>& paths) {
  ASSIGN_OR_RETURN(CommitPtr commit, LookupCommit(repo_, commit_sha));
  git_tree* raw_tree = nullptr;
  GIT_CALL(git_commit_tree(&raw_tree, commit.get()), absl::StrCat("tree of ", commit_sha));
  TreePtr tree(raw_tree);
  // Files with attributes that change their bytes on checkout (eol, text,
  // filters) go through libgit2's checkout, which applies them.
  for (const std::string& path : paths) {
    for (const char* attribute : {"text", "eol", "crlf", "filter", "ident"}) {
      const char* value = nullptr;
      GIT_CALL(git_attr_get(&value, repo_, GIT_ATTR_CHECK_NO_SYSTEM, path.c_str(), attribute),
               absl::StrCat("attributes of ", path));
      if (GIT_ATTR_IS_UNSPECIFIED(value) == 0) return Checkout(branch, commit_sha, &paths);
    }
  }
  git_index* raw_index = nullptr;
  GIT_CALL(git_repository_index(&raw_index, repo_), "open the index");
  IndexPtr index(raw_index);
  const std::string workdir = git_repository_workdir(repo_);
  for (const std::string& path : paths) {
    const std::string file = workdir + path;
    git_tree_entry* raw_entry = nullptr;
    const int found = git_tree_entry_bypath(&raw_entry, tree.get(), path.c_str());
    if (found == GIT_ENOTFOUND) {
      if (unlink(file.c_str()) != 0 && errno != ENOENT) {
        return absl::InternalError(absl::StrCat("remove ", path, ": ", std::strerror(errno)));
      }
      // Like git, leave no directory the removal emptied.
      for (size_t slash = path.rfind('/'); slash != std::string::npos; slash = path.rfind('/', slash - 1)) {
        if (rmdir((workdir + path.substr(0, slash)).c_str()) != 0 || slash == 0) break;
      }
      const int removed = git_index_remove_bypath(index.get(), path.c_str());
      if (removed < 0 && removed != GIT_ENOTFOUND) return GitError(removed, absl::StrCat("unstage ", path));
      continue;
    }
    GIT_CALL(found, absl::StrCat("look up ", path));
    TreeEntryPtr entry(raw_entry);
    const git_filemode_t mode = git_tree_entry_filemode(entry.get());
    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) return Checkout(branch, commit_sha, &paths);
    git_blob* raw_blob = nullptr;
    GIT_CALL(git_blob_lookup(&raw_blob, repo_, git_tree_entry_id(entry.get())), absl::StrCat("blob of ", path));
    BlobPtr blob(raw_blob);
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      if (mkdir((workdir + path.substr(0, slash)).c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::InternalError(absl::StrCat("create the directory of ", path, ": ", std::strerror(errno)));
      }
    }
    const mode_t file_mode = mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
    const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, file_mode);
    if (fd < 0) return absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(errno)));
    const char* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
    size_t left = static_cast<size_t>(git_blob_rawsize(blob.get()));
    while (left > 0) {
      const ssize_t n = write(fd, data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = errno;
        close(fd);
        return absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(error)));
      }
      data += n;
      left -= static_cast<size_t>(n);
    }
    const bool chmod_ok = fchmod(fd, file_mode) == 0;
    if (close(fd) != 0 || !chmod_ok) return absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(errno)));
    GIT_CALL(git_index_add_bypath(index.get(), path.c_str()), absl::StrCat("stage ", path));
  }
  GIT_CALL(git_index_write(index.get()), "write the index");
  return MoveBranch(branch, commit.get());
}

absl::Status GitRepository::Checkout(const std::string& branch, const std::string& commit_sha,
                                     const std::vector<std::string>* paths) {
  ASSIGN_OR_RETURN(CommitPtr commit, LookupCommit(repo_, commit_sha));
  git_checkout_options options;
  git_checkout_options_init(&options, GIT_CHECKOUT_OPTIONS_VERSION);
  options.checkout_strategy = GIT_CHECKOUT_FORCE;
  std::vector<char*> path_pointers;
  if (paths != nullptr) {
    for (const std::string& path : *paths) path_pointers.push_back(const_cast<char*>(path.c_str()));
    // Exact paths, not patterns.
    options.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
    options.paths.strings = path_pointers.data();
    options.paths.count = path_pointers.size();
  }
  // The baseline is the current HEAD tree, so files it tracks that the target
  // lacks are removed; HEAD moves only after the working tree matches.
  GIT_CALL(git_checkout_tree(repo_, reinterpret_cast<const git_object*>(commit.get()), &options),
           absl::StrCat("check out ", commit_sha));
  return MoveBranch(branch, commit.get());
}

absl::Status GitRepository::MoveBranch(const std::string& branch, const git_commit* commit) {
  const std::string ref_name = absl::StrCat("refs/heads/", branch);
  const std::string commit_sha = ToHex(git_commit_id(commit));
  git_reference* ref = nullptr;
  GIT_CALL(git_reference_create(&ref, repo_, ref_name.c_str(), git_commit_id(commit), 1,
                                absl::StrCat("autopack: ", branch, " at ", commit_sha).c_str()),
           absl::StrCat("move ", ref_name));
  ReferencePtr owned(ref);
  GIT_CALL(git_repository_set_head(repo_, ref_name.c_str()), absl::StrCat("set HEAD to ", ref_name));
  return absl::OkStatus();
}

absl::StatusOr<bool> GitRepository::IsAncestor(const std::string& ancestor, const std::string& descendant) {
  ASSIGN_OR_RETURN(const git_oid a, ParseOid(ancestor));
  ASSIGN_OR_RETURN(const git_oid d, ParseOid(descendant));
  if (git_oid_equal(&a, &d)) return true;
  const int result = git_graph_descendant_of(repo_, &d, &a);
  GIT_CALL(result, absl::StrCat("ancestry of ", ancestor));
  return result == 1;
}

absl::StatusOr<DiffResult> GitRepository::Diff(const std::string& from_sha, const std::string& to_sha) {
  ASSIGN_OR_RETURN(TreePtr from, CommitTree(repo_, from_sha));
  ASSIGN_OR_RETURN(TreePtr to, CommitTree(repo_, to_sha));
  git_diff* raw_diff = nullptr;
  GIT_CALL(git_diff_tree_to_tree(&raw_diff, repo_, from.get(), to.get(), nullptr), "diff trees");
  DiffPtr diff(raw_diff);
  git_diff_find_options find;
  git_diff_find_options_init(&find, GIT_DIFF_FIND_OPTIONS_VERSION);
  find.flags = GIT_DIFF_FIND_RENAMES;
  GIT_CALL(git_diff_find_similar(diff.get(), &find), "detect renames");
  git_buf buf = GIT_BUF_INIT;
  GIT_CALL(git_diff_to_buf(&buf, diff.get(), GIT_DIFF_FORMAT_PATCH), "format diff");
  DiffResult result;
  result.patch.assign(buf.ptr, buf.size);
  git_buf_dispose(&buf);
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
    v1::FileChange& change = result.files.emplace_back();
    change.set_path(delta->status == GIT_DELTA_DELETED ? delta->old_file.path : delta->new_file.path);
    switch (delta->status) {
      case GIT_DELTA_ADDED: change.set_kind(v1::FileChange::KIND_ADDED); break;
      case GIT_DELTA_DELETED: change.set_kind(v1::FileChange::KIND_DELETED); break;
      case GIT_DELTA_RENAMED:
        change.set_kind(v1::FileChange::KIND_RENAMED);
        change.set_old_path(delta->old_file.path);
        break;
      default:
        change.set_kind(git_oid_equal(&delta->old_file.id, &delta->new_file.id) &&
                                delta->old_file.mode != delta->new_file.mode
                            ? v1::FileChange::KIND_MODE_CHANGED
                            : v1::FileChange::KIND_MODIFIED);
    }
  }
  return result;
}

absl::StatusOr<std::string> GitRepository::CreateTag(const std::string& name, const std::string& commit_sha,
                                                     const std::string& message, const Identity& tagger) {
  const std::string ref_name = absl::StrCat("refs/tags/", name);
  int valid = 0;
  if (git_reference_name_is_valid(&valid, ref_name.c_str()) < 0 || !valid) {
    return absl::InvalidArgumentError(absl::StrCat("tag \"", name, "\" is not a valid git ref name"));
  }
  ASSIGN_OR_RETURN(CommitPtr commit, LookupCommit(repo_, commit_sha));
  const git_object* target = reinterpret_cast<const git_object*>(commit.get());
  git_oid oid;
  int code = 0;
  if (message.empty()) {
    code = git_tag_create_lightweight(&oid, repo_, name.c_str(), target, 0);
  } else {
    ASSIGN_OR_RETURN(SignaturePtr signature, MakeSignature(tagger, "tagger"));
    code = git_tag_create(&oid, repo_, name.c_str(), target, signature.get(), message.c_str(), 0);
  }
  if (code == GIT_EEXISTS) {
    ASSIGN_OR_RETURN(const std::string existing, ResolveCommit(ref_name));
    if (existing == commit_sha) return ref_name;
    return absl::AlreadyExistsError(
        absl::StrCat("tag \"", name, "\" already exists at ", existing, ", not at ", commit_sha));
  }
  GIT_CALL(code, absl::StrCat("create tag ", name));
  return ref_name;
}

}  // namespace autopack::gitadapter
