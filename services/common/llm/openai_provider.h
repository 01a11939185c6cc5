// OpenAI Chat Completions (POST {base_url}/chat/completions), for api.openai.com
// and every OpenAI-compatible server (vLLM, Ollama, LiteLLM, OpenRouter, Azure).
// Request bodies follow CreateChatCompletionRequest of OpenAI's OpenAPI schema.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_OPENAI_PROVIDER_H_
#define AUTOPACK_SERVICES_COMMON_LLM_OPENAI_PROVIDER_H_

#include "services/common/llm/provider.h"

namespace autopack::llm {

class OpenAiProvider : public HttpProvider {
 public:
  using HttpProvider::HttpProvider;

 protected:
  std::string Url() const override;
  HttpHeaders Headers(const std::string& api_key) const override;
  // kind openai sends max_completion_tokens; openai_compatible sends the older
  // max_tokens, which compatible servers understand more widely.
  nlohmann::json Body(const CompletionRequest& request) const override;
  // prompt_tokens minus cached_tokens is input; completion_tokens minus
  // reasoning_tokens is output.
  absl::optional<v1::TokenUsage> Usage(const nlohmann::json& body) const override;
  // finish_reason "length" is read before anything else; a refusal field or
  // finish_reason "content_filter" is a refusal.
  absl::StatusOr<Completion> Parse(const nlohmann::json& body) const override;
};

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_OPENAI_PROVIDER_H_
