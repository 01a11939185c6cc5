// The shared bootstrap counts, times and logs every call it serves, with
// the run and phase ids of the call's metadata.
#include "services/common/rpc_observer.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/logging.h"
#include "services/common/metrics.h"
#include "services/common/server.h"
#include "tests/testing/prometheus_text.h"

namespace autopack {
namespace {

TEST(RpcObserverTest, CallsAreCountedTimedAndLoggedWithRunAndPhaseIds) {
  ServerOptions options;
  auto server = GrpcServer::Start(options, {});
  ASSERT_TRUE(server.ok()) << server.status();
  (*server)->SetServing(true);
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials()));

  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/stderr.txt";
  const int file = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  const int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  SetLogLevel(LogLevel::kDebug);
  for (const char* service : {"", "no.such.Service"}) {
    grpc::ClientContext context;
    context.AddMetadata("x-autopack-run-id", "run-7");
    context.AddMetadata("x-autopack-phase-id", std::string(1000, 'p'));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    (void)health->Check(&context, request, &response);
  }
  (*server)->Shutdown();
  (*server)->Wait();
  SetLogLevel(LogLevel::kInfo);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(file);

  auto scrape = testing::ParsePrometheusText(Metrics().Render());
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_EQ(scrape->Sum("autopack_rpc_server_calls_total",
                        {{"method", "grpc.health.v1.Health/Check"}, {"code", "OK"}}), 1);
  EXPECT_EQ(scrape->Sum("autopack_rpc_server_calls_total",
                        {{"method", "grpc.health.v1.Health/Check"}, {"code", "NOT_FOUND"}}), 1);
  EXPECT_EQ(scrape->Sum("autopack_rpc_server_latency_seconds_count",
                        {{"method", "grpc.health.v1.Health/Check"}}), 2);

  std::ifstream in(path);
  int rpc_lines = 0;
  for (std::string text; std::getline(in, text);) {
    const nlohmann::json line = nlohmann::json::parse(text);
    if (line["msg"] != "rpc") continue;
    ++rpc_lines;
    EXPECT_EQ(line["rpc"], "grpc.health.v1.Health/Check");
    EXPECT_EQ(line["level"], "debug") << "health checks are probes' noise";
    EXPECT_EQ(line["run_id"], "run-7");
    EXPECT_EQ(line["phase_id"].get<std::string>().size(), kMaxLoggedIdBytes);
    EXPECT_TRUE(line.contains("latency_ms"));
    EXPECT_TRUE(line["code"] == "OK" || line["code"] == "NOT_FOUND") << text;
  }
  EXPECT_EQ(rpc_lines, 2);
}

}  // namespace
}  // namespace autopack
