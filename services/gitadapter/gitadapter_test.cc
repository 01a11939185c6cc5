// GitAdapter core on real repositories made with the git CLI: results are
// compared with what git itself produces.
#include "services/gitadapter/gitadapter.h"

#include <memory>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "services/common/status_matchers.h"
#include "services/gitadapter/test_repo.h"

namespace autopack::gitadapter {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Where hunk number `n` (0-based over the whole diff) is: its file and its
// 1-based number within that file.
struct HunkLocation {
  std::string path;
  int hunk = 0;
};

// Changes the first context line of the n-th hunk (or of the next hunk that
// has context lines); returns where it is.
std::string AlterContext(const std::string& diff, int n, HunkLocation* where) {
  std::vector<std::string> lines = absl::StrSplit(diff, '\n');
  int seen = -1;
  int in_file = 0;
  std::string path;
  bool done = false;
  for (std::string& line : lines) {
    if (absl::StartsWith(line, "+++ ")) {
      path = line.substr(6);
      in_file = 0;
    } else if (absl::StartsWith(line, "@@ ")) {
      ++in_file;
      ++seen;
    } else if (!done && seen >= n && absl::StartsWith(line, " ")) {
      line = " this context line was altered";
      *where = {path, in_file};
      done = true;
    }
  }
  return absl::StrJoin(lines, "\n");
}

class GitAdapterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    origin_ = new std::string(testing::NewTempDir("origin"));
    ASSERT_THAT(testing::MakeRepo(*origin_, 300, 4, 11), IsOk());
  }

  void SetUp() override {
    root_ = testing::NewTempDir("root");
    Start();
    v1::OpenWorkspaceRequest open;
    open.set_run_id("run1");
    open.set_repo_url(*origin_);
    auto opened = adapter_->OpenWorkspace(open);
    ASSERT_THAT(opened, IsOk());
    base_ = opened->base_sha();
    dir_ = root_ + "/run1/repo";
  }

  // (Re)creates the service objects on the same root, as a restart would.
  void Start() {
    adapter_.reset();
    manager_ = std::make_unique<WorkspaceManager>(WorkspaceManagerOptions{root_, "", {*origin_}});
    auto runner = ProcessCheckRunner::Create(ProcessCheckRunnerOptions{});
    ASSERT_THAT(runner, IsOk());
    runner_ = *std::move(runner);
    adapter_ = std::make_unique<GitAdapter>(GitAdapterOptions{}, manager_.get(), runner_.get());
  }

  v1::ApplyPatchRequest Apply(const std::string& patch, bool dry_run = false) {
    v1::ApplyPatchRequest request;
    request.set_workspace_id("run1");
    request.set_patch(patch);
    request.set_commit_message("autopack: p1 change (attempt 1)");
    request.mutable_author()->set_name("Builder");
    request.mutable_author()->set_email("builder@example.com");
    request.set_dry_run(dry_run);
    return request;
  }

  std::string Fingerprint(bool with_file_times = true) {
    return testing::Trim(testing::StateFingerprint(dir_, with_file_times));
  }

  static std::string* origin_;
  std::string root_;
  std::string dir_;
  std::string base_;
  std::unique_ptr<WorkspaceManager> manager_;
  std::unique_ptr<ProcessCheckRunner> runner_;
  std::unique_ptr<GitAdapter> adapter_;
};

std::string* GitAdapterTest::origin_ = nullptr;

