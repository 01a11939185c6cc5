#include "services/common/pricing.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"

namespace autopack {
namespace {

constexpr int64_t kMicro = 1000000;
constexpr int64_t kMaxPriceMicro = 1000000 * kMicro;  // $1M per 1M tokens

absl::StatusOr<int64_t> PriceField(const ConfigNode& model, absl::string_view key) {
  ASSIGN_OR_RETURN(ConfigNode node, model.Get(key));
  ASSIGN_OR_RETURN(std::string text, node.AsString());
  absl::StatusOr<int64_t> micro = PriceTable::ParseUsdToMicro(text);
  if (!micro.ok()) return node.Error(micro.status().message());
  return *micro;
}

// ceil(a / b) for a >= 0, b > 0.
int64_t CeilDiv(__int128 a, int64_t b) { return static_cast<int64_t>((a + b - 1) / b); }

}  // namespace

absl::StatusOr<int64_t> PriceTable::ParseUsdToMicro(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a USD amount such as 2.50, got \"", text, "\" (", why, ")"));
  };
  if (text.empty()) return bad("empty");
  if (text[0] == '-') return bad("negative");
  const size_t dot = text.find('.');
  absl::string_view whole = text.substr(0, dot);
  absl::string_view fraction = dot == absl::string_view::npos ? "" : text.substr(dot + 1);
  if (fraction.size() > 6) return bad("more than 6 decimals");
  int64_t whole_value = 0;
  if (!whole.empty() && !absl::SimpleAtoi(whole, &whole_value)) return bad("not a number");
  int64_t fraction_value = 0;
  if (!fraction.empty()) {
    for (char c : fraction) {
      if (!absl::ascii_isdigit(c)) return bad("not a number");
    }
    if (!absl::SimpleAtoi(fraction, &fraction_value)) return bad("not a number");
    for (size_t i = fraction.size(); i < 6; ++i) fraction_value *= 10;
  }
  if (whole.empty() && fraction.empty()) return bad("not a number");
  if (whole_value > kMaxPriceMicro / kMicro) return bad("implausibly large");
  return whole_value * kMicro + fraction_value;
}

absl::StatusOr<PriceTable> PriceTable::FromConfig(const ConfigNode& root) {
  RETURN_IF_ERROR(root.CheckKeys({"models"}));
  ASSIGN_OR_RETURN(ConfigNode models, root.Get("models"));
  ASSIGN_OR_RETURN(auto entries, models.Entries());
  if (entries.empty()) return models.Error("no models priced");
  PriceTable table;
  for (const auto& [name, model] : entries) {
    if (name.find('/') == std::string::npos) {
      return model.Error("model names are provider/name, e.g. openai/gpt-4o");
    }
    RETURN_IF_ERROR(model.CheckKeys({"input_per_1m", "cached_input_per_1m", "output_per_1m"}));
    ModelPrice price;
    ASSIGN_OR_RETURN(price.input_micro_usd_per_1m, PriceField(model, "input_per_1m"));
    ASSIGN_OR_RETURN(price.output_micro_usd_per_1m, PriceField(model, "output_per_1m"));
    price.cached_input_micro_usd_per_1m = price.input_micro_usd_per_1m;
    if (model.Find("cached_input_per_1m").has_value()) {
      ASSIGN_OR_RETURN(price.cached_input_micro_usd_per_1m,
                       PriceField(model, "cached_input_per_1m"));
    }
    table.prices_[name] = price;
  }
  return table;
}

absl::StatusOr<PriceTable> PriceTable::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return FromConfig(root);
}

absl::StatusOr<ModelPrice> PriceTable::Price(absl::string_view model) const {
  auto it = prices_.find(std::string(model));
  if (it == prices_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model '", model, "' has no price in pricing.yaml"));
  }
  return it->second;
}

std::vector<std::string> PriceTable::Models() const {
  std::vector<std::string> out;
  for (const auto& entry : prices_) out.push_back(entry.first);
  return out;
}

absl::StatusOr<int64_t> PriceTable::Cost(absl::string_view model,
                                         const v1::TokenUsage& usage) const {
  ASSIGN_OR_RETURN(ModelPrice price, Price(model));
  if (usage.input_tokens() < 0 || usage.cached_input_tokens() < 0 ||
      usage.output_tokens() < 0 || usage.reasoning_tokens() < 0) {
    return absl::InvalidArgumentError("token counts must not be negative");
  }
  const __int128 total =
      static_cast<__int128>(usage.input_tokens()) * price.input_micro_usd_per_1m +
      static_cast<__int128>(usage.cached_input_tokens()) * price.cached_input_micro_usd_per_1m +
      static_cast<__int128>(usage.output_tokens() + usage.reasoning_tokens()) *
          price.output_micro_usd_per_1m;
  return CeilDiv(total, kMicro);
}

absl::StatusOr<int64_t> PriceTable::WorstCaseCost(absl::string_view model, int64_t input_tokens,
                                                  int64_t output_tokens) const {
  v1::TokenUsage usage;
  usage.set_input_tokens(input_tokens);
  usage.set_output_tokens(output_tokens);
  return Cost(model, usage);
}

}  // namespace autopack
