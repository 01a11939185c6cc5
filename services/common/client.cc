#include "services/common/client.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "services/common/files.h"
#include "services/common/status_macros.h"

namespace autopack {

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateClientChannel(const ClientOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("client target is empty");
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("mTLS needs both a client certificate and a key file");
  }
  grpc::ChannelArguments args;
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.tls_ca_file));
    if (!options.tls_cert_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile(options.tls_cert_file));
      ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile(options.tls_key_file));
    }
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  }
  if (!options.bearer_token.empty()) {
    // gRPC attaches call credentials only to channels it considers private;
    // local credentials are plaintext on the wire but admit loopback only.
    if (options.tls_ca_file.empty()) credentials = grpc::experimental::LocalCredentials(LOCAL_TCP);
    credentials = grpc::CompositeChannelCredentials(
        credentials, grpc::AccessTokenCredentials(options.bearer_token));
  }
  return grpc::CreateCustomChannel(options.target, credentials, args);
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
  return token;
}

void ApplyDeadline(const ClientOptions& options, grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
}

}  // namespace autopack
