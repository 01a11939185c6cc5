#include "services/gitadapter/working_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"

namespace autopack::gitadapter {
namespace {

// A check can nest directories far deeper than any real project; each level
// holds one fd, so the walks stop instead of running out of them.
constexpr int kMaxDepth = 512;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

std::string Join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : absl::StrCat(prefix, "/", name);
}

absl::StatusOr<int> OpenDir(int parent, const std::string& name, const std::string& path) {
  const int fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", path);
  return fd;
}

struct Entry {
  std::string name;
  struct stat st;
};

// The entries of an open directory, read completely before any is changed.
absl::StatusOr<std::vector<Entry>> ListEntries(int dir_fd, const std::string& path) {
  const int copy = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return Errno("dup", path);
  DIR* stream = fdopendir(copy);
  if (stream == nullptr) {
    close(copy);
    return Errno("read directory", path);
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = readdir(stream)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int read_errno = errno;
  closedir(stream);
  if (read_errno != 0) {
    errno = read_errno;
    return Errno("read directory", path);
  }
  std::sort(names.begin(), names.end());
  std::vector<Entry> entries;
  for (std::string& name : names) {
    Entry& entry = entries.emplace_back();
    entry.name = std::move(name);
    if (fstatat(dir_fd, entry.name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Errno("stat", Join(path, entry.name));
    }
  }
  return entries;
}

absl::Status RemoveEntry(int parent, const Entry& entry, const std::string& path, int depth) {
  if (S_ISDIR(entry.st.st_mode)) {
    if (depth > kMaxDepth) return absl::InternalError(absl::StrCat(path, ": nested deeper than ", kMaxDepth));
    ASSIGN_OR_RETURN(const int raw, OpenDir(parent, entry.name, path));
    Fd dir(raw);
    ASSIGN_OR_RETURN(const std::vector<Entry> children, ListEntries(dir.get(), path));
    for (const Entry& child : children) {
      RETURN_IF_ERROR(RemoveEntry(dir.get(), child, Join(path, child.name), depth + 1));
    }
    if (unlinkat(parent, entry.name.c_str(), AT_REMOVEDIR) != 0) return Errno("remove directory", path);
    return absl::OkStatus();
  }
  if (unlinkat(parent, entry.name.c_str(), 0) != 0) return Errno("remove", path);
  return absl::OkStatus();
}

struct Tracked {
  std::set<std::string> dirs;                // every directory a tracked entry lies in, and submodules
  std::set<std::string> files;               // regular files
};

bool Keep(const Tracked& tracked, const std::string& path, const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return tracked.dirs.count(path) > 0;
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || (st.st_mode & (S_ISUID | S_ISGID | S_ISVTX)) != 0) return false;
  return tracked.files.count(path) > 0;
}

// A directory a check made writable for others (by mode or ACL, whose mask
// shows in the group bits) would let other host users plant entries.
absl::Status Normalize(int dir_fd, const struct stat& st, const std::string& path) {
  if ((st.st_mode & 07777) != 0755 && fchmod(dir_fd, 0755) != 0) return Errno("chmod", path);
  return absl::OkStatus();
}

absl::Status Scrub(int dir_fd, const std::string& prefix, const Tracked& tracked, int depth) {
  if (depth > kMaxDepth) return absl::InternalError(absl::StrCat(prefix, ": nested deeper than ", kMaxDepth));
  ASSIGN_OR_RETURN(const std::vector<Entry> entries, ListEntries(dir_fd, prefix));
  for (const Entry& entry : entries) {
    const std::string path = Join(prefix, entry.name);
    if (prefix.empty() && entry.name == ".git") {
      if (!S_ISDIR(entry.st.st_mode)) return absl::FailedPreconditionError("the workspace's .git is not a directory");
      continue;
    }
    if (!Keep(tracked, path, entry.st)) {
      RETURN_IF_ERROR(RemoveEntry(dir_fd, entry, path, depth + 1));
      continue;
    }
    if (S_ISDIR(entry.st.st_mode)) {
      ASSIGN_OR_RETURN(const int raw, OpenDir(dir_fd, entry.name, path));
      Fd child(raw);
      RETURN_IF_ERROR(Normalize(child.get(), entry.st, path));
      RETURN_IF_ERROR(Scrub(child.get(), path, tracked, depth + 1));
    } else if ((entry.st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
               fchmodat(dir_fd, entry.name.c_str(), entry.st.st_mode & 0755, 0) != 0) {
      return Errno("chmod", path);
    }
  }
  return absl::OkStatus();
}

absl::Status Chown(int dir_fd, const std::string& prefix, const std::set<std::string>& skip, uid_t uid, gid_t gid,
                   int depth) {
  if (depth > kMaxDepth) return absl::InternalError(absl::StrCat(prefix, ": nested deeper than ", kMaxDepth));
  ASSIGN_OR_RETURN(const std::vector<Entry> entries, ListEntries(dir_fd, prefix));
  for (const Entry& entry : entries) {
    if (prefix.empty() && skip.count(entry.name) > 0) continue;
    const std::string path = Join(prefix, entry.name);
    if (S_ISREG(entry.st.st_mode) && entry.st.st_nlink != 1) continue;
    if ((entry.st.st_uid != uid || entry.st.st_gid != gid) &&
        fchownat(dir_fd, entry.name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return Errno("chown", path);
    }
    if (S_ISDIR(entry.st.st_mode)) {
      ASSIGN_OR_RETURN(const int raw, OpenDir(dir_fd, entry.name, path));
      Fd child(raw);
      RETURN_IF_ERROR(Chown(child.get(), path, skip, uid, gid, depth + 1));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ScrubWorkingTree(const std::string& dir, const std::vector<TreeEntryInfo>& tracked) {
  Tracked index;
  for (const TreeEntryInfo& entry : tracked) {
    if (entry.mode == kModeSubmodule) index.dirs.insert(entry.path);
    if (entry.mode == kModeFile || entry.mode == kModeExecutable) index.files.insert(entry.path);
    for (size_t slash = entry.path.find('/'); slash != std::string::npos; slash = entry.path.find('/', slash + 1)) {
      index.dirs.insert(entry.path.substr(0, slash));
    }
  }
  const int raw = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return Errno("open working tree", dir);
  Fd root(raw);
  struct stat st;
  if (fstat(root.get(), &st) != 0) return Errno("stat", dir);
  RETURN_IF_ERROR(Normalize(root.get(), st, dir));
  return Scrub(root.get(), "", index, 0);
}

absl::Status ChownWorkingTree(const std::string& dir, const std::vector<std::string>& skip, uid_t uid, gid_t gid) {
  const int raw = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return Errno("open working tree", dir);
  Fd root(raw);
  if (fchown(root.get(), uid, gid) != 0) return Errno("chown", dir);
  return Chown(root.get(), "", std::set<std::string>(skip.begin(), skip.end()), uid, gid, 0);
}

bool PathsAreSafeToWrite(const std::string& dir, const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    std::string at = dir;
    size_t start = 0;
    while (true) {
      const size_t slash = path.find('/', start);
      at += "/" + path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      struct stat st;
      if (lstat(at.c_str(), &st) != 0) {
        if (errno == ENOENT) break;  // nothing there yet: the checkout creates it
        return false;
      }
      if (slash == std::string::npos) {
        if (!S_ISREG(st.st_mode) || st.st_nlink != 1) return false;
        break;
      }
      if (!S_ISDIR(st.st_mode)) return false;
      start = slash + 1;
    }
  }
  return true;
}

}  // namespace autopack::gitadapter
