#include "services/common/server.h"

#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "autopack/v1/builder.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "services/common/client.h"
#include "services/common/status_matchers.h"

namespace autopack {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

constexpr char kTestdata[] = "services/common/testdata/";

// Answers GeneratePatch after `release` is notified (or at once if null), so
// tests can hold a call in flight across a shutdown.
class BlockingBuilder final : public v1::BuilderService::Service {
 public:
  absl::Notification started;
  absl::Notification* release = nullptr;

  grpc::Status GeneratePatch(grpc::ServerContext* context, const v1::GeneratePatchRequest*,
                             v1::GeneratePatchResponse* response) override {
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

}  // namespace
}  // namespace autopack
