// The Supervisor's view of the other three services: each call carries a
// deadline and the run/phase ids as metadata (x-autopack-run-id,
// x-autopack-phase-id), and UNAVAILABLE is retried with capped, jittered
// backoff. Takes StubInterfaces so tests can hand in generated mocks or
// in-process fakes.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_PEERS_H_
#define AUTOPACK_SERVICES_SUPERVISOR_PEERS_H_

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autopack/v1/auditor.grpc.pb.h"
#include "autopack/v1/builder.grpc.pb.h"
#include "autopack/v1/gitadapter.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "services/common/llm/retry.h"

namespace autopack::supervisor {

struct PeerOptions {
  absl::Duration llm_deadline = absl::Minutes(10);  // Builder and Auditor calls
  absl::Duration git_deadline = absl::Minutes(2);   // GitAdapter calls but RunChecks
  // RunChecks gets the check's own time limit plus this.
  absl::Duration check_deadline_margin = absl::Seconds(30);
  // UNAVAILABLE is retried max_retries times, waiting min(base·2^n, max)
  // with jitter (the same backoff as provider calls).
  llm::RetryPolicy unavailable_retry{/*max_retries=*/5, /*base_backoff=*/absl::Milliseconds(200),
                                     /*max_backoff=*/absl::Seconds(5)};
  // How waits happen; tests replace it to run without sleeping.
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
};

// Identifies the run and phase a call is made for.
struct CallScope {
  std::string run_id;
  std::string phase_id;
};

class Peers {
 public:
  Peers(std::shared_ptr<v1::BuilderService::StubInterface> builder,
        std::shared_ptr<v1::AuditorService::StubInterface> auditor,
        std::shared_ptr<v1::GitAdapterService::StubInterface> git, PeerOptions options);

  absl::StatusOr<v1::GeneratePatchResponse> GeneratePatch(const CallScope& scope,
                                                          const v1::GeneratePatchRequest& r);
  absl::StatusOr<v1::ReviewPatchResponse> ReviewPatch(const CallScope& scope,
                                                      const v1::ReviewPatchRequest& r);
  absl::StatusOr<v1::OpenWorkspaceResponse> OpenWorkspace(const CallScope& scope,
                                                          const v1::OpenWorkspaceRequest& r);
  absl::StatusOr<v1::ReadFilesResponse> ReadFiles(const CallScope& scope,
                                                  const v1::ReadFilesRequest& r);
  absl::StatusOr<v1::ApplyPatchResponse> ApplyPatch(const CallScope& scope,
                                                    const v1::ApplyPatchRequest& r);
  absl::StatusOr<v1::RollbackResponse> Rollback(const CallScope& scope,
                                                const v1::RollbackRequest& r);
  absl::StatusOr<v1::RunChecksResponse> RunChecks(const CallScope& scope,
                                                  const v1::RunChecksRequest& r);

  // Cancels every call in flight and makes later calls fail at once, all with
  // CANCELLED, so a stopping Supervisor does not wait up to a model call's
  // deadline for its drivers (which treat CANCELLED as "resume later": a
  // call's reservation stays, and the call is made again with its key).
  void CancelAll();

 private:
  // Makes the call, retrying UNAVAILABLE; the message of a final error names
  // the service and method.
  template <typename Response>
  absl::StatusOr<Response> Call(
      const CallScope& scope, absl::string_view method, absl::Duration deadline,
      const std::function<grpc::Status(grpc::ClientContext*, Response*)>& invoke);

  std::shared_ptr<v1::BuilderService::StubInterface> builder_;
  std::shared_ptr<v1::AuditorService::StubInterface> auditor_;
  std::shared_ptr<v1::GitAdapterService::StubInterface> git_;
  PeerOptions options_;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_PEERS_H_
