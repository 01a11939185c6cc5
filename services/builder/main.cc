// builder_server: the Builder service (DESIGN.md §1).
#include "absl/flags/flag.h"
#include "services/builder/builder.h"
#include "services/builder/builder_service.h"
#include "services/common/llm/http_client.h"
#include "services/common/llm/llm_client.h"
#include "services/common/llm/provider_config.h"
#include "services/common/logging.h"
#include "services/common/pricing.h"
#include "services/common/server_flags.h"

ABSL_FLAG(std::string, providers_config, "config/providers.yaml",
          "providers.yaml: LLM endpoints, key sources, timeouts, retries");
ABSL_FLAG(std::string, pricing_config, "config/pricing.yaml",
          "pricing.yaml: USD per 1M tokens for every model that may be used");

int main(int argc, char** argv) {
  autopack::InitServerProcess(
      argc, argv, "builder",
      "writes a phase's change as a unified diff with an LLM.\n"
      "Usage: builder_server [--listen=HOST:PORT] [--providers_config=F] [--pricing_config=F]\n"
      "                      [--tls_cert=F --tls_key=F]");
  // Configuration errors end the process before it listens.
  auto providers = autopack::llm::LoadProvidersFile(absl::GetFlag(FLAGS_providers_config));
  if (!providers.ok()) {
    autopack::LogError(providers.status().ToString());
    return 1;
  }
  auto prices = autopack::PriceTable::LoadFile(absl::GetFlag(FLAGS_pricing_config));
  if (!prices.ok()) {
    autopack::LogError(prices.status().ToString());
    return 1;
  }
  autopack::llm::CurlHttpClient http;
  autopack::llm::LlmClient llm(*providers, *std::move(prices), &http);
  autopack::builder::Builder core(&llm);
  autopack::builder::BuilderServiceImpl service(&core);
  const absl::Status status = autopack::ServeUntilSignal(
      autopack::ServerOptionsFromFlags("builder", 50052),
      {{&service, autopack::v1::BuilderService::service_full_name()}});
  if (!status.ok()) {
    autopack::LogError(status.ToString());
    return 1;
  }
  return 0;
}
