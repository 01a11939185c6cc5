// Secrets in URLs and connection strings: found before they are stored, and
// removed before anything is logged or shown.
#ifndef AUTOPACK_SERVICES_COMMON_URL_H_
#define AUTOPACK_SERVICES_COMMON_URL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace autopack {

// True when `url` carries a password or token in its authority
// ("https://user:token@host/..." or "https://token@host/..."). An ssh user
// name alone ("ssh://git@host/...", "git@host:repo") is not a credential.
bool UrlHasCredentials(absl::string_view url);

// `url` (a URL, a PostgreSQL URL or key=value connection string, or a plain
// path) with passwords, tokens and secret query parameters replaced by "***",
// so it can be logged.
std::string RedactUrl(absl::string_view url);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_URL_H_
