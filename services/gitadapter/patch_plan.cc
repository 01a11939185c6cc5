#include "services/gitadapter/patch_plan.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/status_macros.h"
#include "services/common/glob.h"
#include "services/common/patch/protected_paths.h"
#include "services/gitadapter/hunk_applier.h"
#include "services/gitadapter/path_safety.h"

namespace autopack::gitadapter {
namespace {

struct Rejection {
  std::string path;
  int hunk = 0;
  std::string reason;
};

std::string FormatMode(uint32_t mode) {
  std::string octal;
  for (; mode > 0; mode /= 8) octal.insert(octal.begin(), static_cast<char>('0' + mode % 8));
  return octal;
}

// The tree as the patch has changed it so far (files may appear more than once).
class Overlay {
 public:
  explicit Overlay(TreeReader& tree) : tree_(tree) {}

  absl::StatusOr<std::optional<uint32_t>> Mode(const std::string& path) {
    const auto it = state_.find(path);
    if (it != state_.end()) {
      if (it->second) return std::optional<uint32_t>(it->second->mode);
      return std::optional<uint32_t>();
    }
    const std::string below = path + "/";
    for (auto lower = state_.lower_bound(below); lower != state_.end() && lower->first.rfind(below, 0) == 0;
         ++lower) {
      if (lower->second) return std::optional<uint32_t>(kModeDirectory);
    }
    return tree_.EntryMode(path);
  }

  absl::StatusOr<std::string> Read(const std::string& path) {
    const auto it = state_.find(path);
    if (it != state_.end() && it->second) return it->second->content;
    return tree_.ReadFile(path);
  }

  void Set(const std::string& path, std::optional<FileContent> file) { state_[path] = std::move(file); }

  std::vector<FileWrite> Writes() const {
    std::vector<FileWrite> writes;
    for (const auto& [path, file] : state_) writes.push_back({path, file});
    return writes;
  }

 private:
  TreeReader& tree_;
  std::map<std::string, std::optional<FileContent>> state_;
};

// Empty when fine, else why `mode` may not appear in a patch.
std::string ModeProblem(uint32_t mode) {
  if (mode == kModeSymlink) return "symlink entries (mode 120000) are not allowed";
  if (mode == kModeSubmodule) return "submodule entries (mode 160000) are not allowed";
  if (mode == kModeFile || mode == kModeExecutable || mode == 0100664) return "";
  return absl::StrCat("unsupported file mode ", FormatMode(mode));
}

// Checks every directory above `path`: each must be a directory (or absent).
absl::StatusOr<std::string> ParentProblem(Overlay& overlay, const std::string& path) {
  for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string parent = path.substr(0, slash);
    ASSIGN_OR_RETURN(const std::optional<uint32_t> mode, overlay.Mode(parent));
    if (!mode || *mode == kModeDirectory) continue;
    if (*mode == kModeSymlink) return absl::StrCat("the path goes through the symlink `", parent, "`");
    if (*mode == kModeSubmodule) return absl::StrCat("the path is inside the submodule `", parent, "`");
    return absl::StrCat("`", parent, "` is a file, not a directory");
  }
  return std::string();
}

std::string ExistingEntryProblem(uint32_t mode) {
  if (mode == kModeDirectory) return "is a directory";
  if (mode == kModeSymlink) return "is a symlink in the repository; symlinks cannot be patched";
  if (mode == kModeSubmodule) return "is a submodule; submodules cannot be patched";
  return "";
}

class Planner {
 public:
  Planner(const std::vector<std::string>& allowed, const std::vector<std::string>& protected_paths,
          TreeReader& tree)
      : allowed_(allowed), protected_(protected_paths), overlay_(tree) {}

  absl::StatusOr<PatchPlan> Plan(const patch::Patch& patch) {
    for (const patch::FilePatch& file : patch.files) RETURN_IF_ERROR(PlanFile(file));
    if (!rejections_.empty()) {
      std::vector<std::string> parts;
      for (const Rejection& r : rejections_) {
        parts.push_back(r.hunk > 0 ? absl::StrCat(r.path, ": hunk ", r.hunk, ": ", r.reason)
                                   : absl::StrCat(r.path, ": ", r.reason));
      }
      return absl::InvalidArgumentError(absl::StrCat("patch rejected: ", absl::StrJoin(parts, "; ")));
    }
    plan_.writes = overlay_.Writes();
    return std::move(plan_);
  }

 private:
  void Reject(const std::string& path, int hunk, std::string reason) {
    rejections_.push_back({path, hunk, std::move(reason)});
  }

  // False (after recording why) when a path may not be written.
  bool PathAllowed(const std::string& shown, const std::string& path) {
    if (path.empty()) return true;
    if (const absl::Status status = CheckRepoPath(path); !status.ok()) {
      Reject(shown, 0, std::string(status.message()));
      return false;
    }
    if (!allowed_.empty() && !GlobMatchAny(allowed_, path)) {
      Reject(shown, 0, absl::StrCat("`", path, "` is outside the phase's allowed paths (",
                                    absl::StrJoin(allowed_, ", "), ")"));
      return false;
    }
    if (const std::optional<std::string> glob = patch::ProtectingGlob(protected_, path)) {
      Reject(shown, 0, absl::StrCat("`", path, "` is a protected path (matches ", *glob,
                                    "); protected files need a human"));
      return false;
    }
    return true;
  }

