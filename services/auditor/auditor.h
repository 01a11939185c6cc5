// Auditor core: reviews patches with deterministic checks and an LLM. Knows nothing of gRPC.
#ifndef AUTOPACK_SERVICES_AUDITOR_AUDITOR_H_
#define AUTOPACK_SERVICES_AUDITOR_AUDITOR_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autopack/v1/auditor.pb.h"
#include "services/auditor/auditor_config.h"
#include "services/common/llm/idempotency_cache.h"
#include "services/common/llm/llm_client.h"

namespace autopack::auditor {

class Auditor {
 public:
  // `llm` is not owned and must outlive the Auditor.
  Auditor(const llm::LlmClient* llm, AuditorConfig config,
          llm::IdempotencyCache<v1::ReviewPatchResponse>::Options cache_options = {});

  // Static checks first (their issues lead the list), then the model unless
  // the patch did not parse (llm_skipped). approved is true exactly when no
  // issue is MAJOR, whatever the model's own verdict. A model answer that is
  // truncated, refused or not valid per the schema becomes a MAJOR
  // "review_failed" issue, so an unreviewed patch is never approved.
  // Errors: INVALID_ARGUMENT for a bad request, an unknown profile or a model
  // without provider or price; the provider's errors otherwise. The same
  // idempotency_key returns the stored response without another model call
  // (a failure the provider billed is stored too, with its usage). No
  // provider request starts after `deadline`.
  absl::StatusOr<v1::ReviewPatchResponse> ReviewPatch(
      const v1::ReviewPatchRequest& request, absl::Time deadline = absl::InfiniteFuture());

 private:
  absl::StatusOr<v1::ReviewPatchResponse> Review(const v1::ReviewPatchRequest& request,
                                                 const std::string& focus, absl::Time deadline);

  const llm::LlmClient* llm_;
  const AuditorConfig config_;
  llm::IdempotencyCache<v1::ReviewPatchResponse> cache_;
};

}  // namespace autopack::auditor

#endif  // AUTOPACK_SERVICES_AUDITOR_AUDITOR_H_
