#include "services/auditor/auditor.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/auditor/llm_review.h"
#include "services/auditor/static_checks.h"
#include "services/common/issue_fingerprint.h"
#include "services/common/llm/request_checks.h"
#include "services/common/logging.h"
#include "services/common/status_macros.h"
#include "services/common/text.h"

namespace autopack::auditor {
namespace {

v1::Issue ReviewFailed(std::string why) {
  v1::Issue issue;
  issue.set_severity(v1::SEVERITY_MAJOR);
  issue.set_source(v1::ISSUE_SOURCE_LLM);
  issue.set_category("review_failed");
  issue.set_message(absl::StrCat("the review model gave no usable review: ", why));
  issue.set_suggestion("review again (a larger output limit or another model may help)");
  issue.set_fingerprint(IssueFingerprint(issue.category(), "", issue.message()));
  return issue;
}

}  // namespace

Auditor::Auditor(const llm::LlmClient* llm, AuditorConfig config,
                 llm::IdempotencyCache<v1::ReviewPatchResponse>::Options cache_options)
    : llm_(llm), config_(std::move(config)), cache_(std::move(cache_options)) {}

absl::StatusOr<v1::ReviewPatchResponse> Auditor::ReviewPatch(
    const v1::ReviewPatchRequest& request, absl::Time deadline) {
  if (request.patch().empty()) return absl::InvalidArgumentError("patch is empty");
  RETURN_IF_ERROR(llm::CheckModelCall({request.has_phase() ? &request.phase() : nullptr,
                                       &request.context_files(), &request.model(),
                                       request.max_output_tokens(), &request.idempotency_key(),
                                       &request.run_id()}));
  if (request.protected_paths_size() > 200) {
    return absl::InvalidArgumentError(
        absl::StrCat("protected_paths has ", request.protected_paths_size(), " entries; at most 200"));
  }
  const std::string profile =
      request.auditor_profile().empty() ? "general" : request.auditor_profile();
  const auto focus = config_.profiles.find(profile);
  if (focus == config_.profiles.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("auditor_profile \"", ClipForMessage(profile, 64), "\" is not in auditor.yaml"));
  }
  RETURN_IF_ERROR(llm_->CheckModel(request.model()));
  v1::ReviewPatchRequest keyless = request;
  keyless.clear_idempotency_key();
  return cache_.GetOrCompute(request.idempotency_key(), keyless.SerializeAsString(),
                             [&] { return Review(request, focus->second, deadline); });
}

absl::StatusOr<v1::ReviewPatchResponse> Auditor::Review(const v1::ReviewPatchRequest& request,
                                                        const std::string& focus,
                                                        absl::Time deadline) {
  const std::vector<std::string> extra(request.protected_paths().begin(),
                                       request.protected_paths().end());
  StaticReview checks = RunStaticChecks(request.patch(), config_, extra);
  v1::ReviewPatchResponse response;
  for (v1::Issue& issue : checks.issues) *response.add_issues() = std::move(issue);
  if (!checks.parsed) {
    response.set_llm_skipped(true);
    response.set_summary("The patch does not parse, so the model was not consulted.");
  } else {
    std::vector<v1::Issue> found(response.issues().begin(), response.issues().end());
    llm::CompletionRequest prompt = BuildReviewPrompt(request, focus, found);
    prompt.deadline = deadline;
    ASSIGN_OR_RETURN(llm::PricedCompletion answer, llm_->Complete(request.model(), prompt));
    *response.mutable_usage() = answer.completion.usage;
    response.set_cost_micro_usd(answer.cost_micro_usd);
    response.set_model_used(answer.model);
    switch (answer.completion.finish) {
      case llm::FinishReason::kLength:
        *response.add_issues() = ReviewFailed(absl::StrCat(
            "it hit the output limit of ", request.max_output_tokens(), " tokens"));
        break;
      case llm::FinishReason::kRefusal:
        *response.add_issues() =
            ReviewFailed(absl::StrCat("it declined: ", answer.completion.refusal));
        break;
      case llm::FinishReason::kMalformed:
        *response.add_issues() = ReviewFailed(absl::StrCat("its answer is malformed: ", answer.completion.refusal));
        break;
      case llm::FinishReason::kStop: {
        absl::StatusOr<ModelReview> review = ParseModelReview(answer.completion.text);
        if (!review.ok()) {
          *response.add_issues() = ReviewFailed(absl::StrCat(
              "its answer does not follow the review schema (", review.status().message(), ")"));
          break;
        }
        response.set_summary(review->summary);
        for (v1::Issue& issue : review->issues) *response.add_issues() = std::move(issue);
        break;
      }
    }
  }
  bool major = false;
  for (const v1::Issue& issue : response.issues()) {
    major = major || issue.severity() == v1::SEVERITY_MAJOR;
  }
  response.set_approved(!major);
  const std::string issues = absl::StrCat(response.issues_size());
  const std::string cost = absl::StrCat(response.cost_micro_usd());
  LogInfo("patch reviewed", {{"run_id", request.run_id()},
                             {"phase_id", request.phase().phase_id()},
                             {"model", request.model()},
                             {"approved", response.approved() ? "true" : "false"},
                             {"issues", issues},
                             {"cost_micro_usd", cost}});
  return response;
}

}  // namespace autopack::auditor
