#include "services/common/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace autopack {
namespace {

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Reads up to the end of the request head, at most 8 KiB and 5 s: a scraper
// sends a few hundred bytes at once; anything else is not waited for.
std::string ReadRequestHead(int fd) {
  std::string head;
  char buffer[1024];
  while (head.size() < 8192 && !absl::StrContains(head, "\r\n\r\n")) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    head.append(buffer, static_cast<size_t>(n));
  }
  return head;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen,
                                                                     const MetricsRegistry* registry) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535 || inet_pton(AF_INET, listen.substr(0, colon).c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics_listen '", listen, "' is not IPV4:PORT (e.g. 0.0.0.0:9090)"));
  }
  address.sin_port = htons(static_cast<uint16_t>(port));
  std::unique_ptr<MetricsServer> server(new MetricsServer);
  server->registry_ = registry;
  server->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(server->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (server->listen_fd_ < 0 ||
      bind(server->listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(server->listen_fd_, 16) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, " for metrics: ", strerror(errno)));
  }
  socklen_t length = sizeof(address);
  getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  server->port_ = ntohs(address.sin_port);
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

MetricsServer::~MetricsServer() {
  stopping_ = true;
  if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void MetricsServer::Serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const std::string head = ReadRequestHead(fd);
    const bool metrics = absl::StartsWith(head, "GET /metrics ") || absl::StartsWith(head, "GET /metrics?");
    const std::string body = metrics ? registry_->Render() : "not found; try /metrics\n";
    WriteAll(fd, absl::StrCat("HTTP/1.1 ", metrics ? "200 OK" : "404 Not Found",
                              "\r\nContent-Type: ", metrics ? "text/plain; version=0.0.4" : "text/plain",
                              "; charset=utf-8\r\nContent-Length: ", body.size(),
                              "\r\nConnection: close\r\n\r\n", body));
    close(fd);
  }
}

}  // namespace autopack
