// Whole-file reads and crash-safe writes.
#ifndef AUTOPACK_SERVICES_COMMON_FILES_H_
#define AUTOPACK_SERVICES_COMMON_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace autopack {

// Reads a whole file. NOT_FOUND when it does not exist; the message names the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `content` to a temporary file beside `path`, fsyncs it and renames it
// over `path`, so readers see the old or the new content, never a mix.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_FILES_H_
