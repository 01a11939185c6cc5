#include "services/gitadapter/test_repo.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <algorithm>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "services/common/files.h"
#include "services/common/status_macros.h"

namespace autopack::gitadapter::testing {
namespace {

std::string Body(std::mt19937& rng, const std::string& name, int lines) {
  std::string out;
  for (int i = 0; i < lines; ++i) {
    const unsigned r = rng() % 100;
    if (r < 8) {
      out += "\n";
    } else if (r < 14) {
      out += "}\n";
    } else {
      out += absl::StrCat("  ", name, " step ", i, " value ", rng() % 100000, ";\n");
    }
  }
  return out;
}

std::string PathFor(int i) { return absl::StrCat("src/pkg", i % 17, "/sub", i % 5, "/file", i, ".txt"); }

absl::Status WriteRepoFile(const std::string& repo, const std::string& path, const std::string& content) {
  RETURN_IF_ERROR(Sh(repo, absl::StrCat("mkdir -p \"$(dirname ", ShellQuote(path), ")\"")).status());
  return WriteFileAtomically(absl::StrCat(repo, "/", path), content);
}

}  // namespace

std::string NewTempDir(const std::string& name) {
  static int counter = 0;
  const char* root = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(root != nullptr ? root : "/tmp", "/", name, "_", ++counter);
  std::system(absl::StrCat("rm -rf ", ShellQuote(dir), " && mkdir -p ", ShellQuote(dir)).c_str());
  return dir;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

absl::StatusOr<std::string> Sh(const std::string& dir, const std::string& command) {
  const std::string full = absl::StrCat(
      "cd ", ShellQuote(dir),
      " && export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=Tester "
      "GIT_COMMITTER_EMAIL=t@example.com GIT_CONFIG_NOSYSTEM=1 HOME=",
      ShellQuote(dir), " && { ", command, " ; } 2>&1");
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string output;
  char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("`", command, "` failed in ", dir, ": ", output));
  }
  return output;
}

