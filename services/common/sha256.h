// SHA-256 for content hashes (store spec hashes, migration checksums) and for
// bearer tokens, which are only ever stored and compared as hashes.
#ifndef AUTOPACK_SERVICES_COMMON_SHA256_H_
#define AUTOPACK_SERVICES_COMMON_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace autopack {

// Lower-case hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(absl::string_view data);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_SHA256_H_