TEST_F(GitAdapterTest, GitDiffsWithAndWithoutGitHeadersGiveGitsTree) {
  for (unsigned seed : {1u, 2u, 3u}) {
    // Without its `diff --git` line a mode-only change names no file, so the
    // header-less variants come from a change whose mode changes carry edits.
    const bool pure_mode_change = seed != 2;
    auto change = testing::MakeChange(*origin_, seed, pure_mode_change);
    ASSERT_THAT(change, IsOk());
    ASSERT_THAT(change->diff, AllOf(HasSubstr("rename from"), HasSubstr("new mode 100755"),
                                    HasSubstr("deleted file mode"), HasSubstr("new file mode")));
    const std::string before = Fingerprint();
    const std::string before_content = Fingerprint(false);
    std::vector<std::string> variants = {change->diff};
    if (!pure_mode_change) variants.push_back(testing::StripGitHeaders(change->diff));
    for (const std::string& diff : variants) {
      auto dry = adapter_->ApplyPatch(Apply(diff, true));
      ASSERT_THAT(dry, IsOk()) << "seed " << seed;
      EXPECT_EQ(dry->tree_sha(), change->tree_sha) << "seed " << seed;
      EXPECT_TRUE(dry->commit_sha().empty());
      EXPECT_THAT(dry->relocated_hunks(), IsEmpty());
      EXPECT_EQ(Fingerprint(), before) << "dry_run touched the workspace";
    }
    auto applied = adapter_->ApplyPatch(Apply(variants.back()));
    ASSERT_THAT(applied, IsOk());
    EXPECT_EQ(applied->tree_sha(), change->tree_sha);
    EXPECT_EQ(testing::Trim(testing::Sh(dir_, "git rev-parse HEAD 'HEAD^{tree}'")),
              absl::StrCat(applied->commit_sha(), "\n", change->tree_sha));
    EXPECT_EQ(testing::Trim(testing::Sh(dir_, "git status --porcelain")), "");
    EXPECT_EQ(testing::Trim(testing::Sh(dir_, "git log -1 --format='%an|%cn|%s'")),
              "Builder|Autopack|autopack: p1 change (attempt 1)");
    std::set<int> kinds;
    for (const auto& file : applied->files()) kinds.insert(file.kind());
    EXPECT_EQ(kinds.size(), pure_mode_change ? 5u : 4u);

    v1::RollbackRequest rollback;
    rollback.set_workspace_id("run1");
    rollback.set_commit_sha(base_);
    ASSERT_THAT(adapter_->Rollback(rollback), IsOk());
    EXPECT_EQ(Fingerprint(false), before_content);
  }
}

TEST_F(GitAdapterTest, ChangesAfterTheFirstTouchOnlyTheirPathsAndLeaveTheTreeExact) {
  // The first apply makes the tree known-clean; the following ones write only
  // their paths: a new directory, an executable, a deletion that empties it.
  ASSERT_THAT(adapter_->ApplyPatch(Apply("--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# sample\n+# one\n")),
              IsOk());
  ASSERT_THAT(adapter_->ApplyPatch(Apply("diff --git a/newdir/deep/x.sh b/newdir/deep/x.sh\nnew file mode 100755\n"
                                         "--- /dev/null\n+++ b/newdir/deep/x.sh\n@@ -0,0 +1 @@\n+echo x\n")),
              IsOk());
  EXPECT_THAT(testing::Sh(dir_, "test -x newdir/deep/x.sh && cat newdir/deep/x.sh && git status --porcelain && "
                                "git diff --cached --stat"),
              IsOkAndHolds(std::string("echo x\n")));
  ASSERT_THAT(adapter_->ApplyPatch(Apply("diff --git a/newdir/deep/x.sh b/newdir/deep/x.sh\ndeleted file mode 100755\n"
                                         "--- a/newdir/deep/x.sh\n+++ /dev/null\n@@ -1 +0,0 @@\n-echo x\n")),
              IsOk());
  EXPECT_THAT(testing::Sh(dir_, "test ! -e newdir && git status --porcelain --ignored && git diff --cached --stat "
                                "&& echo clean"),
              IsOkAndHolds(std::string("clean\n")));
  EXPECT_EQ(testing::Trim(testing::Sh(dir_, "head -1 README.md")), "# one");
}

