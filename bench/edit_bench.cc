// The edit-format benchmark of issue 10: real edits (bench/edit_corpus, made
// from Debian packages' patches) written in each edit format with the
// defects models make, resolved by the Builder (ResolveAnswer) and applied by
// GitAdapter's hunk applier; unified-diff cases also through `git apply` and
// GNU `patch` on the same files. Each outcome is "applied correctly" (the
// tree the real patch gives), "rejected" or "wrong tree". A case expecting a
// rejection (an ambiguous edit) counts as correct only when rejected.
//
// Usage: edit_bench CORPUS_DIR   (prints the Markdown table)
#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/builder/edit_formats.h"
#include "services/common/files.h"
#include "services/common/patch/patch.h"
#include "services/gitadapter/hunk_applier.h"

namespace autopack {
namespace {

// kGuessed: an edit with two readings applied at one of them, which happened
// to be the intended one; counted as a wrong tree (nothing in the edit said
// which), and shown apart.
enum Outcome { kCorrect, kRejected, kWrong, kGuessed };

struct Tally {
  int correct = 0, rejected = 0, wrong = 0, guessed = 0;
  void Add(Outcome o) {
    if (o == kGuessed) ++guessed;
    (o == kCorrect ? correct : o == kRejected ? rejected : wrong)++;
  }
  std::string Cell() const {
    return absl::StrCat(correct, " / ", rejected, " / ", wrong,
                        guessed > 0 ? absl::StrCat(" (", guessed, " guessed the intended place)") : "");
  }
};

Outcome Judge(bool applied, const std::string& result, const std::string& after, bool expect_reject) {
  if (!applied) return expect_reject ? kCorrect : kRejected;
  if (expect_reject) return result == after ? kGuessed : kWrong;
  return result == after ? kCorrect : kWrong;
}

Outcome Ours(const std::map<std::string, std::string>& meta, const std::string& before, const std::string& after,
             const std::string& answer) {
  v1::EditFormat format;
  v1::EditFormat_Parse(meta.at("format"), &format);
  const std::string& path = meta.at("path");
  absl::StatusOr<builder::ResolvedEdit> edit = builder::ResolveAnswer(format, answer, {{path, before}});
  const bool expect_reject = meta.at("expect") == "reject";
  if (!edit.ok() && !expect_reject && std::getenv("EDIT_BENCH_VERBOSE") != nullptr) {
    std::fprintf(stderr, "  rejected: %s\n", std::string(edit.status().message()).c_str());
  }
  if (!edit.ok()) return Judge(false, "", after, expect_reject);
  absl::StatusOr<patch::Patch> parsed = patch::ParsePatch(edit->patch);
  if (!parsed.ok() || parsed->files.size() != 1 || parsed->files[0].new_path != path) return kWrong;
  const gitadapter::HunkApplyResult applied = gitadapter::ApplyHunks(before, parsed->files[0].hunks);
  // The Builder's patch is exact: GitAdapter must not need to move a hunk.
  if (!applied.rejections.empty() || !applied.relocated.empty()) return kWrong;
  return Judge(true, applied.content, after, expect_reject);
}

int Shell(const std::string& command) { return std::system(command.c_str()); }

// `tool` runs in a scratch directory holding the file at `path` and the answer as answer.diff.
Outcome Tool(const std::string& tool, const std::map<std::string, std::string>& meta, const std::string& before,
             const std::string& after, const std::string& answer) {
  const std::string dir = absl::StrCat(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp", "/edit_bench_tool");
  Shell(absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "'"));
  const std::string& path = meta.at("path");
  const std::string file = absl::StrCat(dir, "/", path);
  Shell(absl::StrCat("mkdir -p \"$(dirname '", file, "')\""));
  WriteFileAtomically(file, before).IgnoreError();
  WriteFileAtomically(dir + "/answer.diff", answer).IgnoreError();
  const std::string command =
      tool == "git" ? absl::StrCat("cd '", dir, "' && git apply -p1 answer.diff >/dev/null 2>&1")
                    : absl::StrCat("cd '", dir, "' && patch -p1 -s -f --no-backup-if-mismatch -i answer.diff >/dev/null 2>&1");
  const bool applied = Shell(command) == 0;
  absl::StatusOr<std::string> result = ReadFile(file);
  return Judge(applied, result.ok() ? *result : "", after, meta.at("expect") == "reject");
}

int Main(const std::string& corpus) {
  DIR* listing = opendir(corpus.c_str());
  if (listing == nullptr) {
    std::fprintf(stderr, "cannot open %s\n", corpus.c_str());
    return 2;
  }
  std::vector<std::string> names;
  while (dirent* entry = readdir(listing)) {
    if (entry->d_name[0] != '.') names.push_back(entry->d_name);
  }
  closedir(listing);
  // (format, defect) -> tallies for ours, git apply, GNU patch.
  std::map<std::pair<std::string, std::string>, std::array<Tally, 3>> table;
  std::map<std::string, Tally> totals;
  std::set<std::string> sources;
  for (const std::string& name : names) {
    const std::string dir = absl::StrCat(corpus, "/", name);
    absl::StatusOr<std::string> meta_text = ReadFile(dir + "/meta");
    absl::StatusOr<std::string> before = ReadFile(dir + "/before");
    absl::StatusOr<std::string> after = ReadFile(dir + "/after");
    absl::StatusOr<std::string> answer = ReadFile(dir + "/answer");
    if (!meta_text.ok() || !before.ok() || !after.ok() || !answer.ok()) continue;
    std::map<std::string, std::string> meta;
    for (absl::string_view line : absl::StrSplit(*meta_text, '\n', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      meta[kv.first] = kv.second;
    }
    sources.insert(meta["source"]);
    auto& row = table[{meta["format"], meta["defect"]}];
    const Outcome ours = Ours(meta, *before, *after, *answer);
    row[0].Add(ours);
    totals["ours"].Add(ours);
    if (meta["format"] == "UNIFIED_DIFF") {
      const Outcome git = Tool("git", meta, *before, *after, *answer);
      const Outcome gnu = Tool("patch", meta, *before, *after, *answer);
      row[1].Add(git);
      row[2].Add(gnu);
      totals["git"].Add(git);
      totals["patch"].Add(gnu);
    }
    if (ours != kCorrect) std::fprintf(stderr, "not correct: %s (%s, %s, %s)\n", name.c_str(), meta["format"].c_str(), meta["defect"].c_str(), meta["source"].c_str());
  }
  std::printf("%zu cases from %zu real patches.\n\n", names.size(), sources.size());
  std::printf("| format | defect | cases | Autopack: correct / rejected / wrong tree | git apply | GNU patch |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const auto& [key, row] : table) {
    const int n = row[0].correct + row[0].rejected + row[0].wrong;
    const bool diff = key.first == "UNIFIED_DIFF";
    std::printf("| %s | %s | %d | %s | %s | %s |\n", key.first.c_str(), key.second.c_str(), n, row[0].Cell().c_str(),
                diff ? row[1].Cell().c_str() : "n/a", diff ? row[2].Cell().c_str() : "n/a");
  }
  std::printf("| all | | %zu | %s | %s | %s |\n", names.size(), totals["ours"].Cell().c_str(),
              totals["git"].Cell().c_str(), totals["patch"].Cell().c_str());
  return 0;
}

}  // namespace
}  // namespace autopack

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: edit_bench CORPUS_DIR\n");
    return 2;
  }
  return autopack::Main(argv[1]);
}
