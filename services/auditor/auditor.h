// Auditor core: reviews patches with deterministic checks and an LLM. Knows nothing of gRPC.
#ifndef AUTOPACK_SERVICES_AUDITOR_AUDITOR_H_
#define AUTOPACK_SERVICES_AUDITOR_AUDITOR_H_

#include "absl/status/statusor.h"
#include "autopack/v1/auditor.pb.h"

namespace autopack::auditor {

class Auditor {
 public:
  absl::StatusOr<v1::ReviewPatchResponse> ReviewPatch(const v1::ReviewPatchRequest& request);
};

}  // namespace autopack::auditor

#endif  // AUTOPACK_SERVICES_AUDITOR_AUDITOR_H_