TEST_F(GitAdapterTest, ShiftedHunksApplyToGitsTreeAndReportOffsets) {
  auto change = testing::MakeChange(*origin_, 5, /*pure_mode_change=*/false);
  ASSERT_THAT(change, IsOk());
  for (int shift : {1, -1, 7, -13, 25, -31, 40, -40}) {
    for (bool strip : {false, true}) {
      const std::string diff = testing::ShiftHunks(strip ? testing::StripGitHeaders(change->diff) : change->diff, shift);
      auto dry = adapter_->ApplyPatch(Apply(diff, true));
      ASSERT_THAT(dry, IsOk()) << "shift " << shift;
      EXPECT_EQ(dry->tree_sha(), change->tree_sha) << "shift " << shift;
      ASSERT_THAT(dry->relocated_hunks(), Not(IsEmpty()));
      for (const v1::HunkPlacement& placement : dry->relocated_hunks()) {
        // Starts are clamped at line 1, so negative shifts may move less.
        if (shift > 0) {
          EXPECT_EQ(placement.offset(), -shift) << placement.path() << " hunk " << placement.hunk();
        } else {
          EXPECT_GE(placement.offset(), 1);
          EXPECT_LE(placement.offset(), -shift);
        }
      }
    }
  }
  auto applied = adapter_->ApplyPatch(Apply(testing::ShiftHunks(change->diff, -17)));
  ASSERT_THAT(applied, IsOk());
  EXPECT_EQ(testing::Trim(testing::Sh(dir_, "git rev-parse 'HEAD^{tree}'")), change->tree_sha);
}

TEST_F(GitAdapterTest, AlteredContextIsRejectedNamingFileAndHunkAndChangesNothing) {
  auto change = testing::MakeChange(*origin_, 6, /*pure_mode_change=*/true);
  ASSERT_THAT(change, IsOk());
  const std::string before = Fingerprint();
  for (int n : {0, 7, 19}) {
    HunkLocation where;
    const std::string diff = AlterContext(testing::ShiftHunks(change->diff, n % 2 == 0 ? 3 : -3), n, &where);
    ASSERT_FALSE(where.path.empty());
    auto result = adapter_->ApplyPatch(Apply(diff));
    EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument,
                                 AllOf(HasSubstr(absl::StrCat(where.path, ": hunk ", where.hunk, ": ")),
                                       HasSubstr("match nowhere"))));
    EXPECT_EQ(Fingerprint(), before);
  }
}

