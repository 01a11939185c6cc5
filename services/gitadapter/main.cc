// gitadapter_server: the GitAdapter service (DESIGN.md §1).
#include <string>

#include "absl/flags/flag.h"
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
ABSL_FLAG(std::string, sandbox, "auto",
          "Check sandbox: auto (bubblewrap when it works, else run unsandboxed and say so in the result), "
          "required (refuse to run checks without it), off");
ABSL_FLAG(std::string, bwrap_path, "/usr/bin/bwrap", "bubblewrap binary");
ABSL_FLAG(int64_t, read_max_file_bytes, 256 * 1024, "ReadFiles per-file cap when the request sets none");
ABSL_FLAG(int64_t, read_max_total_bytes, 2 * 1024 * 1024, "ReadFiles total cap when the request sets none");

int main(int argc, char** argv) {
  autopack::InitServerProcess(
      argc, argv, "gitadapter",
      "applies patches to libgit2 workspaces, commits, rolls back and runs checks.\n"
      "Usage: gitadapter_server [--listen=HOST:PORT] [--workspace_root=DIR] [--credentials_dir=DIR]\n"
      "                         [--sandbox=auto|required|off] [--tls_cert=F --tls_key=F]");
  const absl::StatusOr<autopack::ServerOptions> server_options =
      autopack::ServerOptionsFromFlags("gitadapter", 50054);
  if (!server_options.ok()) {
    autopack::LogError(server_options.status().ToString());
    return 1;
  }
  namespace ga = autopack::gitadapter;
  ga::ProcessCheckRunnerOptions check_options;
  const std::string sandbox = absl::GetFlag(FLAGS_sandbox);
  if (sandbox == "required") {
    check_options.sandbox = ga::SandboxMode::kRequired;
  } else if (sandbox == "off") {
    check_options.sandbox = ga::SandboxMode::kOff;
  } else if (sandbox != "auto") {
    autopack::LogError("--sandbox must be auto, required or off", {{"sandbox", sandbox}});
    return 2;
  }
  check_options.bwrap_path = absl::GetFlag(FLAGS_bwrap_path);
  ga::ProcessCheckRunner checks(check_options);
  if (!checks.sandbox_available()) {
    autopack::LogWarning("checks will run without a sandbox", {{"reason", checks.sandbox_note()}});
  }
  ga::WorkspaceManager workspaces({absl::GetFlag(FLAGS_workspace_root), absl::GetFlag(FLAGS_credentials_dir)});
  ga::GitAdapterOptions options;
  options.committer = {absl::GetFlag(FLAGS_committer_name), absl::GetFlag(FLAGS_committer_email)};
  options.check_timeout = absl::GetFlag(FLAGS_check_timeout);
  options.check_max_output_bytes = absl::GetFlag(FLAGS_check_max_output_bytes);
  options.max_file_bytes = absl::GetFlag(FLAGS_read_max_file_bytes);
  options.max_total_bytes = absl::GetFlag(FLAGS_read_max_total_bytes);
  ga::GitAdapter core(options, &workspaces, &checks);
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
