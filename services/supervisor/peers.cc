#include "services/supervisor/peers.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "services/common/billed_usage.h"
#include "services/common/grpc_status.h"

namespace autopack::supervisor {
namespace {

absl::Duration DurationOf(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

Peers::Peers(std::shared_ptr<v1::BuilderService::StubInterface> builder,
             std::shared_ptr<v1::AuditorService::StubInterface> auditor,
             std::shared_ptr<v1::GitAdapterService::StubInterface> git, PeerOptions options)
    : builder_(std::move(builder)),
      auditor_(std::move(auditor)),
      git_(std::move(git)),
      options_(std::move(options)) {}

template <typename Response>
absl::StatusOr<Response> Peers::Call(
    const CallScope& scope, absl::string_view method, absl::Duration deadline,
    const std::function<grpc::Status(grpc::ClientContext*, Response*)>& invoke) {
  for (int attempt = 0;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    if (!scope.run_id.empty()) context.AddMetadata("x-autopack-run-id", scope.run_id);
    if (!scope.phase_id.empty()) context.AddMetadata("x-autopack-phase-id", scope.phase_id);
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return absl::CancelledError(absl::StrCat(method, ": the supervisor is stopping"));
      in_flight_.insert(&context);
    }
    Response response;
    const grpc::Status status = invoke(&context, &response);
    {
      absl::MutexLock lock(&mu_);
      in_flight_.erase(&context);
    }
    if (status.ok()) return response;
    const absl::Status error = FromGrpcStatus(status);
    // A failure that was billed goes back to be settled, never retried here.
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE && !HasBilledUsage(error) &&
        attempt < options_.unavailable_retry.max_retries) {
      static thread_local absl::BitGen gen;
      options_.sleep(llm::BackoffDelay(options_.unavailable_retry, attempt, gen));
      continue;
    }
    absl::Status named(error.code(), absl::StrCat(method, ": ", error.message()));
    error.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
      named.SetPayload(type_url, payload);
    });
    return named;
  }
}

void Peers::CancelAll() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* context : in_flight_) context->TryCancel();
}

absl::StatusOr<v1::GeneratePatchResponse> Peers::GeneratePatch(
    const CallScope& scope, const v1::GeneratePatchRequest& r) {
  return Call<v1::GeneratePatchResponse>(
      scope, "Builder.GeneratePatch", options_.llm_deadline,
      [&](grpc::ClientContext* c, v1::GeneratePatchResponse* out) {
        return builder_->GeneratePatch(c, r, out);
      });
}

absl::StatusOr<v1::ReviewPatchResponse> Peers::ReviewPatch(const CallScope& scope,
                                                           const v1::ReviewPatchRequest& r) {
  return Call<v1::ReviewPatchResponse>(
      scope, "Auditor.ReviewPatch", options_.llm_deadline,
      [&](grpc::ClientContext* c, v1::ReviewPatchResponse* out) {
        return auditor_->ReviewPatch(c, r, out);
      });
}

absl::StatusOr<v1::OpenWorkspaceResponse> Peers::OpenWorkspace(
    const CallScope& scope, const v1::OpenWorkspaceRequest& r) {
  return Call<v1::OpenWorkspaceResponse>(
      scope, "GitAdapter.OpenWorkspace", options_.git_deadline,
      [&](grpc::ClientContext* c, v1::OpenWorkspaceResponse* out) {
        return git_->OpenWorkspace(c, r, out);
      });
}

absl::StatusOr<v1::ReadFilesResponse> Peers::ReadFiles(const CallScope& scope,
                                                       const v1::ReadFilesRequest& r) {
  return Call<v1::ReadFilesResponse>(scope, "GitAdapter.ReadFiles", options_.git_deadline,
                                     [&](grpc::ClientContext* c, v1::ReadFilesResponse* out) {
                                       return git_->ReadFiles(c, r, out);
                                     });
}

absl::StatusOr<v1::ApplyPatchResponse> Peers::ApplyPatch(const CallScope& scope,
                                                         const v1::ApplyPatchRequest& r) {
  return Call<v1::ApplyPatchResponse>(scope, "GitAdapter.ApplyPatch", options_.git_deadline,
                                      [&](grpc::ClientContext* c, v1::ApplyPatchResponse* out) {
                                        return git_->ApplyPatch(c, r, out);
                                      });
}

absl::StatusOr<v1::RollbackResponse> Peers::Rollback(const CallScope& scope,
                                                     const v1::RollbackRequest& r) {
  return Call<v1::RollbackResponse>(scope, "GitAdapter.Rollback", options_.git_deadline,
                                    [&](grpc::ClientContext* c, v1::RollbackResponse* out) {
                                      return git_->Rollback(c, r, out);
                                    });
}

absl::StatusOr<v1::RunChecksResponse> Peers::RunChecks(const CallScope& scope,
                                                       const v1::RunChecksRequest& r) {
  return Call<v1::RunChecksResponse>(
      scope, "GitAdapter.RunChecks", DurationOf(r.timeout()) + options_.check_deadline_margin,
      [&](grpc::ClientContext* c, v1::RunChecksResponse* out) {
        return git_->RunChecks(c, r, out);
      });
}

}  // namespace autopack::supervisor
