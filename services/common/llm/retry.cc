#include "services/common/llm/retry.h"

#include <algorithm>

#include "absl/random/distributions.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace autopack::llm {

bool IsRetryableHttpStatus(int status) {
  return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

bool IsRetryableTransportError(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

absl::Duration BackoffDelay(const RetryPolicy& policy, int retry, absl::BitGenRef gen) {
  absl::Duration delay = policy.base_backoff;
  for (int i = 0; i < retry && delay < policy.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, policy.max_backoff);
  const double fraction = absl::Uniform(absl::IntervalClosedClosed, gen, 0.5, 1.0);
  return delay * fraction;
}

absl::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return absl::nullopt;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return absl::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string error;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", value, absl::UTCTimeZone(), &when, &error)) {
    return absl::nullopt;
  }
  return std::max(when - now, absl::ZeroDuration());
}

absl::Status StatusForHttpError(int http_status, const std::string& what) {
  if (http_status == 429) return absl::ResourceExhaustedError(what);
  if (http_status == 401 || http_status == 403) return absl::FailedPreconditionError(what);
  if (http_status == 408) return absl::DeadlineExceededError(what);
  if (http_status >= 400 && http_status <= 499 && http_status != 409) {
    return absl::InvalidArgumentError(what);
  }
  return absl::UnavailableError(what);
}

}  // namespace autopack::llm