TEST_F(GitAdapterTest, HostilePatchesAreRejectedAndWriteNothing) {
  const std::string passwd = testing::Trim(testing::Sh("/", "sha1sum /etc/passwd"));
  const std::string before = Fingerprint();
  const struct {
    std::string name;
    std::string patch;
    std::string reason;
  } cases[] = {
      {"dotdot", "--- /dev/null\n+++ b/../../etc/passwd\n@@ -0,0 +1 @@\n+evil::0:0::/:/bin/sh\n", "leave the repository"},
      {"dotdot-outside", "--- /dev/null\n+++ b/../../escaped.txt\n@@ -0,0 +1 @@\n+x\n", "leave the repository"},
      {"absolute", "--- /dev/null\n+++ /abs/path\n@@ -0,0 +1 @@\n+x\n", "absolute paths"},
      {"git-config", "--- a/.git/config\n+++ b/.git/config\n@@ -1 +1,2 @@\n [core]\n+\tfsmonitor = evil\n", "under .git"},
      {"git-hook", "--- /dev/null\n+++ b/.git/hooks/post-checkout\n@@ -0,0 +1 @@\n+rm -rf /\n", "under .git"},
      {"symlink-then-write",
       "diff --git a/ln b/ln\nnew file mode 120000\n--- /dev/null\n+++ b/ln\n@@ -0,0 +1 @@\n+../..\n"
       "\\ No newline at end of file\n"
       "--- /dev/null\n+++ b/ln/escaped.txt\n@@ -0,0 +1 @@\n+x\n",
       "symlink entries"},
      {"write-through-existing-symlink", "--- /dev/null\n+++ b/link_to_pkg0/new.txt\n@@ -0,0 +1 @@\n+x\n",
       "goes through the symlink `link_to_pkg0`"},
      {"submodule",
       "diff --git a/vendor/sub b/vendor/sub\nnew file mode 160000\nindex 0000000..1234567\n--- /dev/null\n"
       "+++ b/vendor/sub\n@@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n",
       "submodule entries"},
      {"binary",
       "diff --git a/img.bin b/img.bin\nnew file mode 100644\nindex 0000000..f76dd23\nGIT binary patch\n"
       "literal 5\nMcmZQzWMXCo0000\n\nliteral 0\nHcmV?d00001\n\n",
       "binary patches"},
      {"outside-scope", "--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# sample\n+# hacked\n", "allowed paths"},
  };
  for (const auto& c : cases) {
    v1::ApplyPatchRequest request = Apply(c.patch);
    if (c.name == "outside-scope") request.add_allowed_paths("src/**");
    EXPECT_THAT(adapter_->ApplyPatch(request), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.reason)))
        << c.name;
    EXPECT_EQ(Fingerprint(), before) << c.name;
  }
  EXPECT_EQ(testing::Trim(testing::Sh("/", "sha1sum /etc/passwd")), passwd);
  EXPECT_THAT(ReadFile(root_ + "/escaped.txt"), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(ReadFile(root_ + "/run1/escaped.txt"), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(ReadFile("/abs/path"), StatusHasCode(absl::StatusCode::kNotFound));
}

TEST_F(GitAdapterTest, IdempotencyKeyAndExpectedHead) {
  const std::string patch = "--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n # sample\n+more\n";
  v1::ApplyPatchRequest request = Apply(patch);
  request.set_idempotency_key("run1/p1/attempt1");
  request.set_expected_head_sha(base_);
  auto first = adapter_->ApplyPatch(request);
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->already_applied());
  EXPECT_THAT(testing::Trim(testing::Sh(dir_, "git log -1 --format=%B")),
              HasSubstr("Autopack-Idempotency-Key: run1/p1/attempt1"));
  // The retry after a crash: same key, stale expected head. Nothing is applied twice.
  auto retry = adapter_->ApplyPatch(request);
  ASSERT_THAT(retry, IsOk());
  EXPECT_TRUE(retry->already_applied());
  EXPECT_EQ(retry->commit_sha(), first->commit_sha());
  EXPECT_EQ(retry->tree_sha(), first->tree_sha());
  ASSERT_EQ(retry->files_size(), 1);
  EXPECT_EQ(testing::Trim(testing::Sh(dir_, "git rev-list --count HEAD ^" + base_)), "1");
  // Still found when later commits sit on top of it.
  auto second = adapter_->ApplyPatch(Apply("--- a/README.md\n+++ b/README.md\n@@ -2 +2,2 @@\n more\n+and more\n"));
  ASSERT_THAT(second, IsOk());
  EXPECT_TRUE(adapter_->ApplyPatch(request)->already_applied());

  v1::ApplyPatchRequest stale = Apply("--- a/run.sh\n+++ b/run.sh\n@@ -2 +2 @@\n-echo run\n+echo ran\n");
  stale.set_expected_head_sha(first->commit_sha());
  EXPECT_THAT(adapter_->ApplyPatch(stale),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(second->commit_sha())));
  stale.set_expected_head_sha(second->commit_sha());
  EXPECT_THAT(adapter_->ApplyPatch(stale), IsOk());

  // Rolled back, the key is no longer on the branch and applies again.
  v1::RollbackRequest rollback;
  rollback.set_workspace_id("run1");
  rollback.set_commit_sha(base_);
  ASSERT_THAT(adapter_->Rollback(rollback), IsOk());
  auto again = adapter_->ApplyPatch(request);
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->already_applied());
}

