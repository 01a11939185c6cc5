#include "services/supervisor/store/open_store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/url.h"
#include "services/supervisor/store/postgres_store.h"
#include "services/supervisor/store/sqlite_store.h"

namespace autopack::supervisor {

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& url, StoreOptions options) {
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "sqlite:") && !rest.empty()) {
    return OpenSqliteStore(std::string(rest), std::move(options));
  }
  if (absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://")) {
    return OpenPostgresStore(url, std::move(options));
  }
  rest = url;
  if (absl::ConsumePrefix(&rest, "postgres:") && !rest.empty()) {
    return OpenPostgresStore(std::string(rest), std::move(options));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "store URL '", RedactUrl(url),
      "' must start with sqlite:PATH, postgresql://, or postgres:CONNINFO"));
}

}  // namespace autopack::supervisor
