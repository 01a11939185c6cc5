// Builder core: turns a phase into a validated unified diff. Knows nothing of gRPC.
#ifndef AUTOPACK_SERVICES_BUILDER_BUILDER_H_
#define AUTOPACK_SERVICES_BUILDER_BUILDER_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autopack/v1/builder.pb.h"
#include "services/common/llm/idempotency_cache.h"
#include "services/common/llm/llm_client.h"

namespace autopack::builder {

class Builder {
 public:
  // `llm` is not owned and must outlive the Builder.
  explicit Builder(const llm::LlmClient* llm,
                   llm::IdempotencyCache<v1::GeneratePatchResponse>::Options cache_options = {});

  // Asks the model for a patch. Model-side failures are outcomes in the
  // response (TRUNCATED, MALFORMED with the reason, REFUSED); a patch is only
  // returned with OK, after it parsed and passed ValidateGeneratedPatch.
  // Errors: INVALID_ARGUMENT for a bad request or a model without provider or
  // price; the provider's errors otherwise. The same idempotency_key returns
  // the stored response without calling (or billing) the provider again; a
  // failure the provider billed is stored too (with its usage on the status,
  // billed_usage.h), so asking again settles it instead of paying twice. No
  // provider request starts after `deadline`.
  absl::StatusOr<v1::GeneratePatchResponse> GeneratePatch(
      const v1::GeneratePatchRequest& request, absl::Time deadline = absl::InfiniteFuture());

 private:
  absl::StatusOr<v1::GeneratePatchResponse> Generate(const v1::GeneratePatchRequest& request,
                                                     absl::Time deadline);

  const llm::LlmClient* llm_;
  llm::IdempotencyCache<v1::GeneratePatchResponse> cache_;
};

}  // namespace autopack::builder

#endif  // AUTOPACK_SERVICES_BUILDER_BUILDER_H_
