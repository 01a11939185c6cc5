// health_probe: asks a server's grpc.health.v1.Health/Check and exits 0 when
// it answers SERVING, 1 otherwise, printing why. The images' HEALTHCHECK and
// the Kubernetes exec probes run it: Debian packages no grpc_health_probe,
// and Kubernetes' own gRPC probes cannot speak TLS, which every deployed
// listener does.
//
// Each flag defaults from an AUTOPACK_PROBE_* environment variable, so that
// one HEALTHCHECK line in an image serves plaintext and TLS deployments: the
// compose file or manifest sets the environment, not a second command line.
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/client.h"

namespace {
std::string Env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}
}  // namespace

ABSL_FLAG(std::string, address, Env("AUTOPACK_PROBE_ADDRESS", "127.0.0.1:50051"),
          "HOST:PORT of the server (env AUTOPACK_PROBE_ADDRESS)");
ABSL_FLAG(std::string, service, Env("AUTOPACK_PROBE_SERVICE", ""),
          "service name to check; empty checks the server as a whole (env AUTOPACK_PROBE_SERVICE)");
ABSL_FLAG(std::string, tls_ca, Env("AUTOPACK_PROBE_TLS_CA", ""),
          "PEM CA bundle; turns TLS on (env AUTOPACK_PROBE_TLS_CA)");
ABSL_FLAG(std::string, tls_cert, Env("AUTOPACK_PROBE_TLS_CERT", ""),
          "client certificate, for servers that require mTLS (env AUTOPACK_PROBE_TLS_CERT)");
ABSL_FLAG(std::string, tls_key, Env("AUTOPACK_PROBE_TLS_KEY", ""),
          "key of --tls_cert (env AUTOPACK_PROBE_TLS_KEY)");
ABSL_FLAG(std::string, tls_server_name, Env("AUTOPACK_PROBE_TLS_SERVER_NAME", ""),
          "name checked against the server certificate when it is not the address's host "
          "(env AUTOPACK_PROBE_TLS_SERVER_NAME)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(3), "deadline of the check");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "exits 0 when the gRPC server at --address reports SERVING.\n"
      "Usage: health_probe [--address=HOST:PORT] [--tls_ca=F [--tls_cert=F --tls_key=F]]");
  absl::ParseCommandLine(argc, argv);
  autopack::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_address);
  options.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.deadline = absl::GetFlag(FLAGS_timeout);
  auto channel = autopack::CreateClientChannel(options);
  if (!channel.ok()) {
    std::cerr << "health_probe: " << channel.status() << "\n";
    return 1;
  }
  auto health = grpc::health::v1::Health::NewStub(*channel);
  grpc::ClientContext context;
  autopack::ApplyDeadline(options, &context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(absl::GetFlag(FLAGS_service));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = health->Check(&context, request, &response);
  if (!status.ok()) {
    std::cerr << "health_probe: " << options.target << ": " << status.error_message() << "\n";
    return 1;
  }
  const std::string state = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  std::cout << options.target << ": " << state << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}