TEST_F(GitAdapterTest, RollbackOnlyToCommitsOnTheBranch) {
  auto applied = adapter_->ApplyPatch(Apply("--- /dev/null\n+++ b/added.txt\n@@ -0,0 +1 @@\n+a\n"));
  ASSERT_THAT(applied, IsOk());
  EXPECT_THAT(ReadFile(dir_ + "/added.txt"), IsOk());
  v1::RollbackRequest rollback;
  rollback.set_workspace_id("run1");
  rollback.set_commit_sha(base_);
  auto result = adapter_->Rollback(rollback);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->head_sha(), base_);
  EXPECT_THAT(ReadFile(dir_ + "/added.txt"), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_EQ(testing::Trim(testing::Sh(dir_, "git status --porcelain")), "");
  // The commit just rolled away is no longer on the branch.
  rollback.set_commit_sha(applied->commit_sha());
  EXPECT_THAT(adapter_->Rollback(rollback), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not on branch")));
  rollback.set_commit_sha("0123456789012345678901234567890123456789");
  EXPECT_THAT(adapter_->Rollback(rollback), StatusHasCode(absl::StatusCode::kNotFound));
}

TEST_F(GitAdapterTest, ReadFilesCapsAndNeverReturnsSecrets) {
  const std::string big(5000, 'x');
  ASSERT_THAT(adapter_->ApplyPatch(Apply(absl::StrCat(
                  "--- /dev/null\n+++ b/.env\n@@ -0,0 +1 @@\n+API_KEY=sk-123\n",
                  "--- /dev/null\n+++ b/config/deploy.pem\n@@ -0,0 +1 @@\n+-----BEGIN PRIVATE KEY-----\n",
                  "--- /dev/null\n+++ b/big.txt\n@@ -0,0 +1 @@\n+", big, "\n"))),
              IsOk());
  v1::ReadFilesRequest request;
  request.set_workspace_id("run1");
  for (const char* path : {".env", "big.txt", "missing.txt", "../../etc/passwd", "README.md", "link_to_pkg0"}) {
    request.add_paths(path);
  }
  request.add_globs("config/**");
  request.add_globs("src/pkg1/sub1/*.txt");
  request.set_max_file_bytes(1000);
  request.set_max_total_bytes(2500);
  auto result = adapter_->ReadFiles(request);
  ASSERT_THAT(result, IsOk());
  std::map<std::string, std::string> skipped;
  for (const auto& s : result->skipped()) skipped[s.path()] = s.reason();
  EXPECT_EQ(skipped[".env"], "secret");
  EXPECT_EQ(skipped["config/deploy.pem"], "secret");
  EXPECT_EQ(skipped["missing.txt"], "not_found");
  EXPECT_EQ(skipped["../../etc/passwd"], "outside");
  EXPECT_EQ(skipped["link_to_pkg0"], "outside");
  int64_t total = 0;
  bool saw_big = false;
  for (const auto& file : result->files()) {
    EXPECT_THAT(file.content(), Not(HasSubstr("sk-123")));
    EXPECT_LE(file.content().size(), 1000u);
    total += file.content().size();
    if (file.path() == "big.txt") {
      saw_big = true;
      EXPECT_TRUE(file.truncated());
    }
  }
  EXPECT_TRUE(saw_big);
  EXPECT_LE(total, 2500);
  EXPECT_GT(result->files_size(), 2);
  bool capped = false;
  for (const auto& [path, reason] : skipped) capped = capped || reason == "total_cap";
  EXPECT_TRUE(capped);
}

TEST_F(GitAdapterTest, DiffTagsChecksCloseAndRestart) {
  auto applied = adapter_->ApplyPatch(Apply("--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# sample\n+# changed\n"));
  ASSERT_THAT(applied, IsOk());
  v1::GetDiffRequest diff;
  diff.set_workspace_id("run1");
  auto got = adapter_->GetDiff(diff);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->patch(), testing::Sh(dir_, absl::StrCat("git diff ", base_, " HEAD")).value());
  ASSERT_EQ(got->files_size(), 1);

  v1::TagSnapshotRequest tag;
  tag.set_workspace_id("run1");
  tag.set_tag("autopack/run1/tier1");
  tag.set_message("tier 1 done");
  auto tagged = adapter_->TagSnapshot(tag);
  ASSERT_THAT(tagged, IsOk());
  EXPECT_EQ(tagged->ref_name(), "refs/tags/autopack/run1/tier1");
  EXPECT_EQ(tagged->commit_sha(), applied->commit_sha());

  v1::RunChecksRequest check;
  check.set_workspace_id("run1");
  check.set_command("grep -q changed README.md && echo '3 passed, 0 failed'");
  auto checked = adapter_->RunChecks(check);
  ASSERT_THAT(checked, IsOk());
  EXPECT_TRUE(checked->result().passed()) << checked->result().output_tail();
  EXPECT_EQ(checked->result().tests_passed(), 3);
  EXPECT_TRUE(checked->result().sandboxed());
  EXPECT_EQ(checked->result().sandbox_note(), runner_->description());

  // A restarted service finds the workspace by id and continues the branch.
  Start();
  auto more = adapter_->ApplyPatch(Apply("--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# changed\n+# again\n"));
  ASSERT_THAT(more, IsOk());
  EXPECT_EQ(testing::Trim(testing::Sh(dir_, "git rev-parse HEAD~1")), applied->commit_sha());

  v1::CloseWorkspaceRequest close;
  close.set_workspace_id("run1");
  close.set_delete_files(true);
  ASSERT_THAT(adapter_->CloseWorkspace(close), IsOk());
  EXPECT_THAT(adapter_->GetDiff(diff), StatusHasCode(absl::StatusCode::kNotFound));
}

