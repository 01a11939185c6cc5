#include "services/common/server.h"

#include <arpa/inet.h>
#include <signal.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "services/common/files.h"
#include "services/common/grpc_auth.h"
#include "services/common/logging.h"
#include "services/common/metrics_server.h"
#include "services/common/rpc_observer.h"
#include "services/common/status_macros.h"

namespace autopack {
namespace {

// Splits "host:port" / "[v6]:port".
absl::Status SplitHostPort(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "' is not HOST:PORT"));
  }
  *host = address.substr(0, colon);
  if (!absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "' has an invalid port"));
  }
  return absl::OkStatus();
}

// 127.0.0.0/8, ::1 and localhost: addresses only this host can reach.
bool IsLoopbackHost(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// The listen-refusal rule of ServerOptions::allow_insecure_listen.
absl::Status CheckListenIsSafe(const ServerOptions& options, const std::string& host) {
  if (IsLoopbackHost(host)) return absl::OkStatus();
  const bool tls = !options.tls_cert_file.empty();
  const bool auth = options.authenticator != nullptr;
  if (auth && !tls) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen on ", options.listen,
        " with bearer tokens but without TLS: tokens would cross the network in the "
        "clear. Set --tls_cert and --tls_key, or listen on loopback"));
  }
  if ((!tls || !auth) && !options.allow_insecure_listen) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen on ", options.listen, " beyond loopback ",
        !tls ? "without TLS" : "without authentication",
        ": anyone who reaches the port could call every RPC. Set --tls_cert, --tls_key "
        "and --auth_file, listen on 127.0.0.1, or pass --allow_insecure_listen"));
  }
  return absl::OkStatus();
}

// Every method of every hosted service must have a right, so that adding an
// RPC cannot silently make it callable by everyone or by no one.
absl::StatusOr<std::shared_ptr<const AccessPolicy>> MakeAccessPolicy(
    const ServerOptions& options, const std::vector<HostedService>& services) {
  auto policy = std::make_shared<AccessPolicy>(options.authenticator);
  for (const HostedService& hosted : services) {
    const google::protobuf::ServiceDescriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(hosted.name);
    if (descriptor == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("service ", hosted.name, " is not a generated service"));
    }
    for (int i = 0; i < descriptor->method_count(); ++i) {
      if (!hosted.rights.Find(descriptor->method(i)->name()).has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            descriptor->method(i)->full_name(), " has no right in its service's method table"));
      }
    }
    policy->AddService(hosted.name, hosted.rights);
  }
  return policy;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(
    const ServerOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and a key file");
  }
  if (options.tls_cert_file.empty()) {
    if (!options.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "a client CA (mTLS) needs a server certificate and key as well");
    }
    // Without TLS an authentication processor needs "secure" credentials to
    // hang on; local credentials are plaintext on the wire (plain gRPC
    // clients and grpcurl -plaintext still work) and only admit loopback
    // peers, which is all CheckListenIsSafe allows for tokens without TLS.
    if (options.authenticator != nullptr) {
      return grpc::experimental::LocalServerCredentials(LOCAL_TCP);
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadFile(options.tls_cert_file));
  ASSIGN_OR_RETURN(pair.private_key, ReadFile(options.tls_key_file));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!options.tls_client_ca_file.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.tls_client_ca_file));
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const ServerOptions& options, const std::vector<HostedService>& services) {
  std::string host;
  int requested_port = 0;
  RETURN_IF_ERROR(SplitHostPort(options.listen, &host, &requested_port));
  RETURN_IF_ERROR(CheckListenIsSafe(options, host));
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   MakeCredentials(options));
  if (options.authenticator != nullptr) {
    ASSIGN_OR_RETURN(std::shared_ptr<const AccessPolicy> policy,
                     MakeAccessPolicy(options, services));
    credentials->SetAuthMetadataProcessor(NewAuthProcessor(std::move(policy)));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<GrpcServer> server(new GrpcServer);
  server->options_ = options;
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default; a second server on a busy port would then
  // silently share it instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> observers;
  observers.push_back(NewRpcObserverFactory());
  builder.experimental().SetInterceptorCreators(std::move(observers));
  for (const HostedService& hosted : services) {
    builder.RegisterService(hosted.service);
    server->service_names_.push_back(hosted.name);
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen,
                                               " (address in use or not local?)"));
  }
  server->address_ = absl::StrCat(host, ":", server->port_);
  server->SetServing(false);
  return server;
}

GrpcServer::~GrpcServer() { Shutdown(); }

void GrpcServer::SetServing(bool serving) {
  if (server_ == nullptr) return;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  for (const std::string& name : service_names_) health->SetServingStatus(name, serving);
  health->SetServingStatus(serving);
}

void GrpcServer::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_ || server_ == nullptr) return;
    shut_down_ = true;
  }
  SetServing(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_grace));
}

void GrpcServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal_number = 0;
  while (sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

absl::Status ServeUntilSignal(const ServerOptions& options,
                              const std::vector<HostedService>& services) {
  BlockShutdownSignals();
  std::unique_ptr<MetricsServer> metrics;
  if (!options.metrics_listen.empty()) {
    ASSIGN_OR_RETURN(metrics, MetricsServer::Start(options.metrics_listen, &Metrics()));
    LogInfo(absl::StrCat("metrics on ",
                         options.metrics_listen.substr(0, options.metrics_listen.rfind(':')), ":",
                         metrics->port(), "/metrics"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<GrpcServer> server, GrpcServer::Start(options, services));
  server->SetServing(true);
  LogInfo(absl::StrCat("listening on ", server->address()),
          {{"tls", options.tls_cert_file.empty()           ? "off"
                   : options.tls_client_ca_file.empty() ? "on"
                                                        : "mutual"},
           {"auth", options.authenticator == nullptr ? "off" : "on"}});
  const int signal_number = WaitForShutdownSignal();
  LogInfo(absl::StrCat("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                       ", shutting down (grace ",
                       absl::FormatDuration(options.shutdown_grace), ")"));
  server->Shutdown();
  server->Wait();
  LogInfo("stopped");
  return absl::OkStatus();
}

}  // namespace autopack
