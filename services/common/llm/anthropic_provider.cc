#include "services/common/llm/anthropic_provider.h"

#include "absl/strings/str_cat.h"

namespace autopack::llm {

using json = nlohmann::json;

std::string AnthropicProvider::Url() const { return config().base_url + "/v1/messages"; }

HttpHeaders AnthropicProvider::Headers(const std::string& api_key) const {
  HttpHeaders headers = {{"anthropic-version", config().anthropic_version}};
  if (!api_key.empty()) {
    headers.emplace_back(config().api_key_header.empty() ? "x-api-key" : config().api_key_header,
                         api_key);
  }
  return headers;
}

json AnthropicProvider::Body(const CompletionRequest& request) const {
  json body = {
      {"model", request.model},
      {"max_tokens", request.max_output_tokens},
      {"system", request.system},
      {"messages", json::array({{{"role", "user"}, {"content", request.user}}})},
  };
  if (request.structured_output) {
    body["tools"] = json::array({{{"name", request.structured_output->name},
                                  {"description", request.structured_output->description},
                                  {"input_schema", request.structured_output->schema}}});
    body["tool_choice"] = {{"type", "tool"}, {"name", request.structured_output->name}};
  }
  return body;
}

absl::optional<v1::TokenUsage> AnthropicProvider::Usage(const json& body) const {
  if (!body.is_object() || !body.contains("usage") || !body["usage"].is_object()) {
    return absl::nullopt;
  }
  const json& usage = body["usage"];
  v1::TokenUsage result;
  result.set_input_tokens(JsonCount(usage, "input_tokens"));
  result.set_cache_write_tokens(JsonCount(usage, "cache_creation_input_tokens"));
  result.set_cached_input_tokens(JsonCount(usage, "cache_read_input_tokens"));
  result.set_output_tokens(JsonCount(usage, "output_tokens"));
  return result;
}

absl::StatusOr<Completion> AnthropicProvider::Parse(const json& body) const {
  if (!body.contains("content") || !body["content"].is_array()) {
    return absl::InvalidArgumentError("no content array");
  }
  const std::string stop = body.contains("stop_reason") && body["stop_reason"].is_string()
                               ? body["stop_reason"].get<std::string>()
                               : "";
  Completion completion;
  if (body.contains("model") && body["model"].is_string()) {
    completion.model = body["model"].get<std::string>();
  }
  std::string text;
  const json* tool_input = nullptr;
  for (const json& block : body["content"]) {
    if (!block.is_object() || !block.contains("type") || !block["type"].is_string()) continue;
    const std::string type = block["type"].get<std::string>();
    if (type == "text" && block.contains("text") && block["text"].is_string()) {
      text += block["text"].get<std::string>();
    } else if (type == "tool_use" && block.contains("input") && tool_input == nullptr) {
      tool_input = &block["input"];
    }
  }
  if (stop == "max_tokens") {
    completion.finish = FinishReason::kLength;
    completion.text = text;
    return completion;
  }
  if (stop == "refusal") {
    completion.finish = FinishReason::kRefusal;
    completion.refusal = text.empty() ? "the model declined (stop_reason refusal)" : text;
    return completion;
  }
  completion.text = tool_input != nullptr ? tool_input->dump() : text;
  return completion;
}

}  // namespace autopack::llm
