#include "services/common/llm/llm_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/llm/anthropic_provider.h"
#include "services/common/llm/openai_provider.h"
#include "services/common/status_macros.h"

namespace autopack::llm {

LlmClient::LlmClient(const std::map<std::string, ProviderConfig>& providers, PriceTable prices,
                     HttpClient* http, SleepFunction sleep)
    : prices_(std::move(prices)) {
  for (const auto& [name, config] : providers) {
    if (config.kind == ProviderKind::kAnthropic) {
      providers_[name] = std::make_unique<AnthropicProvider>(config, http, sleep);
    } else {
      providers_[name] = std::make_unique<OpenAiProvider>(config, http, sleep);
    }
  }
}

absl::StatusOr<std::unique_ptr<LlmClient>> LlmClient::LoadFromFiles(
    const std::string& providers_path, const std::string& pricing_path, HttpClient* http) {
  ASSIGN_OR_RETURN(auto providers, LoadProvidersFile(providers_path));
  ASSIGN_OR_RETURN(PriceTable prices, PriceTable::LoadFile(pricing_path));
  return std::make_unique<LlmClient>(providers, std::move(prices), http);
}

absl::Status LlmClient::CheckModel(absl::string_view model) const {
  ASSIGN_OR_RETURN(const auto parts, SplitModel(model));
  if (providers_.count(parts.first) == 0) {
    std::vector<std::string> known;
    for (const auto& entry : providers_) known.push_back(entry.first);
    return absl::InvalidArgumentError(
        absl::StrCat("model \"", model, "\": provider '", parts.first,
                     "' is not in providers.yaml (configured: ", absl::StrJoin(known, ", "), ")"));
  }
  if (!prices_.Has(model)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model \"", model, "\" has no price in pricing.yaml; add it there first"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PricedCompletion> LlmClient::Complete(absl::string_view model,
                                                     CompletionRequest request) const {
  RETURN_IF_ERROR(CheckModel(model));
  ASSIGN_OR_RETURN(const auto parts, SplitModel(model));
  request.model = parts.second;
  PricedCompletion result;
  ASSIGN_OR_RETURN(result.completion, providers_.at(parts.first)->Complete(request));
  result.model = std::string(model);
  if (!result.completion.model.empty()) {
    const std::string answered = absl::StrCat(parts.first, "/", result.completion.model);
    if (!prices_.EntryFor(answered).empty()) result.model = answered;
  }
  ASSIGN_OR_RETURN(result.cost_micro_usd, prices_.Cost(result.model, result.completion.usage));
  return result;
}

}  // namespace autopack::llm
