#include "services/common/llm/provider.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "services/common/billed_usage.h"
#include "services/common/logging.h"
#include "services/common/metrics.h"
#include "services/common/status_macros.h"

namespace autopack::llm {
namespace {

using json = nlohmann::json;


bool IsSuccess(int status) { return status >= 200 && status <= 299; }

std::string Redact(std::string text, const std::string& key) {
  if (!key.empty()) absl::StrReplaceAll({{key, "[redacted]"}}, &text);
  return text;
}

std::string Snippet(const std::string& text) {
  constexpr size_t kMax = 300;
  return text.size() <= kMax ? text : absl::StrCat(text.substr(0, kMax), "...");
}

// The HTTP status an error-typed body stands for when it came with a 2xx
// (OpenRouter and proxies do that) or without a usable code.
int StatusForErrorType(const std::string& type) {
  if (type == "rate_limit_error" || type == "rate_limit_exceeded" || type == "insufficient_quota") {
    return 429;
  }
  if (type == "invalid_request_error") return 400;
  if (type == "authentication_error") return 401;
  if (type == "permission_error") return 403;
  if (type == "not_found_error") return 404;
  return 500;  // server_error, overloaded_error, api_error, unknown: transient
}

struct BodyError {
  int http_equivalent = 500;
  std::string message;
};

// The error object of either wire format ({"error": {...}} or
// {"type": "error", "error": {...}}), if the body holds one.
absl::optional<BodyError> FindError(const json& body, int http_status) {
  if (!body.is_object()) return absl::nullopt;
  const auto it = body.find("error");
  if (it == body.end() || it->is_null()) return absl::nullopt;
  BodyError error;
  std::string type;
  if (it->is_string()) {
    error.message = it->get<std::string>();
  } else if (it->is_object()) {
    if (it->contains("message") && (*it)["message"].is_string()) {
      error.message = (*it)["message"].get<std::string>();
    }
    if (it->contains("type") && (*it)["type"].is_string()) type = (*it)["type"].get<std::string>();
    if (it->contains("code") && (*it)["code"].is_number_integer()) {
      const int code = (*it)["code"].get<int>();
      if (code >= 400 && code <= 599) error.http_equivalent = code;
    } else {
      error.http_equivalent = StatusForErrorType(type);
    }
  }
  if (!IsSuccess(http_status)) error.http_equivalent = http_status;
  if (error.message.empty()) error.message = Snippet(it->dump());
  if (!type.empty()) error.message = absl::StrCat(type, ": ", error.message);
  return error;
}

absl::optional<absl::Duration> RetryAfter(const HttpResponse& response) {
  // OpenAI also sends the finer retry-after-ms.
  const std::string ms = response.Header("retry-after-ms");
  if (!ms.empty()) {
    if (auto seconds = ParseRetryAfter(ms, absl::Now())) return *seconds / 1000;
  }
  return ParseRetryAfter(response.Header("retry-after"), absl::Now());
}

bool IsZero(const v1::TokenUsage& usage) {
  return usage.input_tokens() == 0 && usage.cached_input_tokens() == 0 &&
         usage.output_tokens() == 0 && usage.reasoning_tokens() == 0 &&
         usage.cache_write_tokens() == 0 && usage.unreported_answers() == 0;
}

}  // namespace

int64_t JsonCount(const json& object, const char* key) {
  if (!object.is_object()) return 0;
  const auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? std::max<int64_t>(0, it->get<int64_t>())
                                                        : 0;
}

HttpProvider::HttpProvider(ProviderConfig config, HttpClient* http, SleepFunction sleep)
    : config_(std::move(config)), http_(http), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](absl::Duration d) { absl::SleepFor(d); };
}

