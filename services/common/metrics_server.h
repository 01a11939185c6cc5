// The HTTP endpoint of --metrics_listen: GET /metrics answers the
// registry's Prometheus text; anything else 404. Plain HTTP/1.0-style (one
// request per connection) is all a Prometheus scraper or curl needs; it
// carries counts only, never a token or user data beyond label values.
#ifndef AUTOPACK_SERVICES_COMMON_METRICS_SERVER_H_
#define AUTOPACK_SERVICES_COMMON_METRICS_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "services/common/metrics.h"

namespace autopack {

class MetricsServer {
 public:
  // Listens on `listen` (IPv4 HOST:PORT; port 0 picks one) serving
  // `registry` (not owned, must outlive the server). INVALID_ARGUMENT for a
  // malformed address, UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                              const MetricsRegistry* registry);
  // Stops accepting and joins the serving thread.
  ~MetricsServer();

  int port() const { return port_; }

 private:
  MetricsServer() = default;
  void Serve();

  const MetricsRegistry* registry_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_METRICS_SERVER_H_
