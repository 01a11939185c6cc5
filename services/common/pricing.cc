#include "services/common/pricing.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
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

absl::StatusOr<int64_t> PositiveField(const ConfigNode& model, absl::string_view key) {
  ASSIGN_OR_RETURN(ConfigNode node, model.Get(key));
  ASSIGN_OR_RETURN(int64_t value, node.AsInt());
  if (value <= 0) return node.Error(absl::StrCat("must be a positive token count, got ", value));
  return value;
}

constexpr std::pair<v1::EditFormat, absl::string_view> kEditFormats[] = {
    {v1::UNIFIED_DIFF, "unified_diff"},
    {v1::SEARCH_REPLACE, "search_replace"},
    {v1::APPLY_PATCH, "apply_patch"},
    {v1::WHOLE_FILE, "whole_file"},
};

absl::optional<v1::EditFormat> ParseEditFormat(absl::string_view text) {
  for (const auto& [format, name] : kEditFormats) {
    if (name == text) return format;
  }
  return absl::nullopt;
}

// ceil(a / b) for a >= 0, b > 0.
int64_t CeilDiv(__int128 a, int64_t b) { return static_cast<int64_t>((a + b - 1) / b); }

}  // namespace

absl::string_view EditFormatName(v1::EditFormat format) {
  for (const auto& [known, name] : kEditFormats) {
    if (known == format) return name;
  }
  return "unified_diff";
}

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
    RETURN_IF_ERROR(model.CheckKeys({"context_window", "max_output_tokens", "input_per_1m",
                                     "cached_input_per_1m", "cache_write_per_1m",
                                     "output_per_1m", "reasoning", "structured_output",
                                     "edit_format", "sources"}));
    ModelInfo info;
    ModelPrice& price = info.price;
    ASSIGN_OR_RETURN(price.input_micro_usd_per_1m, PriceField(model, "input_per_1m"));
    ASSIGN_OR_RETURN(price.output_micro_usd_per_1m, PriceField(model, "output_per_1m"));
    price.cached_input_micro_usd_per_1m = price.input_micro_usd_per_1m;
    if (model.Find("cached_input_per_1m").has_value()) {
      ASSIGN_OR_RETURN(price.cached_input_micro_usd_per_1m,
                       PriceField(model, "cached_input_per_1m"));
    }
    price.cache_write_micro_usd_per_1m = price.input_micro_usd_per_1m;
    if (model.Find("cache_write_per_1m").has_value()) {
      ASSIGN_OR_RETURN(price.cache_write_micro_usd_per_1m,
                       PriceField(model, "cache_write_per_1m"));
    }
    ASSIGN_OR_RETURN(info.context_window, PositiveField(model, "context_window"));
    ASSIGN_OR_RETURN(info.max_output_tokens, PositiveField(model, "max_output_tokens"));
    if (info.max_output_tokens >= info.context_window) {
      return model.Error(absl::StrCat("max_output_tokens ", info.max_output_tokens,
                                      " must be below context_window ", info.context_window));
    }
    ASSIGN_OR_RETURN(info.reasoning, model.GetBool("reasoning", false));
    ASSIGN_OR_RETURN(info.structured_output, model.GetBool("structured_output", false));
    if (absl::optional<ConfigNode> format = model.Find("edit_format")) {
      ASSIGN_OR_RETURN(std::string text, format->AsString());
      absl::optional<v1::EditFormat> parsed = ParseEditFormat(text);
      if (!parsed.has_value()) {
        return format->Error(absl::StrCat("edit_format must be unified_diff, search_replace, "
                                          "apply_patch or whole_file, got \"",
                                          text, "\""));
      }
      info.edit_format = *parsed;
    }
    if (absl::optional<ConfigNode> sources = model.Find("sources")) {
      ASSIGN_OR_RETURN(auto cited, sources->Entries());
      for (const auto& [figure, source] : cited) {
        ASSIGN_OR_RETURN(std::string text, source.AsString());
        if (text.empty()) return source.Error("a source names a page and its date");
      }
    }
    table.models_[name] = info;
  }
  return table;
}

absl::StatusOr<PriceTable> PriceTable::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return FromConfig(root);
}

std::string PriceTable::EntryFor(absl::string_view model) const {
  if (Has(model)) return std::string(model);
  // "-2024-08-06" (OpenAI) or "-20241022" (Anthropic) at the end.
  const auto digits = [](absl::string_view text) {
    for (char c : text) {
      if (!absl::ascii_isdigit(c)) return false;
    }
    return true;
  };
  const size_t n = model.size();
  if (n > 11 && model[n - 11] == '-' && model[n - 6] == '-' && model[n - 3] == '-' &&
      digits(model.substr(n - 10, 4)) && digits(model.substr(n - 5, 2)) &&
      digits(model.substr(n - 2, 2)) && Has(model.substr(0, n - 11))) {
    return std::string(model.substr(0, n - 11));
  }
  if (n > 9 && model[n - 9] == '-' && digits(model.substr(n - 8)) &&
      Has(model.substr(0, n - 9))) {
    return std::string(model.substr(0, n - 9));
  }
  return "";
}

absl::StatusOr<ModelInfo> PriceTable::Info(absl::string_view model) const {
  auto it = models_.find(EntryFor(model));
  if (it == models_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model '", model, "' has no price in pricing.yaml"));
  }
  return it->second;
}

absl::StatusOr<ModelPrice> PriceTable::Price(absl::string_view model) const {
  ASSIGN_OR_RETURN(ModelInfo info, Info(model));
  return info.price;
}

int64_t PriceTable::ClampOutput(absl::string_view model, int64_t requested) const {
  auto it = models_.find(EntryFor(model));
  if (it == models_.end()) return requested;
  return std::min(requested, it->second.max_output_tokens);
}

std::vector<std::string> PriceTable::Models() const {
  std::vector<std::string> out;
  for (const auto& entry : models_) out.push_back(entry.first);
  return out;
}

absl::StatusOr<int64_t> PriceTable::Cost(absl::string_view model,
                                         const v1::TokenUsage& usage) const {
  ASSIGN_OR_RETURN(ModelPrice price, Price(model));
  if (usage.input_tokens() < 0 || usage.cached_input_tokens() < 0 ||
      usage.output_tokens() < 0 || usage.reasoning_tokens() < 0 ||
      usage.cache_write_tokens() < 0) {
    return absl::InvalidArgumentError("token counts must not be negative");
  }
  const __int128 total =
      static_cast<__int128>(usage.input_tokens()) * price.input_micro_usd_per_1m +
      static_cast<__int128>(usage.cached_input_tokens()) * price.cached_input_micro_usd_per_1m +
      static_cast<__int128>(usage.cache_write_tokens()) * price.cache_write_micro_usd_per_1m +
      static_cast<__int128>(usage.output_tokens() + usage.reasoning_tokens()) *
          price.output_micro_usd_per_1m;
  return CeilDiv(total, kMicro);
}

absl::StatusOr<int64_t> PriceTable::WorstCaseCost(absl::string_view model, int64_t input_tokens,
                                                  int64_t output_tokens) const {
  ASSIGN_OR_RETURN(ModelPrice price, Price(model));
  if (input_tokens < 0 || output_tokens < 0) {
    return absl::InvalidArgumentError("token counts must not be negative");
  }
  return CeilDiv(static_cast<__int128>(input_tokens) * price.WorstInputPrice() +
                     static_cast<__int128>(output_tokens) * price.output_micro_usd_per_1m,
                 kMicro);
}

}  // namespace autopack
