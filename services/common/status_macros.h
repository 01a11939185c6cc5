// Early-return helpers for absl::Status / absl::StatusOr.
#ifndef AUTOPACK_SERVICES_COMMON_STATUS_MACROS_H_
#define AUTOPACK_SERVICES_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AUTOPACK_STATUS_CONCAT_INNER_(a, b) a##b
#define AUTOPACK_STATUS_CONCAT_(a, b) AUTOPACK_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status _autopack_status = (expr);    \
    if (!_autopack_status.ok()) {                \
      return _autopack_status;                   \
    }                                            \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, MakeX());` binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr)                                         \
  ASSIGN_OR_RETURN_IMPL_(                                                   \
      AUTOPACK_STATUS_CONCAT_(_autopack_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) {                             \
    return std::move(statusor).status();            \
  }                                                 \
  lhs = std::move(statusor).value()

#endif  // AUTOPACK_SERVICES_COMMON_STATUS_MACROS_H_
