// A plain HTTP/1.0 GET for tests that read an endpoint such as /metrics,
// without curl (the images and test machines need not have it).
#ifndef AUTOPACK_TESTS_TESTING_HTTP_GET_H_
#define AUTOPACK_TESTS_TESTING_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"

namespace autopack::testing {

struct HttpResponse {
  int status = 0;
  std::string headers;  // the head, status line included
  std::string body;
};

// GET `path` from IPv4 `host`:`port`; UNAVAILABLE when it cannot connect,
// DATA_LOSS for an answer that is not HTTP.
absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port, const std::string& path);

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_TESTING_HTTP_GET_H_
