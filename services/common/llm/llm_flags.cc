#include "services/common/llm/llm_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, providers_config, "config/providers.yaml",
          "providers.yaml: LLM endpoints, key sources, timeouts, retries");
ABSL_FLAG(std::string, pricing_config, "config/pricing.yaml",
          "pricing.yaml: USD per 1M tokens for every model that may be used");

namespace autopack::llm {

absl::StatusOr<std::unique_ptr<LlmClient>> LlmClientFromFlags(HttpClient* http) {
  return LlmClient::LoadFromFiles(absl::GetFlag(FLAGS_providers_config),
                                  absl::GetFlag(FLAGS_pricing_config), http);
}

}  // namespace autopack::llm
