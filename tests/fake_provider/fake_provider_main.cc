// fake_provider: the project's fake LLM provider as a process, playing the
// models of a run plan from recorded answers (see plan_responder.h). Used by
// `./autopack demo` when no provider key is set; prints "listening on
// 127.0.0.1:PORT" like the services.
#include <signal.h>

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/common/server.h"
#include "tests/fake_provider/plan_responder.h"

ABSL_FLAG(std::string, listen_host, "127.0.0.1",
          "IPv4 address to listen on; 0.0.0.0 in a container that others reach by name");
ABSL_FLAG(int32_t, port, 0, "port to listen on; 0 picks a free one");
ABSL_FLAG(std::string, answers_dir, "",
          "directory of <phase_id>.md files: the Builder model's answer per phase");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "serves OpenAI- and Anthropic-format chat APIs on 127.0.0.1 from recorded answers.\n"
      "Usage: fake_provider --answers_dir=DIR [--listen_host=IP] [--port=N]");
  absl::ParseCommandLine(argc, argv);
  autopack::SetLogServiceName("fake_provider");
  autopack::BlockShutdownSignals();
  auto answers = autopack::testing::LoadPlanAnswers(absl::GetFlag(FLAGS_answers_dir));
  if (!answers.ok()) {
    autopack::LogError(answers.status().ToString());
    return 1;
  }
  auto server = autopack::testing::FakeProviderServer::Start(absl::GetFlag(FLAGS_listen_host),
                                                         absl::GetFlag(FLAGS_port));
  if (!server.ok()) {
    autopack::LogError(server.status().ToString());
    return 1;
  }
  (*server)->SetResponder(autopack::testing::PlanResponder(*answers));
  autopack::LogInfo(absl::StrCat("listening on ", absl::GetFlag(FLAGS_listen_host), ":", (*server)->port()));
  autopack::WaitForShutdownSignal();
  autopack::LogInfo(absl::StrCat("stopped after ", (*server)->exchanges().size(), " requests"));
  return 0;
}
