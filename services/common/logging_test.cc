#include "services/common/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace autopack {
namespace {

// The lines `log` writes to stderr.
template <typename F>
std::vector<std::string> CaptureLines(F log) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/stderr.txt";
  const int file = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  const int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  log();
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(file);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(LoggingTest, OneJsonObjectPerLineWithUserDataEscaped) {
  SetLogServiceName("builder");
  const auto lines = CaptureLines([] {
    LogInfo("rpc", {{"rpc", "autopack.v1.BuilderService/GeneratePatch"},
                    {"run_id", "r1\r\n{\"level\":\"error\",\"msg\":\"forged\"}"},
                    {"phase_id", ""}});
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\r'), std::string::npos);
  const nlohmann::json line = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["service"], "builder");
  EXPECT_EQ(line["msg"], "rpc");
  EXPECT_EQ(line["run_id"], "r1\r\n{\"level\":\"error\",\"msg\":\"forged\"}");
  EXPECT_FALSE(line.contains("phase_id")) << "empty fields are left out: " << lines[0];
  EXPECT_TRUE(line.contains("time"));
}

TEST(LoggingTest, LevelFiltersLessSevereLines) {
  SetLogLevel(LogLevel::kWarning);
  const auto lines = CaptureLines([] {
    LogDebug("d");
    LogInfo("i");
    LogWarning("w");
    LogError("e");
  });
  SetLogLevel(LogLevel::kInfo);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["msg"], "w");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "error");
}

TEST(LoggingTest, ParsesLevelNames) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("verbose").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace autopack
