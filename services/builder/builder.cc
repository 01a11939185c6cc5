#include "services/builder/builder.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/builder/builder_prompt.h"
#include "services/builder/unified_diff.h"
#include "services/common/llm/request_checks.h"
#include "services/common/logging.h"
#include "services/common/status_macros.h"

namespace autopack::builder {
namespace {

absl::Status ValidateRequest(const v1::GeneratePatchRequest& request) {
  if (!request.has_phase() || request.phase().phase_id().empty()) {
    return absl::InvalidArgumentError("phase.phase_id is empty");
  }
  if (request.phase().description().empty()) {
    return absl::InvalidArgumentError("phase.description is empty");
  }
  RETURN_IF_ERROR(llm::CheckModelCall({&request.phase(), &request.context_files(), &request.model(),
                                       request.max_output_tokens(), &request.idempotency_key(),
                                       &request.run_id()}));
  if (request.feedback_size() > 50) {
    return absl::InvalidArgumentError(absl::StrCat("feedback has ", request.feedback_size(), " entries; at most 50"));
  }
  return absl::OkStatus();
}

}  // namespace

Builder::Builder(const llm::LlmClient* llm,
                 llm::IdempotencyCache<v1::GeneratePatchResponse>::Options cache_options)
    : llm_(llm), cache_(std::move(cache_options)) {}

absl::StatusOr<v1::GeneratePatchResponse> Builder::GeneratePatch(
    const v1::GeneratePatchRequest& request, absl::Time deadline) {
  RETURN_IF_ERROR(ValidateRequest(request));
  RETURN_IF_ERROR(llm_->CheckModel(request.model()));
  v1::GeneratePatchRequest keyless = request;
  keyless.clear_idempotency_key();
  return cache_.GetOrCompute(request.idempotency_key(), keyless.SerializeAsString(),
                             [&] { return Generate(request, deadline); });
}

absl::StatusOr<v1::GeneratePatchResponse> Builder::Generate(
    const v1::GeneratePatchRequest& request, absl::Time deadline) {
  llm::CompletionRequest prompt = BuildPatchPrompt(request);
  prompt.deadline = deadline;
  ASSIGN_OR_RETURN(llm::PricedCompletion answer, llm_->Complete(request.model(), prompt));
  v1::GeneratePatchResponse response;
  *response.mutable_usage() = answer.completion.usage;
  response.set_cost_micro_usd(answer.cost_micro_usd);
  response.set_model_used(answer.model);
  switch (answer.completion.finish) {
    case llm::FinishReason::kLength:
      response.set_outcome(v1::PATCH_OUTCOME_TRUNCATED);
      response.set_detail(absl::StrCat("the answer hit the output limit of ",
                                       request.max_output_tokens(),
                                       " tokens; no patch is returned"));
      break;
    case llm::FinishReason::kRefusal:
      response.set_outcome(v1::PATCH_OUTCOME_REFUSED);
      response.set_detail(answer.completion.refusal);
      break;
    case llm::FinishReason::kStop: {
      const ModelAnswer split = SplitModelAnswer(answer.completion.text);
      response.set_summary(split.summary);
      if (split.diff.empty()) {
        response.set_outcome(v1::PATCH_OUTCOME_MALFORMED);
        response.set_detail("the answer holds no unified diff (no \"diff --git\" or \"---\" "
                            "file header)");
        break;
      }
      absl::StatusOr<std::vector<FilePatch>> files = ParseUnifiedDiff(split.diff);
      absl::Status valid = files.ok() ? ValidateGeneratedPatch(*files) : files.status();
      if (!valid.ok()) {
        response.set_outcome(v1::PATCH_OUTCOME_MALFORMED);
        response.set_detail(std::string(valid.message()));
        break;
      }
      response.set_outcome(v1::PATCH_OUTCOME_OK);
      response.set_patch(split.diff);
      for (std::string& path : FilesTouched(*files)) response.add_files_touched(std::move(path));
      break;
    }
  }
  const std::string cost = absl::StrCat(response.cost_micro_usd());
  LogInfo("patch generated", {{"run_id", request.run_id()},
                              {"phase_id", request.phase().phase_id()},
                              {"model", request.model()},
                              {"outcome", v1::PatchOutcome_Name(response.outcome())},
                              {"cost_micro_usd", cost}});
  return response;
}

}  // namespace autopack::builder
