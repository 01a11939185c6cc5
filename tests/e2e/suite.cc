#include "tests/e2e/suite.h"

#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "nlohmann/json.hpp"
#include "services/common/files.h"
#include "services/common/sha256.h"
#include "services/common/status_macros.h"
#include "services/supervisor/run_state.h"

namespace autopack::testing {
namespace {

constexpr char kFakeKeyEnv[] = "AUTOPACK_E2E_FAKE_KEY";

struct TestCaller {
  const char* name;
  const char* rights;
};
constexpr TestCaller kCallers[] = {{"alice", "submit, read, cancel"},
                                   {"bob", "submit, read, cancel"},
                                   {"reader", "read"},
                                   {"admin", "admin"},
                                   {"supervisor", "service"}};
constexpr char kSupervisorCertName[] = "supervisor.autopack.test";

// A CA, a server certificate for localhost and 127.0.0.1, and a client
// certificate for the Supervisor, all valid for a day; EC keys keep it fast.
absl::Status MakePki(const std::string& dir) {
  return Shell(absl::StrCat(
                   "set -e; mkdir -p ", dir, "; cd ", dir, ";",
                   " K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';",
                   " openssl req -x509 $K -keyout ca.key -out ca.pem -days 1",
                   "   -subj /CN=autopack-e2e-ca;",
                   " printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext;",
                   " printf 'subjectAltName=DNS:", kSupervisorCertName,
                   "\nextendedKeyUsage=clientAuth\n' > supervisor.ext;",
                   " for n in server supervisor; do",
                   "   openssl req $K -keyout $n.key -out $n.csr -subj /CN=$n;",
                   "   openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial",
                   "     -out $n.pem -days 1 -extfile $n.ext;",
                   " done"))
      .status();
}

}  // namespace

std::string Suite::Token(const std::string& caller) const {
  return absl::StrCat("e2e-token-of-", caller, "-", std::hash<std::string>()(dir_));
}

ClientOptions Suite::ClientFor(const ServerProcess& process, const std::string& caller) const {
  ClientOptions options;
  options.target = process.address();
  options.tls_ca_file = pki("ca.pem");
  if (!caller.empty()) options.bearer_token = Token(caller);
  return options;
}

std::unique_ptr<v1::SupervisorService::Stub> Suite::SupervisorStub(
    const ServerProcess& supervisor, const std::string& caller) const {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateClientChannel(ClientFor(supervisor, caller));
  // The options are the suite's own; a failure is a bug of this file.
  if (!channel.ok()) {
    fprintf(stderr, "suite: %s\n", channel.status().ToString().c_str());
    abort();
  }
  return v1::SupervisorService::NewStub(*channel);
}

absl::StatusOr<std::string> Shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed: " + command);
  std::string output;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  if (status != 0) {
    return absl::InternalError(absl::StrCat("`", command, "` failed (", status, "):\n", output));
  }
  return output;
}

