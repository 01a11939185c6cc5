#include "services/common/llm/llm_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/billed_usage.h"
#include "services/common/llm/anthropic_provider.h"
#include "services/common/llm/openai_provider.h"
#include "services/common/metrics.h"
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

namespace {

// Every call, failed ones included: a failed call's billed tokens cost money too.
void RecordCall(const std::string& provider, const std::string& model, const absl::Status& status,
                const v1::TokenUsage& usage, int64_t cost_micro_usd) {
  static Counter& calls = Metrics().GetCounter(
      "autopack_llm_calls_total", "LLM calls (retries inside one call not counted), by provider, model and code",
      {"provider", "model", "code"});
  static Counter& tokens = Metrics().GetCounter(
      "autopack_llm_tokens_total", "Tokens billed by LLM providers, by provider, model and kind",
      {"provider", "model", "kind"});
  static Counter& cost = Metrics().GetCounter(
      "autopack_llm_cost_micro_usd_total", "Cost of LLM calls in micro-USD (pricing.yaml), by provider and model",
      {"provider", "model"});
  calls.Add({provider, model, absl::StatusCodeToString(status.code())});
  tokens.Add({provider, model, "input"}, usage.input_tokens());
  tokens.Add({provider, model, "cached_input"}, usage.cached_input_tokens());
  tokens.Add({provider, model, "output"}, usage.output_tokens());
  tokens.Add({provider, model, "reasoning"}, usage.reasoning_tokens());
  cost.Add({provider, model}, cost_micro_usd);
}

}  // namespace

absl::StatusOr<PricedCompletion> LlmClient::Complete(absl::string_view model,
                                                     CompletionRequest request) const {
  RETURN_IF_ERROR(CheckModel(model));
  ASSIGN_OR_RETURN(const auto parts, SplitModel(model));
  request.model = parts.second;
  absl::StatusOr<Completion> completion = providers_.at(parts.first)->Complete(request);
  if (!completion.ok()) {
    const v1::TokenUsage billed = BilledUsageOf(completion.status());
    absl::StatusOr<int64_t> cost = prices_.Cost(model, billed);
    RecordCall(parts.first, parts.second, completion.status(), billed, cost.ok() ? *cost : 0);
    return completion.status();
  }
  PricedCompletion result;
  result.completion = *std::move(completion);
  result.model = std::string(model);
  if (!result.completion.model.empty()) {
    const std::string answered = absl::StrCat(parts.first, "/", result.completion.model);
    if (!prices_.EntryFor(answered).empty()) result.model = answered;
  }
  absl::StatusOr<int64_t> cost = prices_.Cost(result.model, result.completion.usage);
  RecordCall(parts.first, parts.second, absl::OkStatus(), result.completion.usage, cost.ok() ? *cost : 0);
  ASSIGN_OR_RETURN(result.cost_micro_usd, cost);
  return result;
}

}  // namespace autopack::llm
