// Builder core: turns a phase into a validated unified diff. Knows nothing of gRPC.
#ifndef AUTOPACK_SERVICES_BUILDER_BUILDER_H_
#define AUTOPACK_SERVICES_BUILDER_BUILDER_H_

#include "absl/status/statusor.h"
#include "autopack/v1/builder.pb.h"

namespace autopack::builder {

class Builder {
 public:
  // Asks the model for a patch. Model-side failures are outcomes in the
  // response; errors are reserved for bad requests and unreachable providers.
  absl::StatusOr<v1::GeneratePatchResponse> GeneratePatch(
      const v1::GeneratePatchRequest& request);
};

}  // namespace autopack::builder

#endif  // AUTOPACK_SERVICES_BUILDER_BUILDER_H_
