// HTTP for the LLM providers: one small interface, a libcurl implementation
// that reuses connections, and a scripted fake for unit tests.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_HTTP_CLIENT_H_
#define AUTOPACK_SERVICES_COMMON_LLM_HTTP_CLIENT_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace autopack::llm {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string url;
  HttpHeaders headers;
  std::string body;  // sent as a POST body
  absl::Duration connect_timeout = absl::Seconds(10);
  // Whole exchange, from connecting to the last byte of the answer.
  absl::Duration total_timeout = absl::Seconds(300);
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-cased
  std::string body;

  // Value of the first header named `name` (lower case), or "" when absent.
  std::string Header(absl::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // POSTs the request. Any HTTP status is a successful exchange; errors are
  // transport failures: DEADLINE_EXCEEDED when a timeout hit, UNAVAILABLE when
  // the server could not be reached or the connection broke. Messages name the
  // host, never the headers (they carry keys).
  virtual absl::StatusOr<HttpResponse> Post(const HttpRequest& request) = 0;
};

// libcurl. Thread-safe; finished handles are kept in a pool so their
// connections are reused by later requests to the same host.
class CurlHttpClient : public HttpClient {
 public:
  CurlHttpClient();
  ~CurlHttpClient() override;
  absl::StatusOr<HttpResponse> Post(const HttpRequest& request) override;

 private:
  void* TakeHandle();
  void ReturnHandle(void* handle);

  absl::Mutex mu_;
  std::vector<void*> idle_ ABSL_GUARDED_BY(mu_);  // CURL*
};

// Answers from a script, records what was sent. Thread-safe.
class FakeHttpClient : public HttpClient {
 public:
  // Queues the outcome of the next unanswered Post().
  void Enqueue(absl::StatusOr<HttpResponse> response);
  absl::StatusOr<HttpResponse> Post(const HttpRequest& request) override;
  std::vector<HttpRequest> requests() const;

 private:
  mutable absl::Mutex mu_;
  std::deque<absl::StatusOr<HttpResponse>> script_ ABSL_GUARDED_BY(mu_);
  std::vector<HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_HTTP_CLIENT_H_
