#include "services/common/url.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace autopack {
namespace {

struct Authority {
  size_t begin = 0;  // first byte after "scheme://"
  size_t end = 0;    // first '/', '?' or '#' after it, or the end
  size_t at = absl::string_view::npos;  // last '@' inside, if any
};

bool FindAuthority(absl::string_view url, Authority* a) {
  const size_t scheme = url.find("://");
  if (scheme == absl::string_view::npos) return false;
  a->begin = scheme + 3;
  a->end = url.find_first_of("/?#", a->begin);
  if (a->end == absl::string_view::npos) a->end = url.size();
  const size_t at = url.substr(a->begin, a->end - a->begin).rfind('@');
  if (at != absl::string_view::npos) a->at = a->begin + at;
  return true;
}

bool IsSshScheme(absl::string_view url) {
  return absl::StartsWithIgnoreCase(url, "ssh://") || absl::StartsWithIgnoreCase(url, "git+ssh://");
}

bool SecretKey(absl::string_view key) {
  const std::string lower = absl::AsciiStrToLower(key);
  for (absl::string_view word : {"password", "passwd", "secret", "token", "key", "sig", "auth"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

// "a=1&token=x" -> "a=1&token=***" for separator '&'; libpq's
// "host=x password=y" for ' '.
std::string RedactPairs(absl::string_view query, char separator) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(query, separator)) {
    const size_t eq = part.find('=');
    if (eq != absl::string_view::npos && SecretKey(part.substr(0, eq))) {
      parts.push_back(absl::StrCat(part.substr(0, eq), "=***"));
    } else {
      parts.emplace_back(part);
    }
  }
  return absl::StrJoin(parts, std::string(1, separator));
}

}  // namespace

bool UrlHasCredentials(absl::string_view url) {
  Authority a;
  if (!FindAuthority(url, &a) || a.at == absl::string_view::npos) return false;
  const absl::string_view userinfo = url.substr(a.begin, a.at - a.begin);
  if (absl::StrContains(userinfo, ':')) return true;
  return !IsSshScheme(url);  // "https://TOKEN@host" is a token
}

std::string RedactUrl(absl::string_view url) {
  Authority a;
  if (FindAuthority(url, &a)) {
    std::string out(url.substr(0, a.begin));
    if (a.at != absl::string_view::npos) {
      const absl::string_view userinfo = url.substr(a.begin, a.at - a.begin);
      const size_t colon = userinfo.find(':');
      if (colon != absl::string_view::npos) {
        absl::StrAppend(&out, userinfo.substr(0, colon), ":***@");
      } else {
        absl::StrAppend(&out, IsSshScheme(url) ? userinfo : "***", "@");
      }
      absl::StrAppend(&out, url.substr(a.at + 1, a.end - a.at - 1));
    } else {
      absl::StrAppend(&out, url.substr(a.begin, a.end - a.begin));
    }
    absl::string_view rest = url.substr(a.end);
    const size_t q = rest.find('?');
    if (q == absl::string_view::npos) return absl::StrCat(out, rest);
    const size_t hash = rest.find('#', q);
    const absl::string_view query =
        rest.substr(q + 1, hash == absl::string_view::npos ? absl::string_view::npos : hash - q - 1);
    absl::StrAppend(&out, rest.substr(0, q + 1), RedactPairs(query, '&'));
    if (hash != absl::string_view::npos) absl::StrAppend(&out, rest.substr(hash));
    return out;
  }
  if (absl::StrContains(url, '=')) return RedactPairs(url, ' ');  // libpq key=value form
  return std::string(url);
}

}  // namespace autopack