absl::StatusOr<std::unique_ptr<Suite>> Suite::Start(const std::string& name,
                                                    PlanAnswers answers) {
  std::unique_ptr<Suite> suite(new Suite);
  suite->dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  RETURN_IF_ERROR(Shell("mkdir -p " + suite->workspace_root()).status());
  ASSIGN_OR_RETURN(suite->fake_, FakeProviderServer::Start());
  suite->fake_->SetResponder(PlanResponder(std::move(answers)));
  const std::string providers = suite->dir_ + "/providers.yaml";
  RETURN_IF_ERROR(WriteFileAtomically(
      providers, absl::StrCat("providers:\n"
                              "  openai:\n    kind: openai\n    base_url: ",
                              suite->fake_->base_url(), "/v1\n    api_key_env: ", kFakeKeyEnv,
                              "\n  anthropic:\n    kind: anthropic\n    base_url: ",
                              suite->fake_->base_url(), "\n    api_key_env: ", kFakeKeyEnv, "\n")));
  RETURN_IF_ERROR(MakePki(suite->pki("")));
  std::string callers = "callers:\n";
  for (const TestCaller& caller : kCallers) {
    absl::StrAppend(&callers, "  - name: ", caller.name, "\n    token_sha256: ",
                    Sha256Hex(suite->Token(caller.name)), "\n    rights: [", caller.rights,
                    "]\n");
    if (absl::string_view(caller.name) == "supervisor") {
      absl::StrAppend(&callers, "    cert_names: [", kSupervisorCertName, "]\n");
    }
  }
  RETURN_IF_ERROR(WriteFileAtomically(suite->callers_file(), callers));
  RETURN_IF_ERROR(
      WriteFileAtomically(suite->dir_ + "/supervisor.token", suite->Token("supervisor")));
  const std::vector<std::string> env = {absl::StrCat(kFakeKeyEnv, "=fake-key")};
  // The Supervisor's peers: TLS, its client certificate required, tokens.
  const std::vector<std::string> peer_flags = {
      "--listen=127.0.0.1:0", "--tls_cert=" + suite->pki("server.pem"),
      "--tls_key=" + suite->pki("server.key"), "--tls_client_ca=" + suite->pki("ca.pem"),
      "--auth_file=" + suite->callers_file()};
  std::vector<std::string> llm_flags = peer_flags;
  llm_flags.push_back("--providers_config=" + providers);
  llm_flags.push_back("--pricing_config=config/pricing.yaml");
  ASSIGN_OR_RETURN(suite->builder_,
                   ServerProcess::Start("services/builder/builder_server", llm_flags, env));
  std::vector<std::string> auditor_flags = llm_flags;
  auditor_flags.push_back("--auditor_config=config/auditor.yaml");
  ASSIGN_OR_RETURN(suite->auditor_,
                   ServerProcess::Start("services/auditor/auditor_server", auditor_flags, env));
  std::vector<std::string> git_flags = peer_flags;
  git_flags.push_back("--workspace_root=" + suite->workspace_root());
  git_flags.push_back("--local_repo_roots=" + suite->dir_);
  ASSIGN_OR_RETURN(suite->git_,
                   ServerProcess::Start("services/gitadapter/gitadapter_server", git_flags));
  return suite;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> Suite::StartSupervisor(
    const std::string& store_url, const std::vector<std::string>& extra,
    absl::Duration lease_ttl) {
  std::vector<std::string> flags = {"--listen=127.0.0.1:0",
                                    "--config_dir=config",
                                    "--store=" + store_url,
                                    "--builder=" + builder_->address(),
                                    "--auditor=" + auditor_->address(),
                                    "--gitadapter=" + git_->address(),
                                    "--claim_interval=100ms",
                                    "--shutdown_grace=2s",
                                    "--lease_ttl=" + absl::FormatDuration(lease_ttl),
                                    // Its own listener: TLS and tokens, no client certificate.
                                    "--tls_cert=" + pki("server.pem"),
                                    "--tls_key=" + pki("server.key"),
                                    "--auth_file=" + callers_file(),
                                    // Its calls to the peers: TLS, its certificate, its token.
                                    "--peer_tls_ca=" + pki("ca.pem"),
                                    "--peer_tls_cert=" + pki("supervisor.pem"),
                                    "--peer_tls_key=" + pki("supervisor.key"),
                                    "--peer_token_file=" + dir_ + "/supervisor.token"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return ServerProcess::Start("services/supervisor/supervisor_server", flags);
}

absl::StatusOr<std::string> Suite::MakeRepo(const std::string& name) {
  const std::string repo = dir_ + "/" + name;
  RETURN_IF_ERROR(Shell(absl::StrCat(
                            "set -e; mkdir -p ", repo, "/src; cd ", repo,
                            "; git init -q -b main .; printf 'hello\\n' > src/app.txt;"
                            " printf '# demo\\n' > README.md; git add -A;"
                            " git -c user.name=t -c user.email=t@t commit -q -m initial"))
                      .status());
  return repo;
}

PlanAnswers NotesAnswers(int phases) {
  PlanAnswers answers;
  for (int i = 1; i <= phases; ++i) {
    const std::string file = absl::StrCat("notes/p", i, ".txt");
    // The Builder's default edit format: a search/replace block, whose empty
    // SEARCH creates the file.
    answers.builder_answers[absl::StrCat("p", i)] = absl::StrCat(
        "Summary: adds ", file, ".\n", file, "\n<<<<<<< SEARCH\n=======\nnote ", i, "\n>>>>>>> REPLACE\n");
  }
  return answers;
}

v1::RunSpec NotesSpec(const std::string& run_id, const std::string& repo, int tiers,
                      int phases_per_tier) {
  v1::RunSpec spec;
  spec.set_run_id(run_id);
  spec.set_project_id("notes");
  spec.set_repo_url(repo);
  spec.set_check_command("cat notes/*.txt");
  spec.mutable_check_timeout()->set_seconds(30);
  int n = 0;
  for (int t = 1; t <= tiers; ++t) {
    v1::TierSpec* tier = spec.add_tiers();
    tier->set_tier_id(absl::StrCat("t", t));
    for (int p = 0; p < phases_per_tier; ++p) {
      v1::PhaseSpec* phase = tier->add_phases();
      phase->set_phase_id(absl::StrCat("p", ++n));
      phase->set_name(absl::StrCat("note ", n));
      phase->set_description(absl::StrCat("Add notes/p", n, ".txt containing 'note ", n, "'."));
      phase->set_task_category("feature_scaffolding");
      phase->set_complexity(v1::COMPLEXITY_LOW);
      phase->add_allowed_paths("notes/**");
    }
  }
  return spec;
}

namespace {

// Polls GetRun until `reached(run)` or `timeout` passes; the error says
// which `wanted` state the run did not reach.
absl::StatusOr<v1::Run> WaitForRun(v1::SupervisorService::Stub* stub, const std::string& run_id,
                                   const std::function<bool(const v1::Run&)>& reached,
                                   absl::string_view wanted, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  v1::Run run;
  while (absl::Now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    const grpc::Status status = stub->GetRun(&context, request, &run);
    if (status.ok() && reached(run)) return run;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("run ", run_id, " did not reach ", wanted,
                                                  " within ", absl::FormatDuration(timeout),
                                                  "; state ", v1::RunState_Name(run.state())));
}

}  // namespace

absl::StatusOr<v1::Run> WaitForRunEnd(v1::SupervisorService::Stub* stub,
                                      const std::string& run_id, absl::Duration timeout) {
  return WaitForRun(
      stub, run_id, [](const v1::Run& run) { return supervisor::IsFinalRunState(run.state()); },
      "a final state", timeout);
}

absl::StatusOr<v1::Run> WaitForRunState(v1::SupervisorService::Stub* stub,
                                        const std::string& run_id, v1::RunState state,
                                        absl::Duration timeout) {
  return WaitForRun(
      stub, run_id, [state](const v1::Run& run) { return run.state() == state; },
      v1::RunState_Name(state), timeout);
}

absl::StatusOr<std::vector<std::string>> CommitSubjects(const std::string& repo_dir) {
  ASSIGN_OR_RETURN(std::string log,
                   Shell(absl::StrCat("git -C ", repo_dir,
                                      " log --reverse --format=%s $(git -C ", repo_dir,
                                      " rev-list --max-parents=0 HEAD)..HEAD")));
  std::vector<std::string> subjects;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    subjects.emplace_back(line);
  }
  return subjects;
}

int64_t BilledTokens(const FakeProviderServer& fake) {
  int64_t total = 0;
  for (const RecordedExchange& e : fake.exchanges()) {
    if (e.status != 200) continue;
    const nlohmann::json body = nlohmann::json::parse(e.response_body, nullptr, false);
    if (body.is_discarded() || !body.contains("usage")) continue;
    const nlohmann::json& u = body["usage"];
    if (e.openai) {
      total += u.value("prompt_tokens", 0) + u.value("completion_tokens", 0);
    } else {
      total += u.value("input_tokens", 0) + u.value("cache_read_input_tokens", 0) +
               u.value("output_tokens", 0);
    }
  }
  return total;
}

}  // namespace autopack::testing
