#include "services/common/llm/openai_provider.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace autopack::llm {

using json = nlohmann::json;

std::string OpenAiProvider::Url() const { return config().base_url + "/chat/completions"; }

HttpHeaders OpenAiProvider::Headers(const std::string& api_key) const {
  if (api_key.empty()) return {};
  if (config().api_key_header.empty()) return {{"Authorization", "Bearer " + api_key}};
  return {{config().api_key_header, api_key}};
}

json OpenAiProvider::Body(const CompletionRequest& request) const {
  json body = {
      {"model", request.model},
      {"messages",
       json::array({{{"role", "system"}, {"content", request.system}},
                    {{"role", "user"}, {"content", request.user}}})},
  };
  body[config().kind == ProviderKind::kOpenAi ? "max_completion_tokens" : "max_tokens"] =
      request.max_output_tokens;
  if (request.structured_output) {
    body["response_format"] = {
        {"type", "json_schema"},
        {"json_schema",
         {{"name", request.structured_output->name},
          {"description", request.structured_output->description},
          {"schema", request.structured_output->schema},
          {"strict", true}}},
    };
  }
  return body;
}

absl::optional<v1::TokenUsage> OpenAiProvider::Usage(const json& body) const {
  if (!body.is_object() || !body.contains("usage") || !body["usage"].is_object()) {
    return absl::nullopt;
  }
  const json& usage = body["usage"];
  const int64_t cached =
      usage.contains("prompt_tokens_details") ? JsonCount(usage["prompt_tokens_details"], "cached_tokens")
                                              : 0;
  const int64_t reasoning = usage.contains("completion_tokens_details")
                                ? JsonCount(usage["completion_tokens_details"], "reasoning_tokens")
                                : 0;
  const int64_t prompt = JsonCount(usage, "prompt_tokens");
  const int64_t completion = JsonCount(usage, "completion_tokens");
  v1::TokenUsage result;
  result.set_cached_input_tokens(std::min(cached, prompt));
  result.set_input_tokens(prompt - result.cached_input_tokens());
  result.set_reasoning_tokens(std::min(reasoning, completion));
  result.set_output_tokens(completion - result.reasoning_tokens());
  return result;
}

absl::StatusOr<Completion> OpenAiProvider::Parse(const json& body) const {
  if (!body.contains("choices") || !body["choices"].is_array() || body["choices"].empty() ||
      !body["choices"][0].is_object()) {
    return absl::InvalidArgumentError("no choices[0]");
  }
  const json& choice = body["choices"][0];
  const std::string finish = choice.contains("finish_reason") && choice["finish_reason"].is_string()
                                 ? choice["finish_reason"].get<std::string>()
                                 : "";
  if (!choice.contains("message") || !choice["message"].is_object()) {
    return absl::InvalidArgumentError("no choices[0].message object");
  }
  const json& message = choice["message"];
  Completion completion;
  if (body.contains("model") && body["model"].is_string()) {
    completion.model = body["model"].get<std::string>();
  }
  const bool has_content = message.contains("content") && message["content"].is_string();
  if (has_content) completion.text = message["content"].get<std::string>();
  if (finish == "length") {
    completion.finish = FinishReason::kLength;
    return completion;
  }
  if (message.contains("refusal") && message["refusal"].is_string()) {
    completion.finish = FinishReason::kRefusal;
    completion.refusal = message["refusal"].get<std::string>();
    return completion;
  }
  if (finish == "content_filter") {
    completion.finish = FinishReason::kRefusal;
    completion.refusal = "the provider's content filter withheld the answer";
    return completion;
  }
  if (!has_content) {
    completion.finish = FinishReason::kMalformed;
    completion.refusal = message.contains("tool_calls") && !message["tool_calls"].is_null()
                             ? "the answer holds tool calls instead of text"
                             : "the answer has no text (message.content is null)";
  }
  return completion;
}

}  // namespace autopack::llm
