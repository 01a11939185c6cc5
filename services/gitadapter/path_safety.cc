#include "services/gitadapter/path_safety.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/glob.h"

namespace autopack::gitadapter {
namespace {

constexpr size_t kMaxPathBytes = 4096;

absl::Status Unsafe(absl::string_view path, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("path \"", absl::CHexEscape(path), "\": ", rule));
}

}  // namespace

absl::Status CheckRepoPath(absl::string_view path) {
  if (path.empty()) return Unsafe(path, "empty path");
  if (path.size() > kMaxPathBytes) return Unsafe(path.substr(0, 64), "path longer than 4096 bytes");
  if (path[0] == '/') return Unsafe(path, "absolute paths are not allowed");
  for (char c : path) {
    if (c == '\\') return Unsafe(path, "backslashes are not allowed");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return Unsafe(path, "control characters are not allowed");
  }
  for (absl::string_view component : absl::StrSplit(path, '/')) {
    if (component.empty()) return Unsafe(path, "empty path component");
    if (component == "..") return Unsafe(path, "`..` would leave the repository");
    if (component == ".") return Unsafe(path, "`.` components are not allowed");
    std::string folded = absl::AsciiStrToLower(component);
    while (!folded.empty() && (folded.back() == '.' || folded.back() == ' ')) folded.pop_back();
    if (folded == ".git" || folded == "git~1") return Unsafe(path, "paths under .git are not allowed");
  }
  return absl::OkStatus();
}

bool LooksLikeSecret(absl::string_view path) {
  static const std::vector<std::string>* const kPatterns = new std::vector<std::string>{
      "**/.env", "**/.env.*", "**/.envrc", "**/*.pem", "**/*.key", "**/*.p12", "**/*.pfx",
      "**/*.jks", "**/*.keystore", "**/*.kdbx", "**/id_rsa*", "**/id_dsa*", "**/id_ecdsa*",
      "**/id_ed25519*", "**/.netrc", "**/.npmrc", "**/.pypirc", "**/.git-credentials",
      "**/.htpasswd", "**/credentials", "**/credentials.*", "**/*credentials*.json",
      "**/secret", "**/secrets", "**/secret.*", "**/secrets.*", "**/*.secret", "**/*.secrets",
      "**/service-account*.json", "**/.ssh/**", "**/.aws/**", "**/.gnupg/**", "**/*.tfvars",
      "**/*.token"};
  // Templates of secret files are meant to be read.
  for (absl::string_view suffix : {".example", ".sample", ".template", ".dist"}) {
    if (absl::EndsWithIgnoreCase(path, suffix)) return false;
  }
  const std::string folded = absl::AsciiStrToLower(path);
  return GlobMatchAny(*kPatterns, folded);
}

}  // namespace autopack::gitadapter