  absl::Status PlanFile(const patch::FilePatch& file) {
    const std::string& shown = file.display_path();
    const size_t before = rejections_.size();
    PathAllowed(shown, file.old_path);
    if (file.new_path != file.old_path) PathAllowed(shown, file.new_path);
    if (file.binary) Reject(shown, 0, "binary patches are not supported");
    if (file.copied) Reject(shown, 0, "copies are not supported; add the new file instead");
    for (const std::optional<uint32_t>& mode : {file.old_mode, file.new_mode}) {
      if (mode && !ModeProblem(*mode).empty()) Reject(shown, 0, ModeProblem(*mode));
    }
    if (rejections_.size() > before) return absl::OkStatus();

    for (const std::string* path : {&file.old_path, &file.new_path}) {
      if (path->empty()) continue;
      ASSIGN_OR_RETURN(const std::string problem, ParentProblem(overlay_, *path));
      if (!problem.empty()) {
        Reject(shown, 0, problem);
        return absl::OkStatus();
      }
    }

    std::string source;
    uint32_t mode = kModeFile;
    if (file.added) {
      ASSIGN_OR_RETURN(const std::optional<uint32_t> existing, overlay_.Mode(file.new_path));
      if (existing) {
        const std::string problem = ExistingEntryProblem(*existing);
        Reject(shown, 0, problem.empty() ? "the patch adds it but it already exists" : problem);
        return absl::OkStatus();
      }
    } else {
      ASSIGN_OR_RETURN(const std::optional<uint32_t> existing, overlay_.Mode(file.old_path));
      if (!existing) {
        Reject(shown, 0, absl::StrCat("`", file.old_path, "` does not exist in the workspace"));
        return absl::OkStatus();
      }
      if (const std::string problem = ExistingEntryProblem(*existing); !problem.empty()) {
        Reject(shown, 0, absl::StrCat("`", file.old_path, "` ", problem));
        return absl::OkStatus();
      }
      mode = *existing;
      ASSIGN_OR_RETURN(source, overlay_.Read(file.old_path));
      if (file.renamed()) {
        ASSIGN_OR_RETURN(const std::optional<uint32_t> target, overlay_.Mode(file.new_path));
        if (target) {
          Reject(shown, 0, absl::StrCat("cannot rename onto `", file.new_path, "`: it already exists"));
          return absl::OkStatus();
        }
      }
    }

    HunkApplyResult applied = ApplyHunks(source, file.hunks);
    for (HunkRejection& rejection : applied.rejections) {
      Reject(shown, rejection.hunk, std::move(rejection.reason));
    }
    if (!applied.rejections.empty()) return absl::OkStatus();
    if (file.deleted && !applied.content.empty()) {
      Reject(shown, 0, absl::StrCat("the patch deletes the file but does not remove all of it (",
                                    applied.content.size(), " bytes would remain)"));
      return absl::OkStatus();
    }
    for (const HunkOffset& offset : applied.relocated) {
      v1::HunkPlacement& placement = plan_.relocated.emplace_back();
      placement.set_path(shown);
      placement.set_hunk(offset.hunk);
      placement.set_offset(offset.offset);
    }

    if (file.new_mode) mode = *file.new_mode;
    if (mode == 0100664) mode = kModeFile;
    v1::FileChange& change = plan_.changes.emplace_back();
    change.set_path(shown);
    if (file.deleted) {
      change.set_kind(v1::FileChange::KIND_DELETED);
      overlay_.Set(file.old_path, std::nullopt);
      return absl::OkStatus();
    }
    if (file.added) {
      change.set_kind(v1::FileChange::KIND_ADDED);
    } else if (file.renamed()) {
      change.set_kind(v1::FileChange::KIND_RENAMED);
      change.set_old_path(file.old_path);
      overlay_.Set(file.old_path, std::nullopt);
    } else if (file.hunks.empty()) {
      change.set_kind(v1::FileChange::KIND_MODE_CHANGED);
    } else {
      change.set_kind(v1::FileChange::KIND_MODIFIED);
    }
    overlay_.Set(file.new_path, FileContent{mode, std::move(applied.content)});
    return absl::OkStatus();
  }

  const std::vector<std::string>& allowed_;
  const std::vector<std::string>& protected_;
  Overlay overlay_;
  PatchPlan plan_;
  std::vector<Rejection> rejections_;
};

}  // namespace

absl::StatusOr<PatchPlan> PlanPatch(const patch::Patch& patch, const std::vector<std::string>& allowed_paths,
                                    const std::vector<std::string>& protected_paths, TreeReader& tree) {
  return Planner(allowed_paths, protected_paths, tree).Plan(patch);
}

}  // namespace autopack::gitadapter