absl::StatusOr<Completion> HttpProvider::Complete(const CompletionRequest& request) {
  ASSIGN_OR_RETURN(const std::string key, ResolveApiKey(config_));
  HttpRequest http_request;
  http_request.url = Url();
  http_request.headers = Headers(key);
  http_request.headers.emplace_back("Content-Type", "application/json");
  // Prompts quote repository files, which may be Latin-1 or other non-UTF-8
  // bytes: JSON strings must be UTF-8, so invalid bytes become U+FFFD here,
  // where the text enters JSON, and nowhere else.
  http_request.body = Body(request).dump(-1, ' ', false, json::error_handler_t::replace);
  http_request.connect_timeout = config_.connect_timeout;
  http_request.total_timeout = config_.request_timeout;
  const std::string who = absl::StrCat("provider '", config_.name, "'");

  v1::TokenUsage usage;
  absl::Status last;
  int attempt = 0;
  while (true) {
    const absl::Duration left = request.deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      last = absl::DeadlineExceededError(
          attempt == 0 ? absl::StrCat(who, ": the caller's deadline passed before the call")
                       : absl::StrCat(last.message(), "; the caller's deadline passed, no retry"));
      break;
    }
    http_request.total_timeout = std::min(config_.request_timeout, left);
    ++attempt;
    bool retryable = false;
    absl::optional<absl::Duration> retry_after;
    absl::StatusOr<HttpResponse> response = http_->Post(http_request);
    if (!response.ok()) {
      last = absl::Status(response.status().code(),
                          absl::StrCat(who, ": ", response.status().message()));
      retryable = IsRetryableTransportError(response.status());
    } else {
      const json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      const bool is_json = !body.is_discarded();
      const bool success = IsSuccess(response->status);
      const absl::optional<BodyError> error =
          is_json ? FindError(body, response->status) : absl::nullopt;
      if (success && !error) {
        // A 2xx answer may be billed; one that says nothing of its usage is
        // counted so the ledger charges it in full rather than as $0.
        absl::optional<v1::TokenUsage> reported =
            is_json ? Usage(body) : absl::optional<v1::TokenUsage>();
        if (reported) {
          AddTokenUsage(*reported, &usage);
        } else {
          usage.set_unreported_answers(usage.unreported_answers() + 1);
        }
      }
      absl::StatusOr<Completion> completion = absl::UnknownError("unparsed");
      if (success && is_json && !error) {
        completion = Parse(body);
        if (completion.ok()) {
          completion->usage = usage;
          completion->attempts = attempt;
          return completion;
        }
      }
      // A 2xx that is not a usable answer is a bad gateway: worth another try.
      const int effective = !success ? response->status : error ? error->http_equivalent : 502;
      std::string what;
      if (error) {
        what = absl::StrCat("answered HTTP ", response->status,
                            success ? " with an error object: " : ": ", error->message);
      } else if (!is_json) {
        what = absl::StrCat("answered HTTP ", response->status, " with a body that is not JSON: ",
                            Snippet(response->body));
      } else if (success) {
        what = absl::StrCat("answered HTTP ", response->status,
                            " with an unexpected shape: ", completion.status().message());
      } else {
        what = absl::StrCat("answered HTTP ", response->status, ": ", Snippet(response->body));
      }
      last = StatusForHttpError(effective, absl::StrCat(who, " ", what));
      retryable = IsRetryableHttpStatus(effective);
      retry_after = RetryAfter(*response);
    }
    last = absl::Status(last.code(), Redact(std::string(last.message()), key));
    if (!retryable || attempt > config_.retry.max_retries) break;
    absl::Duration delay;
    if (retry_after) {
      if (*retry_after > config_.retry.max_retry_after) {
        last = absl::Status(
            last.code(), absl::StrCat(last.message(), "; it asked to retry after ",
                                      absl::FormatDuration(*retry_after), ", longer than the ",
                                      absl::FormatDuration(config_.retry.max_retry_after),
                                      " we wait"));
        break;
      }
      delay = *retry_after;
    } else {
      absl::MutexLock lock(&gen_mu_);
      delay = BackoffDelay(config_.retry, attempt - 1, gen_);
    }
    if (absl::Now() + delay >= request.deadline) {
      last = absl::Status(last.code(), absl::StrCat(last.message(), "; no retry: the caller's "
                                                                    "deadline comes first"));
      break;
    }
    const std::string attempt_text = absl::StrCat(attempt);
    const std::string delay_text = absl::FormatDuration(delay);
    static Counter& retries = Metrics().GetCounter(
        "autopack_llm_retries_total", "LLM HTTP attempts retried, by provider and model",
        {"provider", "model"});
    retries.Add({config_.name, request.model});
    LogWarning("provider call failed; retrying",
               {{"provider", config_.name}, {"attempt", attempt_text}, {"delay", delay_text},
                {"error", last.message()}});
    sleep_(delay);
  }
  if (attempt > 1) {
    last = absl::Status(last.code(), absl::StrCat(last.message(), " (", attempt, " attempts)"));
  }
  if (!IsZero(usage)) AddBilledUsage(usage, &last);
  return last;
}

}  // namespace autopack::llm