// Every entry of the working tree with its type (f, d, l, p for fifo ...).
std::string TreeListing(const std::string& dir) {
  return testing::Trim(testing::Sh(dir, "find . -path ./.git -prune -o -printf '%y %p\\n' | sort"));
}

TEST_F(GitAdapterTest, AfterAChecksRunTheTreeIsExactlyTheCommitAgain) {
  const std::string before = Fingerprint(false);
  const std::string listing = TreeListing(dir_);
  v1::RunChecksRequest check;
  check.set_workspace_id("run1");
  // A tracked file edited in place with its size and mtime kept (so a stat
  // comparison alone would miss it), one with a second name and one made
  // setuid, a directory where a file was, untracked files, a fifo, and
  // links to the host.
  check.set_command(
      "m=$(stat -c %Y README.md) && printf '# SAMPLE' | dd of=README.md conv=notrunc status=none && "
      "touch -d @$m README.md && f=$(git ls-files | grep -v README | head -1) && ln \"$f\" hardlinked && "
      "g=$(git ls-files | grep -v README | sed -n 2p) && chmod u+s \"$g\" && "
      "h=$(git ls-files | grep -v README | sed -n 3p) && rm \"$h\" && mkdir \"$h\" && "
      "mkdir -p new/dir && echo x > new/dir/file && mkfifo fifo && ln -s /etc etc_link && echo done");
  auto checked = adapter_->RunChecks(check);
  ASSERT_THAT(checked, IsOk());
  ASSERT_THAT(checked->result().output_tail(), HasSubstr("done")) << checked->result().output_tail();
  EXPECT_EQ(Fingerprint(false), before);
  EXPECT_EQ(TreeListing(dir_), listing);
}

