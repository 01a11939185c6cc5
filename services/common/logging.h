// Structured logs: one JSON object per line on stderr, e.g.
//   {"time":"2026-11-23T10:00:00.123Z","level":"info","service":"builder",
//    "msg":"listening on 127.0.0.1:50052","run_id":"r1"}
// JSON string escaping keeps CR, LF and every other control character in a
// message or field (user data included) inside its line as \r, \n, \u00XX,
// so no caller can forge a line.
#ifndef AUTOPACK_SERVICES_COMMON_LOGGING_H_
#define AUTOPACK_SERVICES_COMMON_LOGGING_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace autopack {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogField = std::pair<absl::string_view, absl::string_view>;

// Sets the "service" field of every later line. Call once, early in main.
void SetLogServiceName(absl::string_view name);

// Lines below `level` are dropped (default kInfo).
void SetLogLevel(LogLevel level);
// "debug", "info", "warning", "error"; INVALID_ARGUMENT naming the choices.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

// Writes one line atomically (safe from any thread). Fields with an empty
// value are left out: a line says what is known, e.g. no phase_id outside a phase.
void Log(LogLevel level, absl::string_view message,
         std::initializer_list<LogField> fields = {});

inline void LogDebug(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kDebug, m, f);
}
inline void LogInfo(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarning(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarning, m, f);
}
inline void LogError(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_LOGGING_H_
