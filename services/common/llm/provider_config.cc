#include "services/common/llm/provider_config.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/files.h"
#include "services/common/status_macros.h"

namespace autopack::llm {
namespace {

absl::StatusOr<absl::Duration> PositiveSeconds(const ConfigNode& entry, absl::string_view key,
                                               absl::Duration def) {
  absl::optional<ConfigNode> node = entry.Find(key);
  if (!node) return def;
  ASSIGN_OR_RETURN(double seconds, node->AsDouble());
  if (!(seconds > 0) || seconds > 86400) {
    return node->Error("expected a number of seconds in (0, 86400]");
  }
  return absl::Seconds(seconds);
}

absl::StatusOr<ProviderConfig> ProviderFromConfig(const std::string& name,
                                                  const ConfigNode& entry) {
  RETURN_IF_ERROR(entry.CheckKeys(
      {"kind", "base_url", "api_key_env", "api_key_file", "api_key_header", "anthropic_version",
       "connect_timeout_seconds", "request_timeout_seconds", "max_retries",
       "backoff_base_seconds", "backoff_max_seconds", "max_retry_after_seconds"}));
  ProviderConfig config;
  config.name = name;
  ASSIGN_OR_RETURN(ConfigNode kind_node, entry.Get("kind"));
  ASSIGN_OR_RETURN(std::string kind, kind_node.AsString());
  if (kind == "openai") {
    config.kind = ProviderKind::kOpenAi;
  } else if (kind == "openai_compatible") {
    config.kind = ProviderKind::kOpenAiCompatible;
  } else if (kind == "anthropic") {
    config.kind = ProviderKind::kAnthropic;
  } else {
    return kind_node.Error(absl::StrCat("unknown kind \"", kind,
                                        "\"; expected openai, openai_compatible or anthropic"));
  }
  ASSIGN_OR_RETURN(ConfigNode url_node, entry.Get("base_url"));
  ASSIGN_OR_RETURN(config.base_url, url_node.AsString());
  if (!absl::StartsWith(config.base_url, "http://") &&
      !absl::StartsWith(config.base_url, "https://")) {
    return url_node.Error("expected an http:// or https:// URL");
  }
  while (absl::EndsWith(config.base_url, "/")) config.base_url.pop_back();
  ASSIGN_OR_RETURN(config.api_key_env, entry.GetString("api_key_env", ""));
  ASSIGN_OR_RETURN(config.api_key_file, entry.GetString("api_key_file", ""));
  ASSIGN_OR_RETURN(config.api_key_header, entry.GetString("api_key_header", ""));
  ASSIGN_OR_RETURN(config.anthropic_version,
                   entry.GetString("anthropic_version", config.anthropic_version));
  if (!config.api_key_env.empty() && !config.api_key_file.empty()) {
    return entry.Error("set api_key_env or api_key_file, not both");
  }
  if (config.api_key_env.empty() && config.api_key_file.empty() &&
      config.kind != ProviderKind::kOpenAiCompatible) {
    return entry.Error(absl::StrCat(kind, " needs api_key_env or api_key_file"));
  }
  ASSIGN_OR_RETURN(config.connect_timeout,
                   PositiveSeconds(entry, "connect_timeout_seconds", config.connect_timeout));
  ASSIGN_OR_RETURN(config.request_timeout,
                   PositiveSeconds(entry, "request_timeout_seconds", config.request_timeout));
  ASSIGN_OR_RETURN(config.retry.base_backoff,
                   PositiveSeconds(entry, "backoff_base_seconds", config.retry.base_backoff));
  ASSIGN_OR_RETURN(config.retry.max_backoff,
                   PositiveSeconds(entry, "backoff_max_seconds", config.retry.max_backoff));
  ASSIGN_OR_RETURN(config.retry.max_retry_after,
                   PositiveSeconds(entry, "max_retry_after_seconds", config.retry.max_retry_after));
  if (absl::optional<ConfigNode> retries = entry.Find("max_retries")) {
    ASSIGN_OR_RETURN(int64_t n, retries->AsInt());
    if (n < 0 || n > 10) return retries->Error("expected 0 to 10");
    config.retry.max_retries = static_cast<int>(n);
  }
  return config;
}

}  // namespace

absl::StatusOr<std::map<std::string, ProviderConfig>> ProvidersFromConfig(const ConfigNode& root) {
  RETURN_IF_ERROR(root.CheckKeys({"providers"}));
  ASSIGN_OR_RETURN(ConfigNode providers, root.Get("providers"));
  ASSIGN_OR_RETURN(auto entries, providers.Entries());
  if (entries.empty()) return providers.Error("no providers configured");
  std::map<std::string, ProviderConfig> result;
  for (const auto& [name, entry] : entries) {
    if (name.empty() || absl::StrContains(name, "/")) {
      return entry.Error("a provider name must be non-empty and contain no '/'");
    }
    ASSIGN_OR_RETURN(result[name], ProviderFromConfig(name, entry));
  }
  return result;
}

absl::StatusOr<std::map<std::string, ProviderConfig>> LoadProvidersFile(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return ProvidersFromConfig(root);
}

absl::StatusOr<std::string> ResolveApiKey(const ProviderConfig& config) {
  if (!config.api_key_env.empty()) {
    const char* value = std::getenv(config.api_key_env.c_str());
    const std::string key = value == nullptr ? "" : std::string(absl::StripAsciiWhitespace(value));
    if (key.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("provider '", config.name, "': environment variable ", config.api_key_env,
                       " (api_key_env) is not set or empty"));
    }
    return key;
  }
  if (!config.api_key_file.empty()) {
    absl::StatusOr<std::string> content = ReadFile(config.api_key_file);
    const std::string key =
        content.ok() ? std::string(absl::StripAsciiWhitespace(*content)) : std::string();
    if (key.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("provider '", config.name, "': key file ", config.api_key_file,
                       " (api_key_file) is missing, unreadable or empty"));
    }
    return key;
  }
  return std::string();
}

absl::StatusOr<std::pair<std::string, std::string>> SplitModel(absl::string_view model) {
  const size_t slash = model.find('/');
  if (slash == absl::string_view::npos || slash == 0 || slash + 1 == model.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model \"", model, "\" is not of the form provider/name"));
  }
  return std::make_pair(std::string(model.substr(0, slash)), std::string(model.substr(slash + 1)));
}

}  // namespace autopack::llm
