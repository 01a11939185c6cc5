// supervisor_server: the Supervisor service (DESIGN.md §1-§3).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "autopack/v1/auditor.grpc.pb.h"
#include "autopack/v1/builder.grpc.pb.h"
#include "autopack/v1/gitadapter.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/logging.h"
#include "services/common/server_flags.h"
#include "services/common/url.h"
#include "services/supervisor/peers.h"
#include "services/supervisor/policy/policy_config.h"
#include "services/supervisor/store/open_store.h"
#include "services/supervisor/supervisor.h"
#include "services/supervisor/supervisor_service.h"

ABSL_FLAG(std::string, config_dir, "config",
          "directory with pricing.yaml, strategy.yaml, models.yaml (and providers.yaml)");
ABSL_FLAG(std::string, store, "sqlite:autopack-supervisor.db",
          "state store: sqlite:PATH (embedded, one replica), or PostgreSQL for several "
          "replicas: postgresql://USER@HOST:PORT/DB or postgres:host=H port=P dbname=D");
ABSL_FLAG(std::string, builder, "127.0.0.1:50052", "Builder service address");
ABSL_FLAG(std::string, auditor, "127.0.0.1:50053", "Auditor service address");
ABSL_FLAG(std::string, gitadapter, "127.0.0.1:50054", "GitAdapter service address");
ABSL_FLAG(std::string, peer_tls_ca, "", "PEM CA bundle; turns TLS on for calls to the services");
ABSL_FLAG(std::string, peer_tls_cert, "", "client certificate for mTLS to the services");
ABSL_FLAG(std::string, peer_tls_key, "", "client key for mTLS to the services");
ABSL_FLAG(std::string, peer_token_file, "",
          "file holding this Supervisor's bearer token for calls to the services (their "
          "--auth_file gives it the 'service' right); without TLS it is sent to loopback "
          "peers only");
ABSL_FLAG(std::string, replica_id, "",
          "lease owner name of this replica; default HOSTNAME-PID");
ABSL_FLAG(absl::Duration, lease_ttl, absl::Seconds(30),
          "how long a claimed run stays with this replica without renewal");
ABSL_FLAG(absl::Duration, claim_interval, absl::Seconds(1), "how often to look for runs");
ABSL_FLAG(int32_t, max_concurrent_runs, 4, "runs driven at once by this replica");
ABSL_FLAG(int32_t, max_phases_per_run, 500, "CreateRun refuses plans with more phases (over all tiers)");
ABSL_FLAG(int32_t, max_tiers_per_run, 50, "CreateRun refuses plans with more tiers");
ABSL_FLAG(int32_t, max_attempts_per_phase, 10, "CreateRun refuses a phase max_attempts above this");
ABSL_FLAG(int32_t, max_watch_streams_per_caller, 16, "WatchRun streams one caller may hold open at once");
ABSL_FLAG(absl::Duration, max_peer_outage, absl::Hours(1),
          "a run whose Builder, Auditor or GitAdapter stays unreachable this long ends "
          "DONE_FAILED_ENVIRONMENT; 0 waits forever");
ABSL_FLAG(std::string, crash_before, "",
          "crash testing only: STEP:N kills this process with SIGKILL at the N-th "
          "checkpoint named STEP: before a side effect (open_workspace, preflight_checks, generate_patch, "
          "review_patch, apply_patch, run_checks, rollback) or between a service's answer "
          "and its commit (record_build, record_review, record_apply, record_checks)");

namespace autopack::supervisor {
namespace {

template <typename Service>
absl::StatusOr<std::shared_ptr<typename Service::Stub>> Connect(const std::string& target,
                                                                const std::string& token) {
  ClientOptions options;
  options.target = target;
  options.bearer_token = token;
  options.tls_ca_file = absl::GetFlag(FLAGS_peer_tls_ca);
  options.tls_cert_file = absl::GetFlag(FLAGS_peer_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_peer_tls_key);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateClientChannel(options);
  if (!channel.ok()) return channel.status();
  return std::shared_ptr<typename Service::Stub>(Service::NewStub(*channel));
}

// --crash_before=STEP:N as a DriverOptions hook.
absl::StatusOr<std::function<absl::Status(absl::string_view)>> CrashHook(const std::string& flag) {
  if (flag.empty()) return std::function<absl::Status(absl::string_view)>();
  std::vector<std::string> parts = absl::StrSplit(flag, ':');
  int count = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &count) || count < 1) {
    return absl::InvalidArgumentError("--crash_before must be STEP:N");
  }
  auto seen = std::make_shared<std::atomic<int>>(0);
  return std::function<absl::Status(absl::string_view)>(
      [step = parts[0], count, seen](absl::string_view at) {
        if (at == step && ++*seen == count) {
          LogWarning(absl::StrCat("crash_before: killing this process before ", at));
          raise(SIGKILL);
        }
        return absl::OkStatus();
      });
}

