// Applying an LLM-style patch to a file: GitAdapter's parser + hunk applier
// against libgit2's git_apply_to_tree (the baseline DESIGN.md rejected), on the
// same patch, in the same process. The file has 5,000 lines; the patch has 100
// hunks, produced by `git diff`. "Drifted" is the same patch after 20 lines
// were inserted at the top of the file, so every hunk header is 20 lines off,
// as model-written diffs are.
#include <git2.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/shell.h"
#include "benchmark/benchmark.h"
#include "services/common/files.h"
#include "services/gitadapter/hunk_applier.h"
#include "services/common/patch/patch.h"

namespace autopack {
namespace {

constexpr int kLines = 5000;
constexpr int kHunks = 100;
constexpr int kDrift = 20;

using bench::RunShell;

struct Fixture {
  std::string base;     // the file as the patch expects it
  std::string drifted;  // with kDrift lines inserted at the top
  std::string patch;    // git diff of base -> edited
  std::string dir;
  git_repository* repo = nullptr;
  git_tree* base_tree = nullptr;
  git_tree* drifted_tree = nullptr;
};

git_tree* CommitTree(git_repository* repo, const std::string& content) {
  git_oid blob_id, tree_id;
  git_blob_create_from_buffer(&blob_id, repo, content.data(), content.size());
  git_treebuilder* builder = nullptr;
  git_treebuilder_new(&builder, repo, nullptr);
  git_treebuilder_insert(nullptr, builder, "big.txt", &blob_id, GIT_FILEMODE_BLOB);
  git_treebuilder_write(&tree_id, builder);
  git_treebuilder_free(builder);
  git_tree* tree = nullptr;
  git_tree_lookup(&tree, repo, &tree_id);
  return tree;
}

const Fixture& GetFixture() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    char tmpl[] = "/tmp/autopack-bench-XXXXXX";
    f->dir = mkdtemp(tmpl);
    std::string edited;
    for (int i = 0; i < kLines; ++i) {
      const std::string line = absl::StrCat("line ", i, ": value = compute(", i * 7 % 13, ");\n");
      f->base += line;
      edited += (i % (kLines / kHunks) == kLines / kHunks / 2)
                    ? absl::StrCat("line ", i, ": value = compute_v2(", i, ");\n")
                    : line;
    }
    for (int i = 0; i < kDrift; ++i) f->drifted += absl::StrCat("# header ", i, "\n");
    f->drifted += f->base;
    (void)WriteFileAtomically(f->dir + "/a", f->base);
    (void)WriteFileAtomically(f->dir + "/b", edited);
    f->patch = RunShell(absl::StrCat("cd ", f->dir, " && git diff --no-index a b | ",
                                "sed -e 's#a/a#a/big.txt#g' -e 's#b/b#b/big.txt#g'"));
    git_libgit2_init();
    git_repository_init(&f->repo, (f->dir + "/repo").c_str(), /*is_bare=*/1);
    f->base_tree = CommitTree(f->repo, f->base);
    f->drifted_tree = CommitTree(f->repo, f->drifted);
    return f;
  }();
  return *f;
}

void Ours(benchmark::State& state, bool drifted) {
  const Fixture& f = GetFixture();
  const std::string& content = drifted ? f.drifted : f.base;
  int64_t applied = 0;
  for (auto _ : state) {
    absl::StatusOr<patch::Patch> patch = patch::ParsePatch(f.patch);
    gitadapter::HunkApplyResult result =
        gitadapter::ApplyHunks(content, patch->files.at(0).hunks);
    applied += result.rejections.empty();
    benchmark::DoNotOptimize(result.content);
  }
  state.counters["applied_fraction"] =
      benchmark::Counter(static_cast<double>(applied) / state.iterations());
}

void Libgit2(benchmark::State& state, bool drifted) {
  const Fixture& f = GetFixture();
  int64_t applied = 0;
  for (auto _ : state) {
    git_diff* diff = nullptr;
    git_diff_from_buffer(&diff, f.patch.data(), f.patch.size());
    git_index* index = nullptr;
    const int rc = git_apply_to_tree(&index, f.repo, drifted ? f.drifted_tree : f.base_tree,
                                     diff, nullptr);
    applied += rc == 0;
    git_index_free(index);
    git_diff_free(diff);
  }
  state.counters["applied_fraction"] =
      benchmark::Counter(static_cast<double>(applied) / state.iterations());
}

BENCHMARK_CAPTURE(Ours, exact, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Libgit2, exact, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Ours, drifted_20_lines, true)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Libgit2, drifted_20_lines, true)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace autopack

BENCHMARK_MAIN();
