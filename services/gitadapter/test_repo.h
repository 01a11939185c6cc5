// Test helpers: real repositories made with the git CLI, and the changes git
// itself produces on them, to compare GitAdapter's results with git's.
#ifndef AUTOPACK_SERVICES_GITADAPTER_TEST_REPO_H_
#define AUTOPACK_SERVICES_GITADAPTER_TEST_REPO_H_

#include <string>

#include "absl/status/statusor.h"

namespace autopack::gitadapter::testing {

// A fresh directory under $TEST_TMPDIR.
std::string NewTempDir(const std::string& name);

// Quotes `s` for /bin/sh.
std::string ShellQuote(const std::string& s);

// Runs `command` with /bin/sh -c in `dir`, with a fixed git identity; returns
// stdout. INTERNAL with the output when it exits non-zero.
absl::StatusOr<std::string> Sh(const std::string& dir, const std::string& command);

// Creates a repository in `dir` (branch main) with `files` text files in
// nested directories (some executable, one symlink) and `commits` commits of
// history after the first. Lines are mostly distinct, with the blank and
// brace lines real code has.
absl::Status MakeRepo(const std::string& dir, int files, int commits, unsigned seed);

// A change made with git in a scratch clone of `repo` at its HEAD.
struct GitChange {
  std::string diff;       // `git diff -M` output, modify/add/delete/rename/mode
  std::string tree_sha;   // the tree git produces for it
};

// Modifies files at several places, adds, deletes, renames (with and without
// edits) and chmods a file together with an edit, plus, if
// `pure_mode_change`, one without; then asks git for the diff and the tree.
absl::StatusOr<GitChange> MakeChange(const std::string& repo, unsigned seed, bool pure_mode_change);

// `diff` with every `diff --git` and `index` line removed.
std::string StripGitHeaders(const std::string& diff);

// `diff` with every hunk's old and new start lines moved by `shift` (not below
// 1; empty-range "-0,0" hunks of new files stay).
std::string ShiftHunks(const std::string& diff, int shift);

// Status, index, HEAD, refs, and every file's mode, size, content and (if
// `with_file_times`) mtime in the repo at `dir`: compared before and after an
// operation that must change nothing.
absl::StatusOr<std::string> StateFingerprint(const std::string& dir, bool with_file_times);

// `s` without surrounding whitespace, or its error as text.
std::string Trim(const absl::StatusOr<std::string>& s);

// Opens a TCP listener on 127.0.0.1 (a server a check must not reach);
// returns its port and sets `*fd`, or returns 0 on failure.
int ListenOnLoopback(int* fd);

// Running processes whose command line contains `marker`.
int CountProcesses(const std::string& marker);

}  // namespace autopack::gitadapter::testing

#endif  // AUTOPACK_SERVICES_GITADAPTER_TEST_REPO_H_
