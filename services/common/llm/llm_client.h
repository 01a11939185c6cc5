// What Builder and Auditor call: routes a "provider/name" model to its
// configured provider and prices the answer from pricing.yaml.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_LLM_CLIENT_H_
#define AUTOPACK_SERVICES_COMMON_LLM_LLM_CLIENT_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/llm/http_client.h"
#include "services/common/llm/provider.h"
#include "services/common/llm/provider_config.h"
#include "services/common/pricing.h"

namespace autopack::llm {

struct PricedCompletion {
  Completion completion;
  // "provider/name" of the model that answered, as the provider named it (a
  // dated snapshot such as openai/gpt-4o-2024-08-06) when the catalog can
  // price it by its family, else the model asked for.
  std::string model;
  // Priced by `model`.
  int64_t cost_micro_usd = 0;
};

class LlmClient {
 public:
  // One provider per entry of `providers`. `http` is not owned and must
  // outlive the client; `sleep` as for HttpProvider.
  LlmClient(const std::map<std::string, ProviderConfig>& providers, PriceTable prices,
            HttpClient* http, SleepFunction sleep = nullptr);

  // From a providers.yaml and a pricing.yaml, as the servers start: errors
  // name the file, line and key at fault.
  static absl::StatusOr<std::unique_ptr<LlmClient>> LoadFromFiles(
      const std::string& providers_path, const std::string& pricing_path, HttpClient* http);

  // INVALID_ARGUMENT naming the model when it is not "provider/name", its
  // provider is not configured, or pricing.yaml has no price for it.
  absl::Status CheckModel(absl::string_view model) const;

  // Checks the model, sets request.model to the provider's name for it, calls
  // and prices the answer. Errors as for Provider::Complete (with the usage
  // billed before the failure on the status, see billed_usage.h).
  absl::StatusOr<PricedCompletion> Complete(absl::string_view model,
                                            CompletionRequest request) const;

  // Cost of `usage` on `model` (e.g. usage of a failed call).
  absl::StatusOr<int64_t> Cost(absl::string_view model, const v1::TokenUsage& usage) const {
    return prices_.Cost(model, usage);
  }

 private:
  std::map<std::string, std::unique_ptr<Provider>> providers_;
  PriceTable prices_;
};

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_LLM_CLIENT_H_
