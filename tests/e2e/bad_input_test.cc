// Must show (issue 9, point 3): every RPC of the four services sent its
// oversized and invalid variants, as real processes over sockets. Each answer
// has the right code and a short message naming the field; meanwhile every
// server stays healthy and answers a well-formed caller; memory stays bounded.
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autopack/v1/auditor.grpc.pb.h"
#include "autopack/v1/builder.grpc.pb.h"
#include "autopack/v1/gitadapter.grpc.pb.h"
#include "autopack/v1/supervisor.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/grpc_status.h"
#include "tests/e2e/suite.h"

namespace autopack::testing {
namespace {

struct Case {
  std::string name;
  std::function<grpc::Status(grpc::ClientContext*)> call;
  grpc::StatusCode code;
  std::string names;  // the message must contain this (the field at fault)
};

int64_t RssKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// A channel to one of the suite's servers as `caller` (see suite.h); with
// the Supervisor's client certificate, which Builder, Auditor and GitAdapter
// require (mTLS).
std::shared_ptr<grpc::Channel> Channel(const Suite& suite, const ServerProcess& server,
                                       const std::string& caller) {
  ClientOptions options = suite.ClientFor(server, caller);
  options.tls_cert_file = suite.pki("supervisor.pem");
  options.tls_key_file = suite.pki("supervisor.key");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateClientChannel(options);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return *channel;
}

v1::PhaseSpec Phase() {
  v1::PhaseSpec phase;
  phase.set_phase_id("p1");
  phase.set_name("note");
  phase.set_description("Add a note.");
  phase.set_task_category("feature_scaffolding");
  phase.set_complexity(v1::COMPLEXITY_LOW);
  return phase;
}

TEST(BadInputTest, EveryRpcRefusesOversizedAndInvalidInputAndTheServersHoldTheirGround) {
  auto suite = Suite::Start("bad_input", NotesAnswers(1));
  ASSERT_TRUE(suite.ok()) << suite.status();
  Suite& s = **suite;
  auto repo = s.MakeRepo("repo");
  ASSERT_TRUE(repo.ok()) << repo.status();
  // Claims nothing, so the run created below stays open for WatchRun.
  auto supervisor = s.StartSupervisor("sqlite:" + s.dir() + "/bad.db", {"--max_concurrent_runs=0",
                                                                        "--max_watch_streams_per_caller=4"});
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  auto sup = v1::SupervisorService::NewStub(Channel(s, **supervisor, "alice"));
  // The services are called as the Supervisor calls them: with its token and certificate.
  auto builder = v1::BuilderService::NewStub(Channel(s, s.builder(), "supervisor"));
  auto auditor = v1::AuditorService::NewStub(Channel(s, s.auditor(), "supervisor"));
  auto git = v1::GitAdapterService::NewStub(Channel(s, s.git(), "supervisor"));

  {
    grpc::ClientContext context;
    v1::CreateRunRequest request;
    *request.mutable_spec() = NotesSpec("held", *repo, 1, 1);
    v1::CreateRunResponse response;
    ASSERT_TRUE(sup->CreateRun(&context, request, &response).ok());
  }
  {
    grpc::ClientContext context;
    v1::OpenWorkspaceRequest request;
    request.set_run_id("ws1");
    request.set_repo_url(*repo);
    v1::OpenWorkspaceResponse response;
    const grpc::Status opened = git->OpenWorkspace(&context, request, &response);
    ASSERT_TRUE(opened.ok()) << opened.error_message();
  }

  const std::vector<pid_t> pids = {(*supervisor)->pid(), s.builder().pid(), s.auditor().pid(), s.git().pid()};
  std::vector<int64_t> rss_before;
  for (pid_t pid : pids) rss_before.push_back(RssKb(pid));

  // A well-formed caller, all along: health of every server and a real read.
  std::atomic<bool> done{false};
  std::atomic<int> good_calls{0}, good_failures{0};
  std::thread good([&] {
    std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health;
    for (const ServerProcess* server : {static_cast<const ServerProcess*>(supervisor->get()), &s.builder(), &s.auditor(), &s.git()}) {
      health.push_back(grpc::health::v1::Health::NewStub(Channel(s, *server, "")));
    }
    auto reader = v1::SupervisorService::NewStub(Channel(s, **supervisor, "alice"));
    while (!done) {
      for (auto& h : health) {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
        grpc::health::v1::HealthCheckResponse response;
        const grpc::Status st = h->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
        if (!st.ok() || response.status() != grpc::health::v1::HealthCheckResponse::SERVING) ++good_failures;
        ++good_calls;
      }
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      v1::GetRunRequest request;
      request.set_run_id("held");
      v1::Run run;
      if (!reader->GetRun(&context, request, &run).ok() || run.run_id() != "held") ++good_failures;
      ++good_calls;
      absl::SleepFor(absl::Milliseconds(20));
    }
  });

  const std::string huge(100000, 'x');
  const std::string key = "sk-test-0123456789abcdef";
  std::vector<Case> cases;
  auto spec_case = [&](const std::string& name, std::function<void(v1::RunSpec*)> edit, const std::string& names) {
    for (bool preview : {false, true}) {
      cases.push_back({absl::StrCat(preview ? "PreviewRun " : "CreateRun ", name),
                       [&, edit, preview](grpc::ClientContext* c) {
                         v1::RunSpec spec = NotesSpec(absl::StrCat("r-", name.size()), *repo, 1, 1);
                         edit(&spec);
                         if (preview) {
                           v1::PreviewRunRequest r;
                           *r.mutable_spec() = spec;
                           v1::PreviewRunResponse out;
                           return sup->PreviewRun(c, r, &out);
                         }
                         v1::CreateRunRequest r;
                         *r.mutable_spec() = spec;
                         v1::CreateRunResponse out;
                         return sup->CreateRun(c, r, &out);
                       },
                       grpc::StatusCode::INVALID_ARGUMENT, names});
    }
  };
  spec_case("100,000 phases", [](v1::RunSpec* spec) {
    v1::TierSpec* tier = spec->mutable_tiers(0);
    for (int i = 0; i < 100000; ++i) {
      v1::PhaseSpec* p = tier->add_phases();
      p->set_phase_id(absl::StrCat("q", i));
    }
  }, "at most 500 are allowed per run");
  spec_case("100 KB run id", [&](v1::RunSpec* spec) { spec->set_run_id(huge); }, "run_id");
  spec_case("safety_profile 77", [](v1::RunSpec* spec) {
    spec->set_safety_profile(static_cast<v1::SafetyProfile>(77));
  }, "safety_profile");
  spec_case("INT64_MAX timeout", [](v1::RunSpec* spec) {
    spec->mutable_check_timeout()->set_seconds(INT64_MAX);
  }, "check_timeout");
  spec_case("NUL in check_command", [](v1::RunSpec* spec) {
    spec->set_check_command(std::string("true\0rm -rf /", 13));
  }, "check_command");
  spec_case("token in repo_url", [&](v1::RunSpec* spec) {
    spec->set_repo_url("https://x-access-token:" + key + "@git.example.com/o/r.git");
  }, "repo_url");
  spec_case("1,000,000 attempts", [](v1::RunSpec* spec) {
    spec->mutable_tiers(0)->mutable_phases(0)->set_max_attempts(1000000);
  }, "max_attempts");
  spec_case("no tiers", [](v1::RunSpec* spec) { spec->clear_tiers(); }, "tiers");
  cases.push_back({"CreateRun without spec", [&](grpc::ClientContext* c) {
                     v1::CreateRunResponse out;
                     return sup->CreateRun(c, v1::CreateRunRequest(), &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "spec"});
  cases.push_back({"GetRun 100 KB id", [&](grpc::ClientContext* c) {
                     v1::GetRunRequest r;
                     r.set_run_id(huge);
                     v1::Run out;
                     return sup->GetRun(c, r, &out);
                   }, grpc::StatusCode::NOT_FOUND, "xxxx"});
  cases.push_back({"CancelRun 100 KB id", [&](grpc::ClientContext* c) {
                     v1::CancelRunRequest r;
                     r.set_run_id(huge);
                     v1::Run out;
                     return sup->CancelRun(c, r, &out);
                   }, grpc::StatusCode::NOT_FOUND, "xxxx"});
  cases.push_back({"ListRuns page_size 10^9", [&](grpc::ClientContext* c) {
                     v1::ListRunsRequest r;
                     r.set_page_size(1000000000);
                     v1::ListRunsResponse out;
                     return sup->ListRuns(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "page_size"});
  cases.push_back({"ListRuns state 99", [&](grpc::ClientContext* c) {
                     v1::ListRunsRequest r;
                     r.add_states(static_cast<v1::RunState>(99));
                     v1::ListRunsResponse out;
                     return sup->ListRuns(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "states"});
  cases.push_back({"ListIssues severity 7", [&](grpc::ClientContext* c) {
                     v1::ListIssuesRequest r;
                     r.set_run_id("held");
                     r.set_min_severity(static_cast<v1::Severity>(7));
                     v1::ListIssuesResponse out;
                     return sup->ListIssues(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "min_severity"});
  cases.push_back({"ListIssues without scope", [&](grpc::ClientContext* c) {
                     v1::ListIssuesResponse out;
                     return sup->ListIssues(c, v1::ListIssuesRequest(), &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "scope"});
  cases.push_back({"GetUsage without run", [&](grpc::ClientContext* c) {
                     v1::UsageReport out;
                     return sup->GetUsage(c, v1::GetUsageRequest(), &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "run_id"});
  cases.push_back({"WatchRun negative sequence", [&](grpc::ClientContext* c) {
                     v1::WatchRunRequest r;
                     r.set_run_id("held");
                     r.set_after_sequence(-1);
                     auto stream = sup->WatchRun(c, r);
                     v1::RunEvent event;
                     while (stream->Read(&event)) {
                     }
                     return stream->Finish();
                   }, grpc::StatusCode::INVALID_ARGUMENT, "after_sequence"});

  cases.push_back({"GeneratePatch without phase", [&](grpc::ClientContext* c) {
                     v1::GeneratePatchRequest r;
                     r.set_model("openai/gpt-4o-mini");
                     r.set_max_output_tokens(100);
                     v1::GeneratePatchResponse out;
                     return builder->GeneratePatch(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "phase.phase_id"});
  auto generate = [&](std::function<void(v1::GeneratePatchRequest*)> edit) {
    return [&, edit](grpc::ClientContext* c) {
      v1::GeneratePatchRequest r;
      *r.mutable_phase() = Phase();
      r.set_model("openai/gpt-4o-mini");
      r.set_max_output_tokens(100);
      edit(&r);
      v1::GeneratePatchResponse out;
      return builder->GeneratePatch(c, r, &out);
    };
  };
  cases.push_back({"GeneratePatch INT32_MAX output", generate([](v1::GeneratePatchRequest* r) {
                     r->set_max_output_tokens(INT32_MAX);
                   }), grpc::StatusCode::INVALID_ARGUMENT, "max_output_tokens"});
  cases.push_back({"GeneratePatch 100 KB key", generate([&](v1::GeneratePatchRequest* r) {
                     r->set_idempotency_key(huge);
                   }), grpc::StatusCode::INVALID_ARGUMENT, "idempotency_key"});
  cases.push_back({"GeneratePatch unknown model", generate([&](v1::GeneratePatchRequest* r) {
                     r->set_model("openai/" + huge);
                   }), grpc::StatusCode::INVALID_ARGUMENT, "model"});
  cases.push_back({"GeneratePatch 5,000 context files", generate([](v1::GeneratePatchRequest* r) {
                     for (int i = 0; i < 5000; ++i) r->add_context_files()->set_path("a.py");
                   }), grpc::StatusCode::INVALID_ARGUMENT, "context_files"});
  cases.push_back({"GeneratePatch 8 MB message", generate([](v1::GeneratePatchRequest* r) {
                     r->add_context_files()->set_content(std::string(8 << 20, 'c'));
                   }), grpc::StatusCode::RESOURCE_EXHAUSTED, ""});
  auto review = [&](std::function<void(v1::ReviewPatchRequest*)> edit) {
    return [&, edit](grpc::ClientContext* c) {
      v1::ReviewPatchRequest r;
      *r.mutable_phase() = Phase();
      r.set_patch("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
      r.set_model("openai/gpt-4o-mini");
      r.set_max_output_tokens(100);
      edit(&r);
      v1::ReviewPatchResponse out;
      return auditor->ReviewPatch(c, r, &out);
    };
  };
  cases.push_back({"ReviewPatch empty patch", review([](v1::ReviewPatchRequest* r) { r->clear_patch(); }),
                   grpc::StatusCode::INVALID_ARGUMENT, "patch"});
  cases.push_back({"ReviewPatch negative output", review([](v1::ReviewPatchRequest* r) {
                     r->set_max_output_tokens(-5);
                   }), grpc::StatusCode::INVALID_ARGUMENT, "max_output_tokens"});
  cases.push_back({"ReviewPatch 100 KB profile", review([&](v1::ReviewPatchRequest* r) {
                     r->set_auditor_profile(huge);
                   }), grpc::StatusCode::INVALID_ARGUMENT, "auditor_profile"});
  cases.push_back({"ReviewPatch 1,000 protected paths", review([](v1::ReviewPatchRequest* r) {
                     for (int i = 0; i < 1000; ++i) r->add_protected_paths("x");
                   }), grpc::StatusCode::INVALID_ARGUMENT, "protected_paths"});

  auto open = [&](std::function<void(v1::OpenWorkspaceRequest*)> edit) {
    return [&, edit](grpc::ClientContext* c) {
      v1::OpenWorkspaceRequest r;
      r.set_run_id("ws2");
      r.set_repo_url(*repo);
      edit(&r);
      v1::OpenWorkspaceResponse out;
      return git->OpenWorkspace(c, r, &out);
    };
  };
  cases.push_back({"OpenWorkspace 100 KB run id", open([&](v1::OpenWorkspaceRequest* r) { r->set_run_id(huge); }),
                   grpc::StatusCode::INVALID_ARGUMENT, "run_id"});
  cases.push_back({"OpenWorkspace /etc", open([](v1::OpenWorkspaceRequest* r) { r->set_repo_url("/etc"); }),
                   grpc::StatusCode::PERMISSION_DENIED, "--local_repo_roots"});
  cases.push_back({"OpenWorkspace another workspace", open([&](v1::OpenWorkspaceRequest* r) {
                     r->set_repo_url(s.workspace_root() + "/ws1/repo");
                   }), grpc::StatusCode::PERMISSION_DENIED, "workspace"});
  cases.push_back({"OpenWorkspace provider key as credentials", open([](v1::OpenWorkspaceRequest* r) {
                     r->set_repo_url("https://git.example.com/o/r.git");
                     r->set_credentials_env("OPENAI_API_KEY");
                   }), grpc::StatusCode::PERMISSION_DENIED, "credentials_env"});
  cases.push_back({"OpenWorkspace token in repo_url", open([&](v1::OpenWorkspaceRequest* r) {
                     r->set_repo_url("https://x-access-token:" + key + "@git.example.com/o/r.git");
                   }), grpc::StatusCode::INVALID_ARGUMENT, "repo_url"});
  auto checks = [&](std::function<void(v1::RunChecksRequest*)> edit) {
    return [&, edit](grpc::ClientContext* c) {
      v1::RunChecksRequest r;
      r.set_workspace_id("ws1");
      r.set_command("true");
      edit(&r);
      v1::RunChecksResponse out;
      return git->RunChecks(c, r, &out);
    };
  };
  cases.push_back({"RunChecks 200 MB output cap", checks([](v1::RunChecksRequest* r) {
                     r->set_max_output_bytes(200 << 20);
                   }), grpc::StatusCode::INVALID_ARGUMENT, "max_output_bytes"});
  cases.push_back({"RunChecks INT64_MAX timeout", checks([](v1::RunChecksRequest* r) {
                     r->mutable_timeout()->set_seconds(INT64_MAX);
                   }), grpc::StatusCode::INVALID_ARGUMENT, "timeout"});
  cases.push_back({"RunChecks NUL in command", checks([](v1::RunChecksRequest* r) {
                     r->set_command(std::string("true\0x", 6));
                   }), grpc::StatusCode::INVALID_ARGUMENT, "command"});
  cases.push_back({"RunChecks bad env name", checks([](v1::RunChecksRequest* r) {
                     (*r->mutable_env())["LD_PRELOAD=x"] = "y";
                   }), grpc::StatusCode::INVALID_ARGUMENT, "env"});
  cases.push_back({"ReadFiles 100 KB workspace id", [&](grpc::ClientContext* c) {
                     v1::ReadFilesRequest r;
                     r.set_workspace_id(huge);
                     v1::ReadFilesResponse out;
                     return git->ReadFiles(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "workspace_id"});
  cases.push_back({"ReadFiles 10 GB cap", [&](grpc::ClientContext* c) {
                     v1::ReadFilesRequest r;
                     r.set_workspace_id("ws1");
                     r.set_max_total_bytes(int64_t{10} << 30);
                     r.add_globs("**");
                     v1::ReadFilesResponse out;
                     return git->ReadFiles(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "max_total_bytes"});
  cases.push_back({"ApplyPatch unknown workspace", [&](grpc::ClientContext* c) {
                     v1::ApplyPatchRequest r;
                     r.set_workspace_id("nope");
                     r.set_patch("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
                     r.set_commit_message("autopack: p1 note (attempt 1)");
                     v1::ApplyPatchResponse out;
                     return git->ApplyPatch(c, r, &out);
                   }, grpc::StatusCode::NOT_FOUND, "nope"});
  cases.push_back({"Rollback without commit", [&](grpc::ClientContext* c) {
                     v1::RollbackRequest r;
                     r.set_workspace_id("ws1");
                     v1::RollbackResponse out;
                     return git->Rollback(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "commit_sha"});
  cases.push_back({"TagSnapshot without tag", [&](grpc::ClientContext* c) {
                     v1::TagSnapshotRequest r;
                     r.set_workspace_id("ws1");
                     v1::TagSnapshotResponse out;
                     return git->TagSnapshot(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "tag"});
  cases.push_back({"GetDiff unknown ref", [&](grpc::ClientContext* c) {
                     v1::GetDiffRequest r;
                     r.set_workspace_id("ws1");
                     r.set_from_ref(huge);
                     v1::GetDiffResponse out;
                     return git->GetDiff(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "from_ref"});
  cases.push_back({"CloseWorkspace 100 KB id", [&](grpc::ClientContext* c) {
                     v1::CloseWorkspaceRequest r;
                     r.set_workspace_id(huge);
                     v1::CloseWorkspaceResponse out;
                     return git->CloseWorkspace(c, r, &out);
                   }, grpc::StatusCode::INVALID_ARGUMENT, "workspace_id"});

  for (int round = 0; round < 3; ++round) {  // repeated, so a leak would show in the RSS
    for (const Case& c : cases) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      const grpc::Status status = c.call(&context);
      EXPECT_EQ(status.error_code(), c.code) << c.name << ": " << status.error_message().substr(0, 300);
      EXPECT_NE(status.error_message().find(c.names), std::string::npos)
          << c.name << ": \"" << status.error_message().substr(0, 300) << "\" does not name " << c.names;
      EXPECT_LE(status.error_message().size(), kMaxStatusMessageBytes + 64) << c.name;
      EXPECT_EQ(status.error_message().find(key), std::string::npos) << c.name << " echoed the token";
    }
  }

  // Streams: a caller holds at most --max_watch_streams_per_caller open; a
  // stream whose caller goes away frees its slot.
  {
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::unique_ptr<grpc::ClientReader<v1::RunEvent>>> streams;
    for (int i = 0; i < 4; ++i) {
      contexts.push_back(std::make_unique<grpc::ClientContext>());
      v1::WatchRunRequest r;
      r.set_run_id("held");
      streams.push_back(sup->WatchRun(contexts.back().get(), r));
      v1::RunEvent snapshot;
      ASSERT_TRUE(streams.back()->Read(&snapshot)) << "stream " << i;
    }
    grpc::ClientContext fifth;
    v1::WatchRunRequest r;
    r.set_run_id("held");
    auto refused = sup->WatchRun(&fifth, r);
    v1::RunEvent event;
    EXPECT_FALSE(refused->Read(&event));
    const grpc::Status status = refused->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    EXPECT_NE(status.error_message().find("streams open"), std::string::npos);
    for (auto& context : contexts) context->TryCancel();
    for (auto& stream : streams) stream->Finish();
  }
  bool reopened = false;
  for (int i = 0; i < 100 && !reopened; ++i) {  // the server notices the cancel at its next poll
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::WatchRunRequest r;
    r.set_run_id("held");
    auto stream = sup->WatchRun(&context, r);
    v1::RunEvent event;
    reopened = stream->Read(&event);
    context.TryCancel();
    stream->Finish();
    if (!reopened) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(reopened) << "abandoned streams never gave their slots back";

  done = true;
  good.join();
  EXPECT_GT(good_calls.load(), 0);
  EXPECT_EQ(good_failures.load(), 0) << "a well-formed caller was not served while bad input arrived";
  for (size_t i = 0; i < pids.size(); ++i) {
    const int64_t after = RssKb(pids[i]);
    std::cout << "server " << i << " RSS " << rss_before[i] << " kB -> " << after << " kB\n";
    EXPECT_LT(after - rss_before[i], 128 * 1024) << "server " << i << " grew from " << rss_before[i] << " kB to "
                                                 << after << " kB";
  }
  // And each still stops promptly on SIGTERM (an open watch stream included).
  grpc::ClientContext watching;
  v1::WatchRunRequest watch;
  watch.set_run_id("held");
  auto stream = sup->WatchRun(&watching, watch);
  v1::RunEvent snapshot;
  ASSERT_TRUE(stream->Read(&snapshot));
  absl::StatusOr<int> exit = (*supervisor)->Stop(SIGTERM, absl::Seconds(15));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(*exit, 0) << (*supervisor)->Log();
}

}  // namespace
}  // namespace autopack::testing
