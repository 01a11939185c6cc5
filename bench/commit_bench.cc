// ApplyPatch with commit on GitAdapter's core (libgit2, in process) against
// the git CLI doing the same (`git apply --index && git commit`), interleaved
// in one run on two clones of the same repository, the same patches in the
// same order. Prints a Markdown table of wall-clock p50/p99 and CPU p50 per
// repository size (CPU: this process for GitAdapter, the git children for the
// CLI), since on a shared VM the wall clock also measures other tenants and
// the disk.
//
//   bazel build -c opt //bench:commit_bench && bazel-bin/bench/commit_bench [ITERATIONS]
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/shell.h"
#include "services/common/files.h"
#include "services/gitadapter/check_runner.h"
#include "services/gitadapter/gitadapter.h"
#include "services/gitadapter/workspace_manager.h"

namespace autopack {
namespace {

namespace ga = gitadapter;

// Runs `command`; exits the benchmark when it fails.
std::string Run(const std::string& command) {
  int status = 0;
  std::string out = bench::RunShell(command, &status);
  if (status != 0) {
    fprintf(stderr, "failed: %s\n%s\n", command.c_str(), out.c_str());
    exit(1);
  }
  return out;
}

std::string FileName(int file) { return absl::StrFormat("d%03d/f%05d.txt", file / 100, file); }

// `files` files of 20 lines in directories of 100, one commit.
void MakeRepo(const std::string& dir, int files) {
  Run(absl::StrCat("rm -rf ", dir, " && mkdir -p ", dir, " && cd ", dir, " && git init -q -b main . && python3 -c '",
                   "import os\n"
                   "for f in range(", files, "):\n"
                   "  p = \"d%03d/f%05d.txt\" % (f // 100, f)\n"
                   "  os.makedirs(os.path.dirname(p), exist_ok=True)\n"
                   "  open(p, \"w\").write(\"\".join(\"file %d line %d\\n\" % (f, l) for l in range(20)))\n"
                   "' && git add -A && git -c user.name=b -c user.email=b@b commit -q -m base"));
}

// Iteration `i` changes line 10 of `changed` files spread over the repository.
std::string PatchFor(int i, int files, int changed) {
  std::string patch;
  for (int k = 0; k < changed; ++k) {
    const int file = (k * (files / changed) + i) % files;
    const std::string name = FileName(file);
    const std::string before = i < files / changed ? absl::StrFormat("file %d line 10", file)
                                                   : absl::StrFormat("changed %d", i - files / changed);
    absl::StrAppend(&patch, "diff --git a/", name, " b/", name, "\n--- a/", name, "\n+++ b/", name,
                    "\n@@ -10,3 +10,3 @@\n", absl::StrFormat(" file %d line 9\n-%s\n+changed %d\n file %d line 11\n",
                                                           file, before, i, file));
  }
  return patch;
}

double ProcessCpuMs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

double ChildrenCpuMs() {
  rusage u;
  getrusage(RUSAGE_CHILDREN, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

struct Row {
  int files, changed;
  double ours_p50, ours_p99, cli_p50, cli_p99, ours_cpu, cli_cpu;
};

Row Measure(const std::string& root, int files, int changed, int iterations) {
  const std::string origin = absl::StrCat(root, "/origin-", files);
  MakeRepo(origin, files);
  const std::string cli = absl::StrCat(root, "/cli-", files);
  Run(absl::StrCat("rm -rf ", cli, " && git clone -q ", origin, " ", cli));

  ga::WorkspaceManager workspaces({absl::StrCat(root, "/ws-", files), "", {root}});
  ga::ProcessCheckRunnerOptions no_sandbox;
  no_sandbox.sandbox = ga::SandboxMode::kNone;  // no check runs here
  auto checks = ga::ProcessCheckRunner::Create(no_sandbox);
  ga::GitAdapter core(ga::GitAdapterOptions{}, &workspaces, checks->get());
  v1::OpenWorkspaceRequest open;
  open.set_run_id("bench");
  open.set_repo_url(origin);
  if (!core.OpenWorkspace(open).ok()) exit(1);

  std::vector<double> ours, git, ours_cpu, git_cpu;
  // Patches cycle over files/changed positions, so no two iterations in a
  // cycle touch the same lines; the first is a warm-up.
  for (int i = 0; i <= iterations && i < files / changed * 2; ++i) {
    const std::string patch = PatchFor(i, files, changed);
    v1::ApplyPatchRequest request;
    request.set_workspace_id("bench");
    request.set_patch(patch);
    request.set_commit_message(absl::StrCat("change ", i));
    absl::Time start = absl::Now();
    double cpu = ProcessCpuMs();
    absl::StatusOr<v1::ApplyPatchResponse> applied = core.ApplyPatch(request);
    const double ours_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    const double ours_cpu_ms = ProcessCpuMs() - cpu;
    if (!applied.ok()) {
      fprintf(stderr, "ApplyPatch %d: %s\n", i, applied.status().ToString().c_str());
      exit(1);
    }
    if (!WriteFileAtomically(cli + "/../p.diff", patch).ok()) exit(1);
    start = absl::Now();
    cpu = ChildrenCpuMs();
    Run(absl::StrCat("cd ", cli, " && git apply --index ../p.diff && git -c user.name=b -c user.email=b@b commit -q -m c"));
    const double git_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    const double git_cpu_ms = ChildrenCpuMs() - cpu;
    if (i == 0) continue;
    ours.push_back(ours_ms);
    git.push_back(git_ms);
    ours_cpu.push_back(ours_cpu_ms);
    git_cpu.push_back(git_cpu_ms);
  }
  return {files, changed, Percentile(ours, 0.5), Percentile(ours, 0.99), Percentile(git, 0.5), Percentile(git, 0.99),
          Percentile(ours_cpu, 0.5), Percentile(git_cpu, 0.5)};
}

}  // namespace
}  // namespace autopack

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 50;
  const char* tmp = std::getenv("TMPDIR");
  const std::string root = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/autopack-commit-bench");
  autopack::Run("rm -rf " + root + " && mkdir -p " + root);
  printf("| repository | patch | GitAdapter wall p50 / p99 | git CLI wall p50 / p99 | wall speed-up (p50) | "
         "GitAdapter CPU p50 | git CLI CPU p50 | CPU ratio |\n");
  printf("|---|---|---|---|---|---|---|---|\n");
  for (auto [files, changed] : {std::pair{10000, 10}, std::pair{100, 1}}) {
    const autopack::Row r = autopack::Measure(root, files, changed, iterations);
    printf("| %d files | %d file%s, 1 line each | %.2f / %.2f ms | %.2f / %.2f ms | %.1fx | %.2f ms | %.2f ms | %.1fx |\n",
           r.files, r.changed, r.changed == 1 ? "" : "s", r.ours_p50, r.ours_p99, r.cli_p50, r.cli_p99,
           r.cli_p50 / r.ours_p50, r.ours_cpu, r.cli_cpu, r.cli_cpu / r.ours_cpu);
    fflush(stdout);
  }
  autopack::Run("rm -rf " + root);
  return 0;
}