TEST_F(GitAdapterTest, PlantedSymlinksAreNeverFollowed) {
  const std::string outside = testing::NewTempDir("outside");
  ASSERT_THAT(testing::Sh(outside, "echo outside > target.txt"), IsOk());
  const std::string readme = testing::Trim(testing::Sh(dir_, "cat README.md"));
  const std::string plant = absl::StrCat("rm README.md && ln -s ", outside, "/target.txt README.md && ln -s ",
                                         outside, " autopack_notes");
  const std::string patch =
      "--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# sample\n+# changed\n"
      "--- /dev/null\n+++ b/autopack_notes/new.txt\n@@ -0,0 +1 @@\n+new\n";
  // Planted by a check: gone once RunChecks returns.
  v1::RunChecksRequest check;
  check.set_workspace_id("run1");
  check.set_command(plant + " && echo planted");
  auto checked = adapter_->RunChecks(check);
  ASSERT_THAT(checked, IsOk());
  ASSERT_THAT(checked->result().output_tail(), HasSubstr("planted"));
  EXPECT_THAT(testing::Sh(dir_, "test -f README.md && ! test -L README.md && ! test -e autopack_notes && echo reset"),
              IsOkAndHolds(std::string("reset\n")));

  // Planted behind GitAdapter's back (say a reset that failed): ReadFiles
  // reads the commit, and ApplyPatch writes real files in the tree.
  ASSERT_THAT(testing::Sh(dir_, plant), IsOk());
  v1::ReadFilesRequest read;
  read.set_workspace_id("run1");
  read.add_paths("README.md");
  auto files = adapter_->ReadFiles(read);
  ASSERT_THAT(files, IsOk());
  ASSERT_EQ(files->files_size(), 1);
  EXPECT_EQ(testing::Trim(files->files(0).content()), readme);
  ASSERT_THAT(adapter_->ApplyPatch(Apply(patch)), IsOk());
  EXPECT_THAT(ReadFile(outside + "/target.txt"), IsOkAndHolds(std::string("outside\n")));
  EXPECT_EQ(testing::Trim(testing::Sh(outside, "ls")), "target.txt");
  EXPECT_THAT(testing::Sh(dir_, "test -f README.md && ! test -L README.md && test -d autopack_notes && "
                                "! test -L autopack_notes && cat autopack_notes/new.txt && git status --porcelain"),
              IsOkAndHolds(std::string("new\n")));

  // Rollback checks out through the same guard.
  ASSERT_THAT(testing::Sh(dir_, absl::StrCat("rm -r autopack_notes && ln -s ", outside, " autopack_notes")), IsOk());
  v1::RollbackRequest rollback;
  rollback.set_workspace_id("run1");
  rollback.set_commit_sha(base_);
  ASSERT_THAT(adapter_->Rollback(rollback), IsOk());
  EXPECT_EQ(testing::Trim(testing::Sh(outside, "ls")), "target.txt");
  EXPECT_THAT(testing::Sh(dir_, "git status --porcelain --ignored && ! test -e autopack_notes && echo clean"),
              IsOkAndHolds(std::string("clean\n")));
}

TEST_F(GitAdapterTest, ACheckoutThatFailsHalfwayLeavesNoNewFilesBehind) {
  const std::string listing = TreeListing(dir_);
  // The branch ref is locked: CheckoutBranch fails only after libgit2 has
  // written the new commit's files into the tree.
  const std::string lock = ".git/refs/heads/autopack/run1.lock";
  ASSERT_THAT(testing::Sh(dir_, "touch " + lock), IsOk());
  EXPECT_THAT(adapter_->ApplyPatch(Apply("--- /dev/null\n+++ b/added_by_patch.txt\n@@ -0,0 +1 @@\n+new\n")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("lock")));
  ASSERT_THAT(testing::Sh(dir_, "rm " + lock), IsOk());
  EXPECT_EQ(TreeListing(dir_), listing);
  EXPECT_EQ(testing::Trim(testing::Sh(dir_, "git rev-parse HEAD")), base_);
}

TEST_F(GitAdapterTest, MalformedRequestsNameTheField) {
  EXPECT_THAT(adapter_->ApplyPatch(Apply("")), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("patch is empty")));
  v1::ApplyPatchRequest no_message = Apply("--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# sample\n+x\n");
  no_message.clear_commit_message();
  EXPECT_THAT(adapter_->ApplyPatch(no_message), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("commit_message")));
  v1::ApplyPatchRequest unknown = Apply("x");
  unknown.set_workspace_id("nope");
  EXPECT_THAT(adapter_->ApplyPatch(unknown), StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
  EXPECT_THAT(adapter_->ApplyPatch(Apply("just prose\n")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no unified diff")));
}

}  // namespace
}  // namespace autopack::gitadapter
