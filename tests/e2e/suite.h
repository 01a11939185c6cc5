// The whole suite as real processes for end-to-end tests: the fake provider
// (in this process, playing the models of a plan), builder_server,
// auditor_server and gitadapter_server, and as many supervisor_server
// processes as a test starts, on a store it names. Everything listens on
// 127.0.0.1 port 0; scratch files live under TEST_TMPDIR.
//
// Secure the way a deployment is: a throw-away CA made at start signs every
// server's certificate; every channel is TLS; the Builder, Auditor and
// GitAdapter also require the Supervisor's client certificate (mTLS); every
// server checks bearer tokens against one callers file, in which:
//   alice, bob   submit, read, cancel
//   reader       read
//   admin        admin
//   supervisor   service (its token, and its certificate's name)
#ifndef AUTOPACK_TESTS_E2E_SUITE_H_
#define AUTOPACK_TESTS_E2E_SUITE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autopack/v1/supervisor.grpc.pb.h"
#include "services/common/client.h"
#include "tests/fake_provider/fake_provider_server.h"
#include "tests/fake_provider/plan_responder.h"
#include "tests/testing/server_process.h"

namespace autopack::testing {

class Suite {
 public:
  // `name` keeps the scratch directories of several suites in one test apart.
  static absl::StatusOr<std::unique_ptr<Suite>> Start(const std::string& name,
                                                      PlanAnswers answers);

  FakeProviderServer& fake() { return *fake_; }
  // Scratch directory of this suite.
  const std::string& dir() const { return dir_; }
  // Where gitadapter_server keeps its workspaces (<root>/<run id>/repo).
  std::string workspace_root() const { return dir_ + "/workspaces"; }

  // A supervisor_server on `store_url` talking to this suite's services,
  // claiming every 100 ms with a `lease_ttl` lease; `extra` flags are appended.
  absl::StatusOr<std::unique_ptr<ServerProcess>> StartSupervisor(
      const std::string& store_url, const std::vector<std::string>& extra = {},
      absl::Duration lease_ttl = absl::Seconds(2));

  const ServerProcess& builder() const { return *builder_; }
  const ServerProcess& auditor() const { return *auditor_; }
  const ServerProcess& git() const { return *git_; }

  // How to reach `process` (any of the suite's servers) as `caller`, one of
  // the callers above; "" sends no token.
  ClientOptions ClientFor(const ServerProcess& process, const std::string& caller) const;
  // A Supervisor stub calling as `caller`.
  std::unique_ptr<v1::SupervisorService::Stub> SupervisorStub(
      const ServerProcess& supervisor, const std::string& caller = "alice") const;
  // The bearer token of `caller`.
  std::string Token(const std::string& caller) const;
  // The callers file every server checks (--auth_file).
  std::string callers_file() const { return dir_ + "/callers.yaml"; }
  // PEM files of the throw-away PKI: the CA, and NAME.pem / NAME.key for
  // "server" (localhost, 127.0.0.1) and "supervisor" (client certificate).
  std::string pki(const std::string& file) const { return dir_ + "/pki/" + file; }

  // Makes a git repository at dir()/<name> with a few files and one commit;
  // returns its path.
  absl::StatusOr<std::string> MakeRepo(const std::string& name);

 private:
  Suite() = default;
  std::string dir_;
  std::unique_ptr<FakeProviderServer> fake_;
  std::unique_ptr<ServerProcess> builder_;
  std::unique_ptr<ServerProcess> auditor_;
  std::unique_ptr<ServerProcess> git_;
};

// A plan whose phase `p<i>` adds notes/p<i>.txt; checked with `cat notes/*.txt`.
PlanAnswers NotesAnswers(int phases);
// RunSpec for that plan: `tiers` tiers of `phases_per_tier` phases p1, p2, ...
autopack::v1::RunSpec NotesSpec(const std::string& run_id, const std::string& repo,
                                int tiers, int phases_per_tier);

// Polls GetRun until the run is in a final state or `timeout` passes.
absl::StatusOr<autopack::v1::Run> WaitForRunEnd(autopack::v1::SupervisorService::Stub* stub,
                                                const std::string& run_id,
                                                absl::Duration timeout);
// Polls GetRun until the run is in `state` or `timeout` passes.
absl::StatusOr<autopack::v1::Run> WaitForRunState(autopack::v1::SupervisorService::Stub* stub,
                                                  const std::string& run_id,
                                                  autopack::v1::RunState state,
                                                  absl::Duration timeout);

// Subjects of the commits on `branch` after its first commit, oldest first.
absl::StatusOr<std::vector<std::string>> CommitSubjects(const std::string& repo_dir);

// Tokens the fake provider billed over all the requests it answered with 200.
int64_t BilledTokens(const FakeProviderServer& fake);

// Runs `command` with /bin/sh; its stdout, or an error with its output.
absl::StatusOr<std::string> Shell(const std::string& command);

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_E2E_SUITE_H_
