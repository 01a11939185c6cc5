#include "tests/containers/podman.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace autopack::testing {

std::string PodmanSh(const std::string& args) {
  const char* dir = std::getenv("AUTOPACK_PODMAN_DIR");
  return absl::StrCat(dir != nullptr ? absl::StrCat("AUTOPACK_PODMAN_DIR=", dir, " ") : "",
                      "deploy/podman.sh ", args);
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace autopack::testing
