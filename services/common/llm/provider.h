// One interface for every LLM provider, and the shared HTTP call loop (key,
// retries, error bodies, redaction) that the wire formats plug into.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_PROVIDER_H_
#define AUTOPACK_SERVICES_COMMON_LLM_PROVIDER_H_

#include <string>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "autopack/v1/common.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/llm/http_client.h"
#include "services/common/llm/provider_config.h"
#include "services/common/llm/retry.h"

namespace autopack::llm {

// Asks for an answer that is one JSON object following `schema` (OpenAI:
// response_format json_schema, strict; Anthropic: a forced tool call).
struct StructuredOutput {
  std::string name;  // [A-Za-z0-9_-], at most 64 characters
  std::string description;
  nlohmann::json schema;
};

struct CompletionRequest {
  std::string model;  // the provider's own name, without "provider/"
  std::string system;
  std::string user;
  int max_output_tokens = 0;
  absl::optional<StructuredOutput> structured_output;
  // The caller's deadline: no HTTP attempt starts at or after it, each is cut
  // to end by it, and no retry waits past it.
  absl::Time deadline = absl::InfiniteFuture();
};

enum class FinishReason {
  kStop,     // a complete answer
  kLength,   // cut at the output limit; text is partial and must not be parsed
  kRefusal,  // the model declined (refusal, content filter)
  // A complete, billed answer without text: `content: null`, or tool calls
  // where text was asked for. Not retried (a retry is billed again and the
  // model answers the same); the caller reports it as malformed.
  kMalformed,
};

struct Completion {
  // The answer; with structured output, the JSON object as text.
  std::string text;
  FinishReason finish = FinishReason::kStop;
  // The model's explanation when finish is kRefusal; what the answer held
  // instead of text when finish is kMalformed.
  std::string refusal;
  // Summed over every attempt that reported usage.
  v1::TokenUsage usage;
  // The model name the provider reported.
  std::string model;
  // HTTP calls made, retries included.
  int attempts = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // INVALID_ARGUMENT for a request the provider rejects (400/404/...),
  // FAILED_PRECONDITION for a missing or rejected key, RESOURCE_EXHAUSTED for
  // rate limits that outlast the retries, DEADLINE_EXCEEDED for timeouts,
  // UNAVAILABLE otherwise. The usage of every answer a failed call was billed
  // for (its retries included) rides on the status (BilledUsageOf in
  // services/common/billed_usage.h). A 2xx answer without usage is counted in
  // usage.unreported_answers. Messages never contain the key.
  virtual absl::StatusOr<Completion> Complete(const CompletionRequest& request) = 0;
};

// The retry loop shared by the HTTP wire formats.
class HttpProvider : public Provider {
 public:
  // `http` is not owned. `sleep` defaults to absl::SleepFor.
  HttpProvider(ProviderConfig config, HttpClient* http, SleepFunction sleep = nullptr);

  absl::StatusOr<Completion> Complete(const CompletionRequest& request) final;

  const ProviderConfig& config() const { return config_; }

 protected:
  virtual std::string Url() const = 0;
  virtual HttpHeaders Headers(const std::string& api_key) const = 0;
  virtual nlohmann::json Body(const CompletionRequest& request) const = 0;
  // Usage in a 2xx body, if it has any.
  virtual absl::optional<v1::TokenUsage> Usage(const nlohmann::json& body) const = 0;
  // Reads a 2xx body that is not an error object. INVALID_ARGUMENT naming the
  // missing or mistyped field when the shape is wrong.
  virtual absl::StatusOr<Completion> Parse(const nlohmann::json& body) const = 0;

 private:
  ProviderConfig config_;
  HttpClient* http_;
  SleepFunction sleep_;
  absl::Mutex gen_mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(gen_mu_);
};

// A non-negative integer member of a JSON object; 0 when absent or not one.
int64_t JsonCount(const nlohmann::json& object, const char* key);


}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_PROVIDER_H_
