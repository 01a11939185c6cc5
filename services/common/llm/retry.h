// When and how long to wait before calling a provider again (DESIGN.md §4):
// retry 408/409/429/5xx and transport failures, at most max_retries times;
// honour Retry-After up to a limit, otherwise min(base·2^n, cap) with jitter;
// never retry other 4xx.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_RETRY_H_
#define AUTOPACK_SERVICES_COMMON_LLM_RETRY_H_

#include <functional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace autopack::llm {

struct RetryPolicy {
  int max_retries = 2;
  absl::Duration base_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(8);
  // A server asking for a longer wait is not waited for: the call fails, so
  // the caller can fall back to another provider instead of stalling.
  absl::Duration max_retry_after = absl::Seconds(120);
};

// How the retry loop sleeps; tests substitute one that records.
using SleepFunction = std::function<void(absl::Duration)>;

bool IsRetryableHttpStatus(int status);

// Transport failures worth another try: UNAVAILABLE and DEADLINE_EXCEEDED.
bool IsRetryableTransportError(const absl::Status& status);

// Delay before retry number `retry` (0 for the first retry): a uniformly random
// duration in [d/2, d] where d = min(base·2^retry, max_backoff).
absl::Duration BackoffDelay(const RetryPolicy& policy, int retry, absl::BitGenRef gen);

// A Retry-After value: delta-seconds ("7") or an HTTP-date
// ("Wed, 21 Oct 2026 07:28:00 GMT", relative to `now`). nullopt when it is
// neither. Dates in the past give zero.
absl::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

// The status a failed HTTP exchange ends the call with, by what the caller
// should do: 429 → RESOURCE_EXHAUSTED, 401/403 → FAILED_PRECONDITION (fix the
// key), 408 → DEADLINE_EXCEEDED, other 4xx → INVALID_ARGUMENT, the rest
// UNAVAILABLE. `what` becomes the message.
absl::Status StatusForHttpError(int http_status, const std::string& what);

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_RETRY_H_
