#include "services/common/grpc_auth.h"

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/common/grpc_status.h"

namespace autopack {
namespace {

// The CN and SANs of the verified client certificate; gRPC sets these
// properties only after the certificate chain was verified against the
// server's client CA, so they can be trusted as identities.
std::vector<std::string> CertNames(const grpc::AuthContext& context) {
  std::vector<std::string> names;
  for (const char* property : {"x509_common_name", "x509_subject_alternative_name"}) {
    for (const grpc::string_ref& value : context.FindPropertyValues(property)) {
      names.emplace_back(value.data(), value.size());
    }
  }
  return names;
}

class AuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit AuthProcessor(std::shared_ptr<const AccessPolicy> policy)
      : policy_(std::move(policy)) {}

  // Checking is a hash and a few map lookups: no need for gRPC's thread hop.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context,
                       OutputMetadata* /*consumed*/, OutputMetadata* /*response*/) override {
    absl::string_view path;
    std::vector<absl::string_view> authorization;
    for (const auto& [key, value] : metadata) {
      const absl::string_view k(key.data(), key.size());
      const absl::string_view v(value.data(), value.size());
      if (k == ":path") path = v;
      if (k == "authorization") authorization.push_back(v);
    }
    absl::StatusOr<Caller> caller = policy_->Check(path, authorization, CertNames(*context));
    return ToGrpcStatus(caller.status());
  }

 private:
  std::shared_ptr<const AccessPolicy> policy_;
};

}  // namespace

std::shared_ptr<grpc::AuthMetadataProcessor> NewAuthProcessor(
    std::shared_ptr<const AccessPolicy> policy) {
  return std::make_shared<AuthProcessor>(std::move(policy));
}

absl::StatusOr<Caller> CallerFromContext(const grpc::ServerContext& context,
                                         const Authenticator* authenticator) {
  if (authenticator == nullptr) return Caller::AuthenticationOff();
  std::vector<absl::string_view> authorization;
  const auto range = context.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    authorization.emplace_back(it->second.data(), it->second.size());
  }
  std::shared_ptr<const grpc::AuthContext> auth_context = context.auth_context();
  return authenticator->Authenticate(
      authorization, auth_context == nullptr ? std::vector<std::string>()
                                             : CertNames(*auth_context));
}

}  // namespace autopack
