#include "services/builder/builder.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/builder/builder_prompt.h"
#include "services/builder/edit_formats.h"
#include "services/builder/model_answer.h"
#include "services/common/llm/request_checks.h"
#include "services/common/logging.h"
#include "services/common/status_macros.h"
#include "services/common/text.h"

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
    case llm::FinishReason::kMalformed:
      response.set_outcome(v1::PATCH_OUTCOME_MALFORMED);
      response.set_detail(answer.completion.refusal);
      break;
    case llm::FinishReason::kStop: {
      ContextFiles files;
      for (const v1::ContextFile& file : request.context_files()) files[file.path()] = file.content();
      const v1::EditFormat format = EffectiveEditFormat(request);
      response.set_summary(format == v1::UNIFIED_DIFF ? SplitModelAnswer(answer.completion.text).summary
                                                      : AnswerSummary(answer.completion.text));
      absl::StatusOr<ResolvedEdit> edit = ResolveAnswer(format, answer.completion.text, files);
      if (!edit.ok()) {
        response.set_outcome(v1::PATCH_OUTCOME_MALFORMED);
        response.set_detail(ClipForMessage(edit.status().message(), 4000));
        break;
      }
      response.set_outcome(v1::PATCH_OUTCOME_OK);
      response.set_patch(std::move(edit->patch));
      for (std::string& path : edit->files_touched) response.add_files_touched(std::move(path));
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
