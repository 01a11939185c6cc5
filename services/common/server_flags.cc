#include "services/common/server_flags.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage_config.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/logging.h"

ABSL_FLAG(std::string, listen, "",
          "HOST:PORT to listen on; port 0 picks a free port (logged as 'listening on "
          "HOST:PORT'). Default: 127.0.0.1:<the service's port>. Beyond loopback the "
          "server needs --tls_cert/--tls_key and --auth_file (or --allow_insecure_listen)");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate; with --tls_key turns TLS on");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle; when set, clients must present a certificate it signed (mTLS)");
ABSL_FLAG(std::string, auth_file, "",
          "YAML file of callers (name, token_sha256 and/or cert_names, rights); when set, "
          "every RPC but health needs a caller with the method's right. Make an entry with "
          "`autopackctl token new --name=NAME --rights=submit,read`");
ABSL_FLAG(bool, allow_insecure_listen, false,
          "listen beyond loopback without TLS or without --auth_file (never with tokens "
          "in plaintext); for networks that secure the port some other way");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long in-flight calls may run before being cancelled");

ABSL_FLAG(std::string, metrics_listen, "",
          "IPV4:PORT to serve Prometheus metrics on (GET /metrics, plain HTTP); port 0 picks "
          "one (logged as 'metrics on HOST:PORT/metrics'). Empty: no metrics endpoint");
ABSL_FLAG(std::string, log_level, "info", "least severe log line written: debug, info, warning, error");

namespace autopack {

void InitServerProcess(int argc, char** argv, const std::string& service_name,
                       const std::string& usage) {
  absl::SetProgramUsageMessage(usage);
  // --help lists the flags of the main file and of this shared file.
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "services/");
  };
  absl::SetFlagsUsageConfig(config);
  absl::ParseCommandLine(argc, argv);
  SetLogServiceName(service_name);
  absl::StatusOr<LogLevel> level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) {
    LogError(level.status().ToString());
    exit(2);
  }
  SetLogLevel(*level);
  BlockShutdownSignals();
}

absl::StatusOr<ServerOptions> ServerOptionsFromFlags(const std::string& service_name,
                                                     int default_port) {
  ServerOptions options;
  options.service_name = service_name;
  options.listen = absl::GetFlag(FLAGS_listen);
  if (options.listen.empty()) options.listen = absl::StrCat("127.0.0.1:", default_port);
  if (const std::string auth_file = absl::GetFlag(FLAGS_auth_file); !auth_file.empty()) {
    absl::StatusOr<std::unique_ptr<Authenticator>> authenticator =
        Authenticator::LoadFile(auth_file);
    if (!authenticator.ok()) return authenticator.status();
    options.authenticator = std::move(*authenticator);
  }
  options.allow_insecure_listen = absl::GetFlag(FLAGS_allow_insecure_listen);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  return options;
}

}  // namespace autopack
