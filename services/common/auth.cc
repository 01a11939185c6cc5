#include "services/common/auth.h"

#include <openssl/crypto.h>
#include <sys/random.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/config.h"
#include "services/common/sha256.h"
#include "services/common/status_macros.h"

namespace autopack {
namespace {

constexpr Right kAllRights[] = {Right::kSubmit, Right::kRead, Right::kCancel, Right::kAdmin,
                                Right::kService};
constexpr uint32_t kUserRights = static_cast<uint32_t>(Right::kSubmit) |
                                 static_cast<uint32_t>(Right::kRead) |
                                 static_cast<uint32_t>(Right::kCancel);
// Far above any real token (ours are 43 characters), far below gRPC's 8 KiB
// metadata limit: a longer header is an attack or a mistake, not a token.
constexpr size_t kMaxTokenLength = 1024;

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '@' && c != '-') return false;
  }
  return true;
}

bool ValidHexSha256(absl::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

// RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool ValidTokenSyntax(absl::string_view token) {
  size_t i = 0;
  for (; i < token.size(); ++i) {
    const char c = token[i];
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_' && c != '~' && c != '+' &&
        c != '/') {
      break;
    }
  }
  if (i == 0) return false;
  for (; i < token.size(); ++i) {
    if (token[i] != '=') return false;
  }
  return true;
}

// The token of an "authorization: Bearer <token>" value. The scheme is
// case-insensitive (RFC 7235).
absl::StatusOr<absl::string_view> BearerToken(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  constexpr absl::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme) ||
      (value[kScheme.size()] != ' ' && value[kScheme.size()] != '\t')) {
    return absl::UnauthenticatedError(
        "the authorization header must be 'Bearer <token>'");
  }
  absl::string_view token = absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
  if (token.size() > kMaxTokenLength) {
    return absl::UnauthenticatedError(
        absl::StrCat("the bearer token is longer than ", kMaxTokenLength, " bytes"));
  }
  if (!ValidTokenSyntax(token)) {
    return absl::UnauthenticatedError("the bearer token is malformed");
  }
  return token;
}

}  // namespace

absl::string_view RightName(Right right) {
  switch (right) {
    case Right::kSubmit:
      return "submit";
    case Right::kRead:
      return "read";
    case Right::kCancel:
      return "cancel";
    case Right::kAdmin:
      return "admin";
    case Right::kService:
      return "service";
  }
  return "unknown";
}