int Main() {
  absl::StatusOr<ServerOptions> server_options = ServerOptionsFromFlags("supervisor", 50051);
  if (!server_options.ok()) {
    LogError(server_options.status().ToString());
    return 1;
  }
  std::string peer_token;
  if (const std::string file = absl::GetFlag(FLAGS_peer_token_file); !file.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(file);
    if (!token.ok()) {
      LogError(token.status().ToString());
      return 1;
    }
    peer_token = *std::move(token);
  }
  absl::StatusOr<policy::PolicyConfig> policy =
      policy::PolicyConfig::LoadDir(absl::GetFlag(FLAGS_config_dir));
  if (!policy.ok()) {
    LogError(policy.status().ToString());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(absl::GetFlag(FLAGS_store));
  if (!store.ok()) {
    LogError(store.status().ToString());
    return 1;
  }
  auto builder = Connect<v1::BuilderService>(absl::GetFlag(FLAGS_builder), peer_token);
  auto auditor = Connect<v1::AuditorService>(absl::GetFlag(FLAGS_auditor), peer_token);
  auto git = Connect<v1::GitAdapterService>(absl::GetFlag(FLAGS_gitadapter), peer_token);
  for (const absl::Status& s : {builder.status(), auditor.status(), git.status()}) {
    if (!s.ok()) {
      LogError(s.ToString());
      return 1;
    }
  }
  Peers peers(*builder, *auditor, *git, PeerOptions());

  SupervisorOptions options;
  options.replica_id = absl::GetFlag(FLAGS_replica_id);
  if (options.replica_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    options.replica_id = absl::StrCat(host, "-", getpid());
  }
  options.lease_ttl = absl::GetFlag(FLAGS_lease_ttl);
  options.claim_interval = absl::GetFlag(FLAGS_claim_interval);
  options.max_concurrent_runs = absl::GetFlag(FLAGS_max_concurrent_runs);
  options.spec_limits.max_phases = absl::GetFlag(FLAGS_max_phases_per_run);
  options.spec_limits.max_tiers = absl::GetFlag(FLAGS_max_tiers_per_run);
  options.spec_limits.max_attempts = absl::GetFlag(FLAGS_max_attempts_per_phase);
  options.driver.max_peer_outage = absl::GetFlag(FLAGS_max_peer_outage);
  absl::StatusOr<std::function<absl::Status(absl::string_view)>> hook =
      CrashHook(absl::GetFlag(FLAGS_crash_before));
  if (!hook.ok()) {
    LogError(hook.status().ToString());
    return 1;
  }
  options.driver.before_side_effect = *hook;

  Supervisor core(store->get(), &*policy, &peers, options);
  core.Start();
  LogInfo(absl::StrCat("replica ", options.replica_id, " using ", RedactUrl(absl::GetFlag(FLAGS_store))));
  SupervisorServiceImpl service(&core, server_options->authenticator.get(),
                                absl::GetFlag(FLAGS_max_watch_streams_per_caller));
  const absl::Status status =
      ServeUntilSignal(*server_options, {{&service, v1::SupervisorService::service_full_name(),
                                          SupervisorServiceImpl::Rights()}});
  core.Stop();
  if (!status.ok()) {
    LogError(status.ToString());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace autopack::supervisor

int main(int argc, char** argv) {
  autopack::InitServerProcess(
      argc, argv, "supervisor",
      "drives autonomous builds: runs, policy, budgets, issue tracking.\n"
      "Usage: supervisor_server [--listen=HOST:PORT] [--store=sqlite:PATH|postgres:CONNINFO]\n"
      "       [--config_dir=config] [--builder=H:P --auditor=H:P --gitadapter=H:P]\n"
      "       [--auth_file=callers.yaml] [--peer_token_file=F] [--tls_cert=F --tls_key=F]");
  return autopack::supervisor::Main();
}
