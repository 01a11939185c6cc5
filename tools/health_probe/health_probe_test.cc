// health_probe against an in-process server: its exit code follows the
// health service, and it fails (saying why) when nothing answers.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/server.h"

namespace autopack {
namespace {

struct Probe {
  int exit_code;
  std::string output;
};

// `env` is prepended to the command line ("K=V ..."), `args` appended.
Probe RunProbe(const std::string& args, const std::string& env = "") {
  const std::string command =
      absl::StrCat(env, " tools/health_probe/health_probe ", args, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(HealthProbeTest, ExitCodeFollowsServingStatus) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto server = GrpcServer::Start(options, {});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = absl::StrCat("--address=127.0.0.1:", (*server)->port());

  Probe before = RunProbe(address);
  EXPECT_EQ(before.exit_code, 1) << before.output;
  EXPECT_NE(before.output.find("NOT_SERVING"), std::string::npos) << before.output;

  (*server)->SetServing(true);
  Probe serving = RunProbe(address);
  EXPECT_EQ(serving.exit_code, 0) << serving.output;
  EXPECT_NE(serving.output.find("SERVING"), std::string::npos) << serving.output;

  // The environment is the default when no flag is given (the images' HEALTHCHECK).
  Probe from_env = RunProbe("", absl::StrCat("AUTOPACK_PROBE_ADDRESS=127.0.0.1:", (*server)->port()));
  EXPECT_EQ(from_env.exit_code, 0) << from_env.output;

  (*server)->Shutdown();
  (*server)->Wait();
  Probe gone = RunProbe(absl::StrCat(address, " --timeout=1s"));
  EXPECT_EQ(gone.exit_code, 1) << gone.output;
  EXPECT_NE(gone.output.find("health_probe: 127.0.0.1:"), std::string::npos) << gone.output;
}

TEST(HealthProbeTest, UnreadableCaFailsSayingSo) {
  Probe probe = RunProbe("--address=127.0.0.1:1 --tls_ca=/nonexistent/ca.pem");
  EXPECT_EQ(probe.exit_code, 1) << probe.output;
  EXPECT_NE(probe.output.find("/nonexistent/ca.pem"), std::string::npos) << probe.output;
}

}  // namespace
}  // namespace autopack
