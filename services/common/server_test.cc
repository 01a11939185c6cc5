#include "services/common/server.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "autopack/v1/builder.grpc.pb.h"
#include "autopack/v1/gitadapter.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "services/common/client.h"
#include "services/common/grpc_auth.h"
#include "services/common/sha256.h"
#include "services/common/status_matchers.h"

namespace autopack {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTestdata[] = "services/common/testdata/";

// Answers GeneratePatch after `release` is notified (or at once if null), so
// tests can hold a call in flight across a shutdown.
class BlockingBuilder final : public v1::BuilderService::Service {
 public:
  absl::Notification started;
  absl::Notification* release = nullptr;
  // When set, each call's caller name is put in the response summary.
  const Authenticator* authenticator = nullptr;

  grpc::Status GeneratePatch(grpc::ServerContext* context, const v1::GeneratePatchRequest*,
                             v1::GeneratePatchResponse* response) override {
    if (authenticator != nullptr) {
      absl::StatusOr<Caller> caller = CallerFromContext(*context, authenticator);
      if (!caller.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "caller lost");
      response->set_summary("caller " + caller->name);
      return grpc::Status::OK;
    }
    started.Notify();
    if (release != nullptr) {
      while (!release->WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
        if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
      }
    }
    response->set_summary("done");
    return grpc::Status::OK;
  }
};

std::vector<HostedService> Hosted(BlockingBuilder* builder) {
  return {{builder, v1::BuilderService::service_full_name()}};
}

HealthCheckResponse::ServingStatus Check(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& service,
                                         grpc::Status* status_out = nullptr) {
  auto stub = Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (status_out != nullptr) *status_out = status;
  return status.ok() ? response.status() : HealthCheckResponse::UNKNOWN;
}

std::shared_ptr<grpc::Channel> Insecure(const GrpcServer& server) {
  return grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
}

TEST(GrpcServerTest, PortZeroBindsARealPortAndHealthFollowsSetServing) {
  BlockingBuilder builder;
  auto server = GrpcServer::Start({"test", "127.0.0.1:0"}, Hosted(&builder));
  ASSERT_THAT(server, IsOk());
  EXPECT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->address(), "127.0.0.1:" + std::to_string((*server)->port()));

  auto channel = Insecure(**server);
  EXPECT_EQ(Check(channel, ""), HealthCheckResponse::NOT_SERVING);
  (*server)->SetServing(true);
  EXPECT_EQ(Check(channel, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(channel, "autopack.v1.BuilderService"), HealthCheckResponse::SERVING);
  grpc::Status unknown;
  Check(channel, "no.such.Service", &unknown);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(GrpcServerTest, TwoServersOnPortZeroGetDifferentPorts) {
  BlockingBuilder a, b;
  auto first = GrpcServer::Start({"a", "127.0.0.1:0"}, Hosted(&a));
  auto second = GrpcServer::Start({"b", "127.0.0.1:0"}, Hosted(&b));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_NE((*first)->port(), (*second)->port());
}

TEST(GrpcServerTest, BusyPortIsUnavailable) {
  BlockingBuilder a, b;
  auto first = GrpcServer::Start({"a", "127.0.0.1:0"}, Hosted(&a));
  ASSERT_THAT(first, IsOk());
  auto second = GrpcServer::Start({"b", (*first)->address()}, Hosted(&b));
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kUnavailable, HasSubstr((*first)->address())));
}

