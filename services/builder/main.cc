// builder_server: the Builder service (DESIGN.md §1).
#include "services/builder/builder.h"
#include "services/builder/builder_service.h"
#include "services/common/llm/http_client.h"
#include "services/common/llm/llm_client.h"
#include "services/common/llm/llm_flags.h"
#include "services/common/logging.h"
#include "services/common/server_flags.h"


int main(int argc, char** argv) {
  autopack::InitServerProcess(
      argc, argv, "builder",
      "writes a phase's change as a unified diff with an LLM.\n"
      "Usage: builder_server [--listen=HOST:PORT] [--providers_config=F] [--pricing_config=F]\n"
      "                      [--tls_cert=F --tls_key=F]");
  const absl::StatusOr<autopack::ServerOptions> server_options =
      autopack::ServerOptionsFromFlags("builder", 50052);
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
  autopack::builder::Builder core(llm->get());
  autopack::builder::BuilderServiceImpl service(&core);
  // Only the Supervisor calls this service.
  const absl::Status status = autopack::ServeUntilSignal(
      *server_options, {{&service, autopack::v1::BuilderService::service_full_name(),
                         autopack::MethodRights::Every(autopack::Right::kService)}});
  if (!status.ok()) {
    autopack::LogError(status.ToString());
    return 1;
  }
  return 0;
}
