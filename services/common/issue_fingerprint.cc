#include "services/common/issue_fingerprint.h"

#include <cstdint>

#include "absl/strings/ascii.h"

namespace autopack {

std::string NormaliseIssueMessage(absl::string_view message) {
  std::string out;
  bool space = false;
  for (size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (absl::ascii_isspace(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    if (absl::ascii_isdigit(c)) {
      while (i + 1 < message.size() && absl::ascii_isdigit(message[i + 1])) ++i;
      out += '#';
      continue;
    }
    out += absl::ascii_tolower(c);
  }
  while (!out.empty() && (out.back() == '.' || out.back() == '!' || out.back() == ';' ||
                          out.back() == ',' || out.back() == ':')) {
    out.pop_back();
  }
  return out;
}

std::string IssueFingerprint(absl::string_view category, absl::string_view path,
                             absl::string_view message) {
  uint64_t hash = 14695981039346656037ull;
  const auto mix = [&hash](absl::string_view text) {
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
    hash ^= 0xff;  // field separator no text byte sequence can fake
    hash *= 1099511628211ull;
  };
  mix(absl::AsciiStrToLower(category));
  mix(path);
  mix(NormaliseIssueMessage(message));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) out[i] = kHex[hash & 0xf];
  return out;
}

}  // namespace autopack
