// config/providers.yaml: which LLM endpoints exist, how to reach them and how
// patiently. A model "provider/name" selects the entry named `provider`.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_PROVIDER_CONFIG_H_
#define AUTOPACK_SERVICES_COMMON_LLM_PROVIDER_CONFIG_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/config.h"
#include "services/common/llm/retry.h"

namespace autopack::llm {

enum class ProviderKind {
  kOpenAi,            // api.openai.com: Chat Completions, max_completion_tokens
  kOpenAiCompatible,  // vLLM, Ollama, LiteLLM, OpenRouter, Azure: Chat Completions, max_tokens
  kAnthropic,         // Messages API
};

struct ProviderConfig {
  std::string name;  // the key under `providers:`
  ProviderKind kind = ProviderKind::kOpenAi;
  // Up to and including the version segment, e.g. https://api.openai.com/v1;
  // the provider appends /chat/completions or /v1/messages.
  std::string base_url;
  // Where the key is read from at call time (so a server starts without one).
  // Neither set is allowed only for openai_compatible (e.g. a local Ollama).
  std::string api_key_env;
  std::string api_key_file;
  // Header carrying the key. Empty: "Authorization: Bearer KEY" (OpenAI kinds)
  // or "x-api-key: KEY" (Anthropic); otherwise the raw key under this name
  // (Azure: api-key).
  std::string api_key_header;
  // Anthropic's API version header.
  std::string anthropic_version = "2023-06-01";
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration request_timeout = absl::Seconds(300);
  RetryPolicy retry;
};

// Parses a providers.yaml document; every error names file, line and key.
absl::StatusOr<std::map<std::string, ProviderConfig>> ProvidersFromConfig(const ConfigNode& root);
absl::StatusOr<std::map<std::string, ProviderConfig>> LoadProvidersFile(const std::string& path);

// The key for `config`: "" when it needs none; FAILED_PRECONDITION naming the
// variable or file (never a key) when it is missing or empty.
absl::StatusOr<std::string> ResolveApiKey(const ProviderConfig& config);

// Splits "provider/name" at the first '/'. INVALID_ARGUMENT naming `model`
// when either part is empty.
absl::StatusOr<std::pair<std::string, std::string>> SplitModel(absl::string_view model);

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_PROVIDER_CONFIG_H_
