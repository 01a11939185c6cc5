// gitadapter_server: the GitAdapter service (DESIGN.md §1).
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/logging.h"
#include "services/common/server_flags.h"
#include "services/gitadapter/check_runner.h"
#include "services/gitadapter/gitadapter.h"
#include "services/gitadapter/gitadapter_service.h"
#include "services/gitadapter/workspace_manager.h"

ABSL_FLAG(std::string, workspace_root, "/var/lib/autopack/workspaces",
          "Directory holding one clone per workspace; workspaces here are reopened after a restart");
ABSL_FLAG(std::string, credentials_dir, "",
          "Directory that OpenWorkspaceRequest.credentials_file names are relative to (https tokens)");
ABSL_FLAG(std::string, committer_name, "Autopack", "Committer of every commit (author when the request has none)");
ABSL_FLAG(std::string, committer_email, "autopack@localhost", "E-mail of --committer_name");
ABSL_FLAG(absl::Duration, check_timeout, absl::Minutes(10), "RunChecks time limit when the request sets none");
ABSL_FLAG(int64_t, check_max_output_bytes, 64 * 1024, "RunChecks output tail kept when the request sets none");
ABSL_FLAG(std::string, sandbox, "bwrap",
          "Check sandbox: bwrap (every check in bubblewrap; the server refuses to start when that does not work "
          "here) or none (checks run unsandboxed, as this server's user, with its network and files; every "
          "CheckResult then says so)");
ABSL_FLAG(std::string, bwrap_path, "/usr/bin/bwrap", "bubblewrap binary");
ABSL_FLAG(absl::Duration, check_timeout_ceiling, absl::Hours(2), "The longest time limit a RunChecks request may ask for");
ABSL_FLAG(int64_t, check_output_ceiling, 1024 * 1024, "The largest output tail a RunChecks request may ask for");
ABSL_FLAG(std::vector<std::string>, local_repo_roots, {},
          "Comma-separated directories that local repositories (paths, file:// URLs) may be cloned from; "
          "a path resolving anywhere else is refused. Empty: only remote repositories");
ABSL_FLAG(std::vector<std::string>, credentials_env_allowlist, {},
          "Comma-separated environment variables that OpenWorkspaceRequest.credentials_env may name "
          "(https tokens); any other name is refused");
ABSL_FLAG(std::string, setpriv_path, "/usr/bin/setpriv",
          "setpriv binary (util-linux); starts bubblewrap as --sandbox_uid when this server runs as root");
ABSL_FLAG(uint32_t, sandbox_uid, 64000,
          "Host uid checks run as when this server runs as root. Dedicate it to the sandbox: the process limit "
          "counts every process of the uid, and working trees are handed to it while a check runs");
ABSL_FLAG(uint32_t, sandbox_gid, 64000, "Host gid checks run as when this server runs as root");
ABSL_FLAG(std::vector<std::string>, sandbox_ro_paths, {},
          "Comma-separated extra host paths a check sees read-only (besides /usr, the /bin /lib links, "
          "/etc/alternatives and the loader cache), e.g. /etc/ssl,/opt/jdk");
ABSL_FLAG(int64_t, sandbox_max_processes, 512,
          "RLIMIT_NPROC of a check: processes of --sandbox_uid at once, shared by concurrent checks");
ABSL_FLAG(int64_t, sandbox_max_memory_bytes, int64_t{4} << 30, "RLIMIT_AS (address space) of each check process");
ABSL_FLAG(absl::Duration, sandbox_max_cpu, absl::Minutes(10), "RLIMIT_CPU (CPU time) of each check process");
ABSL_FLAG(int64_t, sandbox_max_file_bytes, int64_t{1} << 30, "RLIMIT_FSIZE: largest file a check may write");
ABSL_FLAG(int64_t, sandbox_tmpfs_bytes, int64_t{512} << 20, "Size of each of a check's private /tmp and /dev/shm");
ABSL_FLAG(int64_t, read_max_file_bytes, 256 * 1024, "ReadFiles per-file cap when the request sets none, and the most it may ask for");
ABSL_FLAG(int64_t, read_max_total_bytes, 2 * 1024 * 1024, "ReadFiles total cap when the request sets none, and the most it may ask for");

