// What the container tests share: deploy/podman.sh with the test's podman
// directory, and a free loopback port.
#ifndef AUTOPACK_TESTS_CONTAINERS_PODMAN_H_
#define AUTOPACK_TESTS_CONTAINERS_PODMAN_H_

#include <string>

namespace autopack::testing {

// A shell command running `deploy/podman.sh ARGS` (runfiles-relative) with
// AUTOPACK_PODMAN_DIR passed on from the test's environment, so every test
// uses podman's one settings and storage (see deploy/podman.sh).
std::string PodmanSh(const std::string& args);

// A TCP port free on 127.0.0.1 at the time of the call.
int FreePort();

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_CONTAINERS_PODMAN_H_
