// auditor_server: the Auditor service (DESIGN.md §1).
#include "absl/flags/flag.h"
#include "services/auditor/auditor.h"
#include "services/auditor/auditor_config.h"
#include "services/auditor/auditor_service.h"
#include "services/common/llm/http_client.h"
#include "services/common/llm/llm_client.h"
#include "services/common/llm/llm_flags.h"
#include "services/common/logging.h"
#include "services/common/server_flags.h"

ABSL_FLAG(std::string, auditor_config, "config/auditor.yaml",
          "auditor.yaml: protected paths, secret patterns, deletion limits, review profiles");

int main(int argc, char** argv) {
  autopack::InitServerProcess(
      argc, argv, "auditor",
      "reviews patches with deterministic checks and an LLM.\n"
      "Usage: auditor_server [--listen=HOST:PORT] [--providers_config=F] [--pricing_config=F]\n"
      "                      [--auditor_config=F] [--tls_cert=F --tls_key=F]");
  const absl::StatusOr<autopack::ServerOptions> server_options =
      autopack::ServerOptionsFromFlags("auditor", 50053);
  if (!server_options.ok()) {
    autopack::LogError(server_options.status().ToString());
    return 1;
  }
  // Configuration errors end the process before it listens.
  autopack::llm::CurlHttpClient http;
  auto llm = autopack::llm::LlmClientFromFlags(&http);
  if (!llm.ok()) {
    autopack::LogError(llm.status().ToString());
    return 1;
  }
  auto config = autopack::auditor::AuditorConfig::LoadFile(absl::GetFlag(FLAGS_auditor_config));
  if (!config.ok()) {
    autopack::LogError(config.status().ToString());
    return 1;
  }
  autopack::auditor::Auditor core(llm->get(), *std::move(config));
  autopack::auditor::AuditorServiceImpl service(&core);
  // Only the Supervisor calls this service.
  const absl::Status status = autopack::ServeUntilSignal(
      *server_options, {{&service, autopack::v1::AuditorService::service_full_name(),
                         autopack::MethodRights::Every(autopack::Right::kService)}});
  if (!status.ok()) {
    autopack::LogError(status.ToString());
    return 1;
  }
  return 0;
}
