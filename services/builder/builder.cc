#include "services/builder/builder.h"

#include "absl/status/status.h"

namespace autopack::builder {

absl::StatusOr<v1::GeneratePatchResponse> Builder::GeneratePatch(
    const v1::GeneratePatchRequest&) {
  return absl::UnimplementedError(
      "GeneratePatch is not built yet: it needs the LLM provider layer (issue 3)");
}

}  // namespace autopack::builder
