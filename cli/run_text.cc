#include "cli/run_text.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace autopack::cli {

std::string Usd(int64_t micro) { return absl::StrFormat("$%.6f", micro / 1e6); }

std::string Tokens(const v1::TokenUsage& u) {
  return absl::StrCat(u.input_tokens() + u.cached_input_tokens() + u.cache_write_tokens(),
                      " in (", u.cached_input_tokens(), " cached",
                      u.cache_write_tokens() > 0
                          ? absl::StrCat(", ", u.cache_write_tokens(), " cache writes")
                          : std::string(),
                      ") / ",
                      u.output_tokens() + u.reasoning_tokens(), " out");
}

std::string Short(const std::string& name, absl::string_view prefix) {
  return absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
}

}  // namespace autopack::cli
