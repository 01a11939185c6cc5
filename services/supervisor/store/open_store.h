// Opens the store a --store flag names:
//   sqlite:/var/lib/autopack/store.db      (embedded default, one replica)
//   postgresql://user@host:5432/autopack   (libpq URI; several replicas)
//   postgres:host=... port=... dbname=...  (libpq key=value string)
#ifndef AUTOPACK_SERVICES_SUPERVISOR_STORE_OPEN_STORE_H_
#define AUTOPACK_SERVICES_SUPERVISOR_STORE_OPEN_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/supervisor/store/store.h"

namespace autopack::supervisor {

// INVALID_ARGUMENT for an unknown scheme; otherwise what the backend's Open
// returns (UNAVAILABLE when the database cannot be reached).
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& url,
                                                 StoreOptions options = {});

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_STORE_OPEN_STORE_H_
