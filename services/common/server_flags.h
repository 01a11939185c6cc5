// Flags shared by every server binary (--listen, --tls_cert, --tls_key,
// --tls_client_ca, --auth_file, --allow_insecure_listen, --shutdown_grace,
// --metrics_listen, --log_level),
// defined once so the four main.cc files parse them identically.
#ifndef AUTOPACK_SERVICES_COMMON_SERVER_FLAGS_H_
#define AUTOPACK_SERVICES_COMMON_SERVER_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"

#include "services/common/server.h"

namespace autopack {

// Sets the usage text, parses the command line (exits on --help or a bad flag),
// names the log stream, sets --log_level (exit 2 when unknown) and blocks SIGTERM/SIGINT for ServeUntilSignal().
void InitServerProcess(int argc, char** argv, const std::string& service_name,
                       const std::string& usage);

// ServerOptions from the shared flags; --listen defaults to
// 127.0.0.1:<default_port>, so a bare start is reachable from this host only.
// Errors of the --auth_file (NOT_FOUND, INVALID_ARGUMENT naming file and line).
absl::StatusOr<ServerOptions> ServerOptionsFromFlags(const std::string& service_name,
                                                     int default_port);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_SERVER_FLAGS_H_
