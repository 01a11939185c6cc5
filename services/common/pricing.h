// Model prices from config/pricing.yaml, as exact integers: USD amounts are
// parsed as decimals (no floating point) into micro-USD per 1M tokens.
#ifndef AUTOPACK_SERVICES_COMMON_PRICING_H_
#define AUTOPACK_SERVICES_COMMON_PRICING_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "autopack/v1/common.pb.h"
#include "services/common/config.h"

namespace autopack {

struct ModelPrice {
  int64_t input_micro_usd_per_1m = 0;
  int64_t cached_input_micro_usd_per_1m = 0;  // defaults to the input price
  int64_t output_micro_usd_per_1m = 0;        // also applies to reasoning tokens
};

class PriceTable {
 public:
  // Parses a pricing.yaml document; errors name file, line and key.
  static absl::StatusOr<PriceTable> FromConfig(const ConfigNode& root);
  static absl::StatusOr<PriceTable> LoadFile(const std::string& path);

  bool Has(absl::string_view model) const { return prices_.count(std::string(model)) > 0; }
  // INVALID_ARGUMENT naming the model when it has no price: never a silent $0.
  absl::StatusOr<ModelPrice> Price(absl::string_view model) const;
  std::vector<std::string> Models() const;

  // Cost of one call in micro-USD, rounded up (a fraction of a micro-dollar is
  // charged, never dropped).
  absl::StatusOr<int64_t> Cost(absl::string_view model, const v1::TokenUsage& usage) const;
  // Cost of a call that uses `input_tokens` uncached input and `output_tokens` output.
  absl::StatusOr<int64_t> WorstCaseCost(absl::string_view model, int64_t input_tokens,
                                        int64_t output_tokens) const;

  // "1.25" -> 1250000. At most 6 decimals, not negative; exact.
  static absl::StatusOr<int64_t> ParseUsdToMicro(absl::string_view text);

 private:
  std::map<std::string, ModelPrice> prices_;
};

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_PRICING_H_