absl::Status MakeRepo(const std::string& dir, int files, int commits, unsigned seed) {
  std::mt19937 rng(seed);
  RETURN_IF_ERROR(Sh(dir, "git init -q -b main .").status());
  for (int i = 0; i < files; ++i) {
    RETURN_IF_ERROR(WriteRepoFile(dir, PathFor(i), Body(rng, absl::StrCat("f", i), 20 + rng() % 180)));
  }
  RETURN_IF_ERROR(WriteRepoFile(dir, "run.sh", "#!/bin/sh\necho run\n"));
  RETURN_IF_ERROR(WriteRepoFile(dir, "README.md", "# sample\n"));
  RETURN_IF_ERROR(Sh(dir, "chmod +x run.sh && ln -s src/pkg0 link_to_pkg0 && git add -A && "
                          "git commit -q -m initial").status());
  for (int c = 0; c < commits; ++c) {
    for (int k = 0; k < 10; ++k) {
      const int i = static_cast<int>(rng() % files);
      RETURN_IF_ERROR(WriteRepoFile(dir, PathFor(i), Body(rng, absl::StrCat("f", i, "c", c), 20 + rng() % 180)));
    }
    RETURN_IF_ERROR(Sh(dir, absl::StrCat("git add -A && git commit -q -m 'change ", c, "'")).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<GitChange> MakeChange(const std::string& repo, unsigned seed, bool pure_mode_change) {
  std::mt19937 rng(seed);
  const std::string scratch = NewTempDir("scratch");
  RETURN_IF_ERROR(Sh(scratch, absl::StrCat("git clone -q ", ShellQuote(repo), " w")).status());
  const std::string work = scratch + "/w";
  ASSIGN_OR_RETURN(const std::string listing, Sh(work, "git ls-files -s"));
  std::vector<std::string> files;
  for (absl::string_view line : absl::StrSplit(listing, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "100644")) continue;
    files.emplace_back(line.substr(line.find('\t') + 1));
  }
  std::shuffle(files.begin(), files.end(), rng);
  size_t next = 0;
  auto take = [&]() { return files[next++ % files.size()]; };
  // Edits at several places of a file: replace, insert and delete lines.
  auto edit = [&](const std::string& path) -> absl::Status {
    ASSIGN_OR_RETURN(const std::string content, ReadFile(work + "/" + path));
    std::vector<std::string> lines = absl::StrSplit(content, '\n');
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    for (int e = 0; e < 4 && lines.size() > 4; ++e) {
      const size_t at = rng() % lines.size();
      switch (rng() % 3) {
        case 0: lines[at] = absl::StrCat("  edited ", seed, " ", e, " ", rng() % 1000); break;
        case 1: lines.insert(lines.begin() + at, absl::StrCat("  inserted ", seed, " ", e)); break;
        default: lines.erase(lines.begin() + at);
      }
    }
    return WriteFileAtomically(work + "/" + path, absl::StrCat(absl::StrJoin(lines, "\n"), "\n"));
  };
  for (int i = 0; i < 25; ++i) RETURN_IF_ERROR(edit(take()));
  for (int i = 0; i < 5; ++i) {
    RETURN_IF_ERROR(WriteRepoFile(work, absl::StrCat("added/dir", i, "/new", seed, "_", i, ".txt"),
                                  Body(rng, absl::StrCat("new", i), 5 + rng() % 30)));
  }
  for (int i = 0; i < 5; ++i) RETURN_IF_ERROR(Sh(work, absl::StrCat("git rm -q ", ShellQuote(take()))).status());
  for (int i = 0; i < 4; ++i) {
    const std::string from = take();
    const std::string to = absl::StrCat("moved/", seed, "_", i, ".txt");
    RETURN_IF_ERROR(Sh(work, absl::StrCat("mkdir -p moved && git mv ", ShellQuote(from), " ", to)).status());
    if (i % 2 == 1) RETURN_IF_ERROR(edit(to));
  }
  // A mode change with an edit (its header-less form keeps the paths).
  if (pure_mode_change) RETURN_IF_ERROR(Sh(work, absl::StrCat("chmod +x ", ShellQuote(take()))).status());
  const std::string mode_and_edit = take();
  RETURN_IF_ERROR(edit(mode_and_edit));
  RETURN_IF_ERROR(Sh(work, absl::StrCat("chmod +x ", ShellQuote(mode_and_edit))).status());
  RETURN_IF_ERROR(Sh(work, "git add -A").status());
  GitChange change;
  ASSIGN_OR_RETURN(change.diff, Sh(work, "git diff --cached -M HEAD"));
  ASSIGN_OR_RETURN(std::string tree, Sh(work, "git write-tree"));
  change.tree_sha = std::string(absl::StripAsciiWhitespace(tree));
  return change;
}

std::string StripGitHeaders(const std::string& diff) {
  std::vector<std::string> kept;
  for (absl::string_view line : absl::StrSplit(diff, '\n')) {
    if (absl::StartsWith(line, "diff --git ") || absl::StartsWith(line, "index ")) continue;
    kept.emplace_back(line);
  }
  return absl::StrJoin(kept, "\n");
}

std::string ShiftHunks(const std::string& diff, int shift) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(diff, '\n')) {
    if (!absl::StartsWith(line, "@@ -")) {
      out.emplace_back(line);
      continue;
    }
    // "@@ -A[,B] +C[,D] @@ tail"
    const size_t end = line.find(" @@", 3);
    std::vector<std::string> ranges = absl::StrSplit(line.substr(3, end - 3), ' ');
    for (std::string& range : ranges) {
      const char sign = range[0];
      const std::vector<std::string> parts = absl::StrSplit(range.substr(1), ',');
      int start = 0;
      if (!absl::SimpleAtoi(parts[0], &start)) continue;
      if (start == 0) continue;
      start = std::max(1, start + shift);
      range = absl::StrCat(std::string(1, sign), start, parts.size() > 1 ? absl::StrCat(",", parts[1]) : "");
    }
    out.push_back(absl::StrCat("@@ ", absl::StrJoin(ranges, " "), line.substr(end)));
  }
  return absl::StrJoin(out, "\n");
}

absl::StatusOr<std::string> StateFingerprint(const std::string& dir, bool with_file_times) {
  return Sh(dir, absl::StrCat(
                     "git status --porcelain --untracked-files=all --ignored && git ls-files -s && "
                     "git rev-parse HEAD && git symbolic-ref HEAD && git for-each-ref && "
                     "find . -path ./.git -prune -o -type d -print | sort && "
                     "find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 stat -c '%n %a %s",
                     with_file_times ? " %Y" : "", "' && ",
                     "find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha1sum"));
}

std::string Trim(const absl::StatusOr<std::string>& s) {
  return s.ok() ? std::string(absl::StripAsciiWhitespace(*s)) : s.status().ToString();
}

int ListenOnLoopback(int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (*fd < 0 || bind(*fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || listen(*fd, 4) != 0 ||
      getsockname(*fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return 0;
  }
  return ntohs(address.sin_port);
}

int CountProcesses(const std::string& marker) {
  int count = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    absl::StatusOr<std::string> cmdline = ReadFile(absl::StrCat("/proc/", entry->d_name, "/cmdline"));
    if (!cmdline.ok()) continue;
    std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
    if (absl::StrContains(*cmdline, marker)) ++count;
  }
  closedir(proc);
  return count;
}

}  // namespace autopack::gitadapter::testing