absl::StatusOr<Right> ParseRight(absl::string_view name) {
  for (Right right : kAllRights) {
    if (RightName(right) == name) return right;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown right '", name, "' (known: submit, read, cancel, admin, service)"));
}

bool Caller::Has(Right right) const {
  if (authentication_off) return true;
  const uint32_t bit = static_cast<uint32_t>(right);
  if ((rights & bit) != 0) return true;
  return (bit & kUserRights) != 0 && (rights & static_cast<uint32_t>(Right::kAdmin)) != 0;
}

bool Caller::MayAccess(absl::string_view owner) const {
  return Has(Right::kAdmin) || (!name.empty() && owner == name);
}

Caller Caller::AuthenticationOff() {
  Caller caller;
  caller.authentication_off = true;
  return caller;
}

MethodRights MethodRights::Every(Right right) {
  MethodRights rights;
  rights.every_ = right;
  return rights;
}

absl::optional<Right> MethodRights::Find(absl::string_view method) const {
  if (every_.has_value()) return every_;
  auto it = methods_.find(method);
  if (it == methods_.end()) return absl::nullopt;
  return it->second;
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return Parse(root);
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Parse(
    absl::string_view text, const std::string& file_name) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Parse(text, file_name));
  return Parse(root);
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Parse(const ConfigNode& root) {
  RETURN_IF_ERROR(root.CheckKeys({"callers"}));
  ASSIGN_OR_RETURN(ConfigNode callers, root.Get("callers"));
  ASSIGN_OR_RETURN(std::vector<ConfigNode> items, callers.Items());
  if (items.empty()) return callers.Error("lists no callers");
  std::vector<Entry> entries;
  std::set<std::string> names, hashes, cert_names;
  for (const ConfigNode& item : items) {
    RETURN_IF_ERROR(item.CheckKeys({"name", "token_sha256", "cert_names", "rights"}));
    Entry entry;
    ASSIGN_OR_RETURN(entry.name, item.GetString("name"));
    if (!ValidName(entry.name)) {
      return item.Error(absl::StrCat("name '", entry.name,
                                     "' must be 1-64 characters of A-Z a-z 0-9 . _ @ -"));
    }
    if (!names.insert(entry.name).second) {
      return item.Error(absl::StrCat("caller '", entry.name, "' is listed twice"));
    }
    ASSIGN_OR_RETURN(std::string hash, item.GetString("token_sha256", ""));
    entry.token_sha256 = absl::AsciiStrToLower(hash);
    if (!entry.token_sha256.empty()) {
      if (!ValidHexSha256(entry.token_sha256)) {
        return item.Error(
            "token_sha256 must be 64 hex digits (the SHA-256 of the token, not the token)");
      }
      if (!hashes.insert(entry.token_sha256).second) {
        return item.Error(absl::StrCat("caller '", entry.name,
                                       "' has the same token as an earlier caller"));
      }
    }
    if (item.Find("cert_names").has_value()) {
      ASSIGN_OR_RETURN(entry.cert_names, item.GetStringList("cert_names"));
    }
    for (const std::string& cert_name : entry.cert_names) {
      if (cert_name.empty()) return item.Error("cert_names has an empty name");
      if (!cert_names.insert(cert_name).second) {
        return item.Error(absl::StrCat("certificate name '", cert_name,
                                       "' belongs to an earlier caller too"));
      }
    }
    if (entry.token_sha256.empty() && entry.cert_names.empty()) {
      return item.Error(absl::StrCat("caller '", entry.name,
                                     "' needs token_sha256 or cert_names"));
    }
    ASSIGN_OR_RETURN(std::vector<std::string> rights, item.GetStringList("rights"));
    if (rights.empty()) return item.Error(absl::StrCat("caller '", entry.name, "' has no rights"));
    for (const std::string& name : rights) {
      absl::StatusOr<Right> right = ParseRight(name);
      if (!right.ok()) return item.Error(right.status().message());
      entry.rights |= static_cast<uint32_t>(*right);
    }
    entries.push_back(std::move(entry));
  }
  return std::unique_ptr<Authenticator>(new Authenticator(std::move(entries)));
}

Caller Authenticator::CallerOf(const Entry& entry) {
  Caller caller;
  caller.name = entry.name;
  caller.rights = entry.rights;
  return caller;
}

absl::StatusOr<Caller> Authenticator::Authenticate(
    const std::vector<absl::string_view>& authorization,
    const std::vector<std::string>& cert_names) const {
  if (authorization.size() > 1) {
    return absl::UnauthenticatedError("more than one authorization header");
  }
  if (authorization.size() == 1) {
    ASSIGN_OR_RETURN(absl::string_view token, BearerToken(authorization[0]));
    // Compare the hash against every entry, in constant time per entry and
    // without stopping at a match, so timing says nothing about which
    // entries exist or how close a guess came.
    const std::string hash = Sha256Hex(token);
    const Entry* match = nullptr;
    for (const Entry& entry : entries_) {
      if (entry.token_sha256.size() != hash.size()) continue;
      if (CRYPTO_memcmp(entry.token_sha256.data(), hash.data(), hash.size()) == 0) {
        match = &entry;
      }
    }
    if (match == nullptr) return absl::UnauthenticatedError("invalid bearer token");
    return CallerOf(*match);
  }
  if (!cert_names.empty()) {
    const Entry* match = nullptr;
    for (const Entry& entry : entries_) {
      for (const std::string& name : cert_names) {
        if (std::find(entry.cert_names.begin(), entry.cert_names.end(), name) ==
            entry.cert_names.end()) {
          continue;
        }
        if (match != nullptr && match != &entry) {
          return absl::UnauthenticatedError(
              "the client certificate's names belong to more than one caller");
        }
        match = &entry;
      }
    }
    if (match == nullptr) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the client certificate (", absl::StrJoin(cert_names, ", "),
          ") is not a known caller and no bearer token was sent"));
    }
    return CallerOf(*match);
  }
  return absl::UnauthenticatedError(
      "no credentials: send the header 'authorization: Bearer <token>'");
}

void AccessPolicy::AddService(const std::string& service, MethodRights rights) {
  services_[service] = std::move(rights);
}

absl::StatusOr<Caller> AccessPolicy::Check(absl::string_view path,
                                           const std::vector<absl::string_view>& authorization,
                                           const std::vector<std::string>& cert_names) const {
  // Health must answer load balancers and orchestrators that hold no token.
  if (absl::StartsWith(path, "/grpc.health.v1.Health/")) return Caller();
  // The path is the caller's text: cut it before quoting it.
  const std::string shown(path.substr(0, 200));
  absl::StatusOr<Caller> caller = authenticator_->Authenticate(authorization, cert_names);
  if (!caller.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(shown, ": ", caller.status().message()));
  }
  // Reflection describes the API, no data: any known caller may use it.
  if (absl::StartsWith(path, "/grpc.reflection.")) return caller;
  const size_t slash = path.rfind('/');
  if (path.empty() || path[0] != '/' || slash == 0 || slash == absl::string_view::npos) {
    return absl::PermissionDeniedError(absl::StrCat(shown, ": not a method path"));
  }
  const absl::string_view service = path.substr(1, slash - 1);
  const absl::string_view method = path.substr(slash + 1);
  absl::optional<Right> needed;
  if (auto it = services_.find(service); it != services_.end()) needed = it->second.Find(method);
  if (!needed.has_value()) {
    return absl::PermissionDeniedError(
        absl::StrCat(shown, ": no right is configured for this method"));
  }
  if (!caller->Has(*needed)) {
    return absl::PermissionDeniedError(absl::StrCat(shown, " needs the '", RightName(*needed),
                                                    "' right, which caller '", caller->name,
                                                    "' lacks"));
  }
  return caller;
}

absl::StatusOr<std::string> NewToken() {
  char bytes[32];
  if (getrandom(bytes, sizeof(bytes), 0) != static_cast<ssize_t>(sizeof(bytes))) {
    return absl::InternalError("cannot read 32 random bytes from the operating system");
  }
  return absl::WebSafeBase64Escape(absl::string_view(bytes, sizeof(bytes)));
}

}  // namespace autopack