int main(int argc, char** argv) {
  autopack::InitServerProcess(
      argc, argv, "gitadapter",
      "applies patches to libgit2 workspaces, commits, rolls back and runs checks.\n"
      "Usage: gitadapter_server [--listen=HOST:PORT] [--workspace_root=DIR] [--credentials_dir=DIR]\n"
      "                         [--sandbox=bwrap|none] [--sandbox_uid=UID --sandbox_gid=GID] [--tls_cert=F --tls_key=F]");
  const absl::StatusOr<autopack::ServerOptions> server_options =
      autopack::ServerOptionsFromFlags("gitadapter", 50054);
  if (!server_options.ok()) {
    autopack::LogError(server_options.status().ToString());
    return 1;
  }
  namespace ga = autopack::gitadapter;
  ga::ProcessCheckRunnerOptions check_options;
  const std::string sandbox = absl::GetFlag(FLAGS_sandbox);
  if (sandbox == "none") {
    check_options.sandbox = ga::SandboxMode::kNone;
  } else if (sandbox != "bwrap") {
    autopack::LogError("--sandbox must be bwrap or none", {{"sandbox", sandbox}});
    return 2;
  }
  check_options.bwrap_path = absl::GetFlag(FLAGS_bwrap_path);
  check_options.setpriv_path = absl::GetFlag(FLAGS_setpriv_path);
  check_options.sandbox_uid = absl::GetFlag(FLAGS_sandbox_uid);
  check_options.sandbox_gid = absl::GetFlag(FLAGS_sandbox_gid);
  check_options.extra_read_only_paths = absl::GetFlag(FLAGS_sandbox_ro_paths);
  check_options.max_processes = absl::GetFlag(FLAGS_sandbox_max_processes);
  check_options.max_memory_bytes = absl::GetFlag(FLAGS_sandbox_max_memory_bytes);
  check_options.max_cpu_time = absl::GetFlag(FLAGS_sandbox_max_cpu);
  check_options.max_file_bytes = absl::GetFlag(FLAGS_sandbox_max_file_bytes);
  check_options.tmpfs_bytes = absl::GetFlag(FLAGS_sandbox_tmpfs_bytes);
  absl::StatusOr<std::unique_ptr<ga::ProcessCheckRunner>> checks = ga::ProcessCheckRunner::Create(check_options);
  if (checks.ok()) {
    // Tried once, before any caller relies on it, in a scratch directory of
    // its own (the workspace root may not exist before the first workspace).
    std::error_code error;
    std::string probe_dir = (std::filesystem::temp_directory_path(error) / "autopack-sandbox-probe-XXXXXX").string();
    absl::Status probed = error || mkdtemp(probe_dir.data()) == nullptr
                              ? absl::FailedPreconditionError(absl::StrCat("create ", probe_dir, ": ",
                                                                           error ? error.message() : std::strerror(errno)))
                              : (*checks)->Probe(probe_dir);
    std::filesystem::remove_all(probe_dir, error);
    if (!probed.ok()) checks = probed;
  }
  if (!checks.ok()) {
    autopack::LogError("cannot set up the check sandbox; fix it or start with --sandbox=none to run checks "
                       "unsandboxed",
                       {{"error", checks.status().ToString()}});
    return 1;
  }
  if (!(*checks)->sandboxed()) autopack::LogWarning("checks run unsandboxed", {{"sandbox", "none"}});
  autopack::LogInfo("check sandbox ready", {{"sandbox", (*checks)->description()}});
  const std::vector<std::string> allowlist = absl::GetFlag(FLAGS_credentials_env_allowlist);
  ga::WorkspaceManager workspaces({absl::GetFlag(FLAGS_workspace_root), absl::GetFlag(FLAGS_credentials_dir),
                                   absl::GetFlag(FLAGS_local_repo_roots),
                                   std::set<std::string>(allowlist.begin(), allowlist.end())});
  ga::GitAdapterOptions options;
  options.committer = {absl::GetFlag(FLAGS_committer_name), absl::GetFlag(FLAGS_committer_email)};
  options.check_timeout = absl::GetFlag(FLAGS_check_timeout);
  options.check_max_output_bytes = absl::GetFlag(FLAGS_check_max_output_bytes);
  options.check_timeout_ceiling = absl::GetFlag(FLAGS_check_timeout_ceiling);
  options.check_output_ceiling = absl::GetFlag(FLAGS_check_output_ceiling);
  options.max_file_bytes = absl::GetFlag(FLAGS_read_max_file_bytes);
  options.max_total_bytes = absl::GetFlag(FLAGS_read_max_total_bytes);
  ga::GitAdapter core(options, &workspaces, checks->get());
  ga::GitAdapterServiceImpl service(&core);
  // Only the Supervisor calls this service.
  const absl::Status status = autopack::ServeUntilSignal(
      *server_options, {{&service, autopack::v1::GitAdapterService::service_full_name(),
                         autopack::MethodRights::Every(autopack::Right::kService)}});
  if (!status.ok()) {
    autopack::LogError(status.ToString());
    return 1;
  }
  return 0;
}
