#include "services/common/glob.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace autopack {
namespace {

// Memoised over (pattern index, path index), so patterns such as
// `*a*a*a*b` stay polynomial.
class Matcher {
 public:
  Matcher(absl::string_view pattern, absl::string_view path)
      : pattern_(pattern), path_(path), memo_((pattern.size() + 1) * (path.size() + 1), -1) {}

  bool Match(size_t p, size_t s) {
    int8_t& memo = memo_[p * (path_.size() + 1) + s];
    if (memo < 0) memo = Compute(p, s) ? 1 : 0;
    return memo == 1;
  }

 private:
  bool Compute(size_t p, size_t s) {
    if (p == pattern_.size()) return s == path_.size();
    const char c = pattern_[p];
    if (c == '*' && p + 1 < pattern_.size() && pattern_[p + 1] == '*') {
      if (p + 2 < pattern_.size() && pattern_[p + 2] == '/' && Match(p + 3, s)) return true;
      return Match(p + 2, s) || (s < path_.size() && Match(p, s + 1));
    }
    if (c == '*') return Match(p + 1, s) || (s < path_.size() && path_[s] != '/' && Match(p, s + 1));
    if (s == path_.size()) return false;
    if (c == '?') return path_[s] != '/' && Match(p + 1, s + 1);
    return path_[s] == c && Match(p + 1, s + 1);
  }

  absl::string_view pattern_;
  absl::string_view path_;
  std::vector<int8_t> memo_;
};

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view path) {
  if (pattern.empty()) return false;
  if (Matcher(pattern, path).Match(0, 0)) return true;
  const std::string below = absl::StrCat(absl::StripSuffix(pattern, "/"), "/**");
  return Matcher(below, path).Match(0, 0);
}

bool GlobMatchAny(const std::vector<std::string>& patterns, absl::string_view path) {
  for (const std::string& pattern : patterns) {
    if (GlobMatch(pattern, path)) return true;
  }
  return false;
}

}  // namespace autopack
