#include "services/common/logging.h"

#include <unistd.h>

#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace autopack {
namespace {

absl::Mutex g_mu;
std::string* g_service ABSL_GUARDED_BY(g_mu) = new std::string;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

void SetLogServiceName(absl::string_view name) {
  absl::MutexLock lock(&g_mu);
  g_service->assign(name.data(), name.size());
}

void Log(LogLevel level, absl::string_view message,
         std::initializer_list<LogField> fields) {
  nlohmann::ordered_json line;
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line["level"] = LevelName(level);
  {
    absl::MutexLock lock(&g_mu);
    if (!g_service->empty()) line["service"] = *g_service;
  }
  line["msg"] = std::string(message);
  for (const auto& [key, value] : fields) line[std::string(key)] = std::string(value);
  // Invalid UTF-8 in a message must not throw out of the logger.
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  // One write(2) per line keeps lines whole when threads log at once.
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(STDERR_FILENO, text.data() + written, text.size() - written);
    if (n <= 0) return;
    written += static_cast<size_t>(n);
  }
}

}  // namespace autopack
