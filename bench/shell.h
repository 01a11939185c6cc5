// Running shell commands from a benchmark.
#ifndef AUTOPACK_BENCH_SHELL_H_
#define AUTOPACK_BENCH_SHELL_H_

#include <string>

namespace autopack::bench {

// Runs `command` with /bin/sh and returns its stdout; its exit status (as
// pclose reports it) goes to `status` when given.
std::string RunShell(const std::string& command, int* status = nullptr);

}  // namespace autopack::bench

#endif  // AUTOPACK_BENCH_SHELL_H_
