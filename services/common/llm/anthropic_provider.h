// Anthropic Messages (POST {base_url}/v1/messages). Structured output is a
// forced call of a tool whose input_schema is the wanted schema.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_ANTHROPIC_PROVIDER_H_
#define AUTOPACK_SERVICES_COMMON_LLM_ANTHROPIC_PROVIDER_H_

#include "services/common/llm/provider.h"

namespace autopack::llm {

class AnthropicProvider : public HttpProvider {
 public:
  using HttpProvider::HttpProvider;

 protected:
  std::string Url() const override;
  HttpHeaders Headers(const std::string& api_key) const override;
  nlohmann::json Body(const CompletionRequest& request) const override;
  // input_tokens is input, cache_creation_input_tokens cache writes (their own
  // price), cache_read_input_tokens cached input. Thinking is inside
  // output_tokens, so reasoning stays zero.
  absl::optional<v1::TokenUsage> Usage(const nlohmann::json& body) const override;
  // stop_reason "max_tokens" is read before anything else; "refusal" is a
  // refusal. The answer is the forced tool's input, else the text blocks.
  absl::StatusOr<Completion> Parse(const nlohmann::json& body) const override;
};

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_ANTHROPIC_PROVIDER_H_
