#include "tests/fake_provider/fake_llm.h"

#include <stdlib.h>

#include "services/common/pricing.h"

namespace autopack::testing {

absl::StatusOr<std::unique_ptr<FakeLlm>> FakeLlm::Start(const std::string& pricing_path,
                                                        int max_retries) {
  std::unique_ptr<FakeLlm> fake(new FakeLlm);
  auto server = FakeProviderServer::Start();
  if (!server.ok()) return server.status();
  fake->server_ = std::move(*server);
  auto prices = PriceTable::LoadFile(pricing_path);
  if (!prices.ok()) return prices.status();
  setenv("AUTOPACK_FAKE_LLM_KEY", "sk-fake-llm-key", 1);
  std::map<std::string, llm::ProviderConfig> providers;
  for (const auto& [name, kind] : {std::make_pair("openai", llm::ProviderKind::kOpenAi),
                                   std::make_pair("anthropic", llm::ProviderKind::kAnthropic)}) {
    llm::ProviderConfig& config = providers[name];
    config.name = name;
    config.kind = kind;
    config.base_url = fake->server_->base_url() + (kind == llm::ProviderKind::kOpenAi ? "/v1" : "");
    config.api_key_env = "AUTOPACK_FAKE_LLM_KEY";
    config.retry.max_retries = max_retries;
    config.retry.base_backoff = absl::Milliseconds(10);
  }
  fake->client_ = std::make_unique<llm::LlmClient>(providers, *std::move(prices), &fake->http_);
  return fake;
}

}  // namespace autopack::testing
