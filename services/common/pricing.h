// The model catalog, config/pricing.yaml: per model its prices as exact
// integers (USD amounts are parsed as decimals, no floating point, into
// micro-USD per 1M tokens), its context window and output limit, and how it is
// asked (reasoning model, structured output, edit format).
#ifndef AUTOPACK_SERVICES_COMMON_PRICING_H_
#define AUTOPACK_SERVICES_COMMON_PRICING_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "autopack/v1/builder.pb.h"
#include "autopack/v1/common.pb.h"
#include "services/common/config.h"

namespace autopack {

struct ModelPrice {
  int64_t input_micro_usd_per_1m = 0;
  int64_t cached_input_micro_usd_per_1m = 0;  // defaults to the input price
  int64_t cache_write_micro_usd_per_1m = 0;   // defaults to the input price
  int64_t output_micro_usd_per_1m = 0;        // also applies to reasoning tokens

  // The dearest price an input token of a call may be billed at (a prompt the
  // provider writes to its cache costs more than plain input): what a worst
  // case is priced with.
  int64_t WorstInputPrice() const {
    return input_micro_usd_per_1m > cache_write_micro_usd_per_1m ? input_micro_usd_per_1m
                                                                 : cache_write_micro_usd_per_1m;
  }
};

// The catalog's name of an edit format (GeneratePatchRequest.edit_format):
// "unified_diff", "search_replace", "apply_patch", "whole_file".
absl::string_view EditFormatName(v1::EditFormat format);

struct ModelInfo {
  ModelPrice price;
  // Prompt plus output tokens the model accepts.
  int64_t context_window = 0;
  // The largest output limit (reasoning included) the provider accepts.
  int64_t max_output_tokens = 0;
  // OpenAI reasoning models take max_completion_tokens and no temperature.
  bool reasoning = false;
  // Accepts a JSON schema for its answer; required of auditor models.
  bool structured_output = false;
  // The edit format the Builder asks this model to write its change in.
  v1::EditFormat edit_format = v1::UNIFIED_DIFF;
};

class PriceTable {
 public:
  // Parses a pricing.yaml document; errors name file, line and key.
  static absl::StatusOr<PriceTable> FromConfig(const ConfigNode& root);
  static absl::StatusOr<PriceTable> LoadFile(const std::string& path);

  // True when `model` is a catalog entry exactly (what config files must name).
  bool Has(absl::string_view model) const { return models_.count(std::string(model)) > 0; }
  // The entry that prices `model`: itself, or for a dated snapshot a provider
  // answered with ("openai/gpt-4o-2024-08-06", "...-20241022") its family
  // ("openai/gpt-4o"). Empty when there is none.
  std::string EntryFor(absl::string_view model) const;
  // INVALID_ARGUMENT naming the model when EntryFor finds no entry: never a
  // silent $0. Snapshots are priced by their family.
  absl::StatusOr<ModelPrice> Price(absl::string_view model) const;
  // The same error for an unknown model.
  absl::StatusOr<ModelInfo> Info(absl::string_view model) const;
  // min(requested, the model's max_output_tokens); `requested` for an unknown
  // model (which every caller has rejected already by its price).
  int64_t ClampOutput(absl::string_view model, int64_t requested) const;
  std::vector<std::string> Models() const;

  // Cost of one call in micro-USD, rounded up (a fraction of a micro-dollar is
  // charged, never dropped).
  absl::StatusOr<int64_t> Cost(absl::string_view model, const v1::TokenUsage& usage) const;
  // Upper bound of the cost of a call with `input_tokens` input (each priced at
  // WorstInputPrice) and `output_tokens` output.
  absl::StatusOr<int64_t> WorstCaseCost(absl::string_view model, int64_t input_tokens,
                                        int64_t output_tokens) const;

  // "1.25" -> 1250000. At most 6 decimals, not negative; exact.
  static absl::StatusOr<int64_t> ParseUsdToMicro(absl::string_view text);

 private:
  std::map<std::string, ModelInfo> models_;
};

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_PRICING_H_
