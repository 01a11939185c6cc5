#include "bench/shell.h"

#include <array>
#include <cstdio>

namespace autopack::bench {

std::string RunShell(const std::string& command, int* status) {
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  if (pipe == nullptr) {
    if (status != nullptr) *status = -1;
    return out;
  }
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  const int exit = pclose(pipe);
  if (status != nullptr) *status = exit;
  return out;
}

}  // namespace autopack::bench