TEST(GrpcServerTest, MalformedListenAddressIsInvalidArgument) {
  BlockingBuilder a;
  EXPECT_THAT(GrpcServer::Start({"a", "localhost"}, Hosted(&a)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'localhost'")));
  EXPECT_THAT(GrpcServer::Start({"a", "127.0.0.1:99999"}, Hosted(&a)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid port")));
}

ServerOptions TlsOptions(bool mutual) {
  ServerOptions options{"tls", "127.0.0.1:0"};
  options.tls_cert_file = std::string(kTestdata) + "server.pem";
  options.tls_key_file = std::string(kTestdata) + "server.key";
  if (mutual) options.tls_client_ca_file = std::string(kTestdata) + "ca.pem";
  return options;
}

ClientOptions TlsClient(const GrpcServer& server, bool with_cert) {
  ClientOptions options;
  options.target = server.address();
  options.tls_ca_file = std::string(kTestdata) + "ca.pem";
  options.tls_server_name = "localhost";
  if (with_cert) {
    options.tls_cert_file = std::string(kTestdata) + "client.pem";
    options.tls_key_file = std::string(kTestdata) + "client.key";
  }
  return options;
}

TEST(GrpcServerTest, TlsServerAnswersTlsClientsOnly) {
  BlockingBuilder builder;
  auto server = GrpcServer::Start(TlsOptions(false), Hosted(&builder));
  ASSERT_THAT(server, IsOk());
  (*server)->SetServing(true);
  auto channel = CreateClientChannel(TlsClient(**server, false));
  ASSERT_THAT(channel, IsOk());
  EXPECT_EQ(Check(*channel, ""), HealthCheckResponse::SERVING);

  grpc::Status plaintext;
  Check(Insecure(**server), "", &plaintext);
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(GrpcServerTest, PlaintextServerRejectsTlsClients) {
  BlockingBuilder builder;
  auto server = GrpcServer::Start({"plain", "127.0.0.1:0"}, Hosted(&builder));
  ASSERT_THAT(server, IsOk());
  (*server)->SetServing(true);
  auto channel = CreateClientChannel(TlsClient(**server, false));
  ASSERT_THAT(channel, IsOk());
  grpc::Status status;
  Check(*channel, "", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(GrpcServerTest, MutualTlsRequiresAClientCertificate) {
  BlockingBuilder builder;
  auto server = GrpcServer::Start(TlsOptions(true), Hosted(&builder));
  ASSERT_THAT(server, IsOk());
  (*server)->SetServing(true);
  auto with_cert = CreateClientChannel(TlsClient(**server, true));
  ASSERT_THAT(with_cert, IsOk());
  EXPECT_EQ(Check(*with_cert, ""), HealthCheckResponse::SERVING);

  auto without_cert = CreateClientChannel(TlsClient(**server, false));
  ASSERT_THAT(without_cert, IsOk());
  grpc::Status status;
  Check(*without_cert, "", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(GrpcServerTest, MissingTlsFilesAreReported) {
  BlockingBuilder builder;
  ServerOptions options = TlsOptions(false);
  options.tls_key_file = "/nonexistent/server.key";
  EXPECT_THAT(GrpcServer::Start(options, Hosted(&builder)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/server.key")));
  options.tls_key_file = "";
  EXPECT_THAT(GrpcServer::Start(options, Hosted(&builder)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key")));
}

TEST(GrpcServerTest, ShutdownLetsInFlightCallsFinishAndIsIdempotent) {
  BlockingBuilder builder;
  absl::Notification release;
  builder.release = &release;
  auto server = GrpcServer::Start({"s", "127.0.0.1:0"}, Hosted(&builder));
  ASSERT_THAT(server, IsOk());
  (*server)->SetServing(true);
  auto stub = v1::BuilderService::NewStub(Insecure(**server));

  grpc::Status call_status;
  v1::GeneratePatchResponse response;
  std::thread caller([&] {
    grpc::ClientContext context;
    call_status = stub->GeneratePatch(&context, v1::GeneratePatchRequest(), &response);
  });
  builder.started.WaitForNotification();
  std::thread releaser([&] {
    absl::SleepFor(absl::Milliseconds(200));
    release.Notify();
  });
  (*server)->Shutdown();
  (*server)->Shutdown();
  (*server)->Wait();
  caller.join();
  releaser.join();
  EXPECT_TRUE(call_status.ok()) << call_status.error_message();
  EXPECT_EQ(response.summary(), "done");

  grpc::Status after;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  after = stub->GeneratePatch(&context, v1::GeneratePatchRequest(), &response);
  EXPECT_EQ(after.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(GrpcServerTest, ShutdownCancelsCallsThatOutliveTheGrace) {
  BlockingBuilder builder;
  absl::Notification never;
  builder.release = &never;
  ServerOptions options{"s", "127.0.0.1:0"};
  options.shutdown_grace = absl::Milliseconds(300);
  auto server = GrpcServer::Start(options, Hosted(&builder));
  ASSERT_THAT(server, IsOk());
  auto stub = v1::BuilderService::NewStub(Insecure(**server));
  grpc::Status call_status;
  std::thread caller([&] {
    grpc::ClientContext context;
    v1::GeneratePatchResponse response;
    call_status = stub->GeneratePatch(&context, v1::GeneratePatchRequest(), &response);
  });
  builder.started.WaitForNotification();
  const absl::Time start = absl::Now();
  (*server)->Shutdown();
  (*server)->Wait();
  caller.join();
  // Generous bound: the point is that shutdown does not wait for the handler.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_FALSE(call_status.ok());
}

constexpr char kServiceToken[] = "service-token-1";
constexpr char kOtherServiceToken[] = "service-token-2";
constexpr char kReaderToken[] = "reader-token";

std::shared_ptr<const Authenticator> TestCallers(bool map_client_cert) {
  std::string yaml = "callers:\n"
                     "  - name: peer-one\n    token_sha256: " + Sha256Hex(kServiceToken) +
                     "\n    rights: [service]\n"
                     "  - name: peer-two\n    token_sha256: " + Sha256Hex(kOtherServiceToken) +
                     "\n    rights: [service]\n"
                     "  - name: reader\n    token_sha256: " + Sha256Hex(kReaderToken) +
                     "\n    rights: [read, admin]\n";
  if (map_client_cert) {
    yaml += "  - name: cert-peer\n    cert_names: [autopack-client]\n    rights: [service]\n";
  }
  auto authenticator = Authenticator::Parse(yaml, "callers.yaml");
  EXPECT_THAT(authenticator, IsOk());
  return std::move(*authenticator);
}

std::vector<HostedService> AuthHosted(BlockingBuilder* builder) {
  return {{builder, v1::BuilderService::service_full_name(),
           MethodRights::Every(Right::kService)}};
}

// GeneratePatch through `channel` with `metadata` added (several values for
// one key become several headers).
grpc::Status Generate(const std::shared_ptr<grpc::Channel>& channel,
                      const std::vector<std::pair<std::string, std::string>>& metadata,
                      std::string* summary = nullptr) {
  auto stub = v1::BuilderService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  v1::GeneratePatchResponse response;
  grpc::Status status = stub->GeneratePatch(&context, v1::GeneratePatchRequest(), &response);
  if (summary != nullptr) *summary = response.summary();
  return status;
}

std::pair<std::string, std::string> Bearer(const std::string& token) {
  return {"authorization", "Bearer " + token};
}

// A loopback plaintext server checking TestCallers(false); `builder` names
// each call's caller.
absl::StatusOr<std::unique_ptr<GrpcServer>> StartPlaintextWithAuth(BlockingBuilder* builder) {
  ServerOptions options{"auth", "127.0.0.1:0"};
  options.authenticator = TestCallers(false);
  builder->authenticator = options.authenticator.get();
  return GrpcServer::Start(options, AuthHosted(builder));
}

TEST(GrpcServerAuthTest, PlaintextLoopbackChecksEveryCallButHealth) {
  BlockingBuilder builder;
  auto server = StartPlaintextWithAuth(&builder);
  ASSERT_THAT(server, IsOk());
  (*server)->SetServing(true);
  auto channel = Insecure(**server);

  EXPECT_EQ(Check(channel, ""), HealthCheckResponse::SERVING);
  grpc::Status none = Generate(channel, {});
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(none.error_message(), HasSubstr("/autopack.v1.BuilderService/GeneratePatch"));
  grpc::Status wrong = Generate(channel, {Bearer("not-a-known-token")});
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.error_message(), Not(HasSubstr("not-a-known-token")));
  grpc::Status lacking = Generate(channel, {Bearer(kReaderToken)});
  EXPECT_EQ(lacking.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(lacking.error_message(), HasSubstr("'service'"));
  EXPECT_EQ(Generate(channel, {Bearer(kServiceToken), Bearer(kServiceToken)}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Generate(channel, {{"authorization", "Basic " + std::string(kServiceToken)}})
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Generate(channel, {Bearer(std::string(6000, 'a'))}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // Two callers on one connection: each call is its own caller.
  std::string summary;
  ASSERT_TRUE(Generate(channel, {Bearer(kServiceToken)}, &summary).ok());
  EXPECT_EQ(summary, "caller peer-one");
  ASSERT_TRUE(Generate(channel, {{"authorization", "bearer " + std::string(kOtherServiceToken)}},
                       &summary)
                  .ok());
  EXPECT_EQ(summary, "caller peer-two");
}

TEST(GrpcServerAuthTest, ClientOptionsTokenIsSentOnEveryCall) {
  BlockingBuilder builder;
  auto server = StartPlaintextWithAuth(&builder);
  ASSERT_THAT(server, IsOk());
  ClientOptions client;
  client.target = (*server)->address();
  client.bearer_token = kServiceToken;
  auto channel = CreateClientChannel(client);
  ASSERT_THAT(channel, IsOk());
  std::string summary;
  for (int i = 0; i < 2; ++i) {
    grpc::Status status = Generate(*channel, {}, &summary);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(summary, "caller peer-one");
  }
}

// An IPv4 address of this host other than loopback; empty when it has none.
std::string NonLoopbackAddress() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return "";
  std::string found;
  for (ifaddrs* a = all; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof(text));
    found = text;
  }
  freeifaddrs(all);
  return found;
}

TEST(GrpcServerAuthTest, APlaintextTokenIsNeverSentBeyondLoopback) {
  const std::string address = NonLoopbackAddress();
  if (address.empty()) GTEST_SKIP() << "this host has no non-loopback IPv4 address";
  BlockingBuilder builder;
  ServerOptions options{"open", "0.0.0.0:0"};
  options.allow_insecure_listen = true;
  auto server = GrpcServer::Start(options, Hosted(&builder));
  ASSERT_THAT(server, IsOk());
  ClientOptions client;
  client.target = address + ":" + std::to_string((*server)->port());
  client.bearer_token = kServiceToken;
  auto channel = CreateClientChannel(client);
  ASSERT_THAT(channel, IsOk());
  grpc::Status status = Generate(*channel, {});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_FALSE(builder.started.HasBeenNotified());
  // The same server reached without a token answers: the refusal is the token's.
  client.bearer_token.clear();
  channel = CreateClientChannel(client);
  ASSERT_THAT(channel, IsOk());
  status = Generate(*channel, {});
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(GrpcServerAuthTest, TlsWithTokensAndMutualTlsIdentities) {
  BlockingBuilder builder;
  std::shared_ptr<const Authenticator> callers = TestCallers(true);
  builder.authenticator = callers.get();
  ServerOptions options = TlsOptions(true);
  options.authenticator = callers;
  auto server = GrpcServer::Start(options, AuthHosted(&builder));
  ASSERT_THAT(server, IsOk());
  (*server)->SetServing(true);

  ClientOptions client = TlsClient(**server, true);
  auto cert_only = CreateClientChannel(client);
  ASSERT_THAT(cert_only, IsOk());
  EXPECT_EQ(Check(*cert_only, ""), HealthCheckResponse::SERVING);
  std::string summary;
  grpc::Status by_cert = Generate(*cert_only, {}, &summary);
  ASSERT_TRUE(by_cert.ok()) << by_cert.error_message();
  EXPECT_EQ(summary, "caller cert-peer");

  client.bearer_token = kReaderToken;
  auto with_token = CreateClientChannel(client);
  ASSERT_THAT(with_token, IsOk());
  EXPECT_EQ(Generate(*with_token, {}).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST(GrpcServerAuthTest, ACertificateTheCaSignedIsNotEnough) {
  BlockingBuilder builder;
  ServerOptions options = TlsOptions(true);
  options.authenticator = TestCallers(false);
  auto server = GrpcServer::Start(options, AuthHosted(&builder));
  ASSERT_THAT(server, IsOk());
  auto channel = CreateClientChannel(TlsClient(**server, true));
  ASSERT_THAT(channel, IsOk());
  grpc::Status status = Generate(*channel, {});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("autopack-client"));
}

TEST(GrpcServerAuthTest, EveryMethodNeedsARight) {
  v1::GitAdapterService::Service git;
  ServerOptions options{"auth", "127.0.0.1:0"};
  options.authenticator = TestCallers(false);
  EXPECT_THAT(GrpcServer::Start(options, {{&git, v1::GitAdapterService::service_full_name(),
                                           MethodRights{{"OpenWorkspace", Right::kService}}}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("autopack.v1.GitAdapterService."),
                             HasSubstr("has no right"))));
  // Without authentication the table is not needed.
  options.authenticator = nullptr;
  EXPECT_THAT(GrpcServer::Start(options, {{&git, v1::GitAdapterService::service_full_name()}}),
              IsOk());
}

TEST(GrpcServerAuthTest, ListeningBeyondLoopbackNeedsTlsAndTokens) {
  BlockingBuilder builder;
  ServerOptions plain{"open", "0.0.0.0:0"};
  EXPECT_THAT(GrpcServer::Start(plain, Hosted(&builder)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("without TLS"), HasSubstr("--allow_insecure_listen"))));
  ServerOptions tls_only = TlsOptions(false);
  tls_only.listen = "[::]:0";
  EXPECT_THAT(GrpcServer::Start(tls_only, Hosted(&builder)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("without authentication")));
  ServerOptions tokens_in_clear{"clear", "0.0.0.0:0"};
  tokens_in_clear.authenticator = TestCallers(false);
  tokens_in_clear.allow_insecure_listen = true;
  EXPECT_THAT(GrpcServer::Start(tokens_in_clear, AuthHosted(&builder)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("in the clear")));

  plain.allow_insecure_listen = true;
  EXPECT_THAT(GrpcServer::Start(plain, Hosted(&builder)), IsOk());
  ServerOptions secure = TlsOptions(true);
  secure.listen = "0.0.0.0:0";
  secure.authenticator = TestCallers(false);
  EXPECT_THAT(GrpcServer::Start(secure, AuthHosted(&builder)), IsOk());
  for (const char* loopback : {"127.0.0.1:0", "127.3.4.5:0", "localhost:0", "[::1]:0"}) {
    BlockingBuilder local;
    EXPECT_THAT(GrpcServer::Start({"local", loopback}, Hosted(&local)), IsOk()) << loopback;
  }
}

}  // namespace
}  // namespace autopack
