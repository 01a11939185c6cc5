// Starts the four server binaries as separate processes on port 0 and checks
// what every deployment relies on: health, reflection, clean SIGTERM, no
// plaintext listening beyond loopback by accident.
#include <signal.h>

#include <memory>
#include <set>
#include <string>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "autopack/v1/builder.grpc.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace autopack {
namespace {

using ::grpc::reflection::v1alpha::ServerReflection;
using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;
using ::testing::Contains;

struct ServiceCase {
  std::string binary;
  std::string service;  // full name of its autopack.v1 service
};

// Flags a server needs besides --listen to start inside a test.
std::vector<std::string> ServerArgs(const std::string& binary) {
  std::vector<std::string> args = {"--listen=127.0.0.1:0", "--shutdown_grace=2s"};
  if (binary.find("supervisor") != std::string::npos) {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    args.push_back(absl::StrCat("--store=sqlite:", std::getenv("TEST_TMPDIR"), "/", name, ".db"));
  }
  return args;
}

class ServicesTest : public ::testing::TestWithParam<ServiceCase> {
 protected:
  void SetUp() override {
    auto process = testing::ServerProcess::Start(GetParam().binary, ServerArgs(GetParam().binary));
    ASSERT_TRUE(process.ok()) << process.status();
    process_ = std::move(*process);
    channel_ = grpc::CreateChannel(process_->address(), grpc::InsecureChannelCredentials());
  }

  std::unique_ptr<testing::ServerProcess> process_;
  std::shared_ptr<grpc::Channel> channel_;
};

grpc::health::v1::HealthCheckResponse::ServingStatus Health(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

TEST_P(ServicesTest, HealthAnswersServing) {
  EXPECT_EQ(Health(channel_, ""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(channel_, GetParam().service),
            grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_P(ServicesTest, ReflectionListsTheServiceAndHealthAndDescribesThem) {
  auto stub = ServerReflection::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto stream = stub->ServerReflectionInfo(&context);

  ServerReflectionRequest list;
  list.set_list_services("*");
  ASSERT_TRUE(stream->Write(list));
  ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::set<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.insert(service.name());
  }
  EXPECT_THAT(names, Contains(GetParam().service));
  EXPECT_THAT(names, Contains("grpc.health.v1.Health"));

  // What grpcurl does next: fetch the descriptor of the service by symbol.
  ServerReflectionRequest describe;
  describe.set_file_containing_symbol(GetParam().service);
  ASSERT_TRUE(stream->Write(describe));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_file_descriptor_response())
      << response.error_response().error_message();
  bool found = false;
  for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(file.ParseFromString(bytes));
    for (const auto& service : file.service()) {
      found = found || file.package() + "." + service.name() == GetParam().service;
    }
  }
  EXPECT_TRUE(found) << "no descriptor for " << GetParam().service;
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_P(ServicesTest, SigtermStopsWithinTheGracePeriodWithExitCodeZero) {
  ASSERT_EQ(Health(channel_, ""), grpc::health::v1::HealthCheckResponse::SERVING);
  const absl::Time start = absl::Now();
  auto exit_code = process_->Stop(SIGTERM, absl::Seconds(2) + absl::Seconds(3));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << process_->Log();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_NE(process_->Log().find("received SIGTERM"), std::string::npos);
}

TEST_P(ServicesTest, SigintAlsoStopsCleanly) {
  auto exit_code = process_->Stop(SIGINT, absl::Seconds(5));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << process_->Log();
}

TEST_P(ServicesTest, RefusesToListenBeyondLoopbackInPlaintextUnlessTold) {
  std::vector<std::string> args = ServerArgs(GetParam().binary);
  args.push_back("--listen=0.0.0.0:0");
  auto refused = testing::ServerProcess::Start(GetParam().binary, args);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("refusing to listen on 0.0.0.0:0"),
            std::string::npos)
      << refused.status();
  args.push_back("--allow_insecure_listen");
  auto allowed = testing::ServerProcess::Start(GetParam().binary, args);
  EXPECT_TRUE(allowed.ok()) << allowed.status();
}

INSTANTIATE_TEST_SUITE_P(
    AllFour, ServicesTest,
    ::testing::Values(
        ServiceCase{"services/builder/builder_server", "autopack.v1.BuilderService"},
        ServiceCase{"services/auditor/auditor_server", "autopack.v1.AuditorService"},
        ServiceCase{"services/gitadapter/gitadapter_server", "autopack.v1.GitAdapterService"},
        ServiceCase{"services/supervisor/supervisor_server", "autopack.v1.SupervisorService"}),
    [](const auto& info) {
      const std::string& b = info.param.binary;
      return b.substr(b.rfind('/') + 1);
    });

TEST(ServicesTest, ListeningTwiceOnOnePortFailsWithExitCodeOne) {
  auto first = testing::ServerProcess::Start("services/builder/builder_server",
                                             {"--listen=127.0.0.1:0"});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = testing::ServerProcess::Start(
      "services/auditor/auditor_server", {"--listen=" + (*first)->address()});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message()).find("cannot listen on"), std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace autopack
