// gRPC adapter of the Auditor core.
#ifndef AUTOPACK_SERVICES_AUDITOR_AUDITOR_SERVICE_H_
#define AUTOPACK_SERVICES_AUDITOR_AUDITOR_SERVICE_H_

#include "autopack/v1/auditor.grpc.pb.h"
#include "services/auditor/auditor.h"

namespace autopack::auditor {

class AuditorServiceImpl final : public v1::AuditorService::Service {
 public:
  explicit AuditorServiceImpl(Auditor* core) : core_(core) {}

  grpc::Status ReviewPatch(grpc::ServerContext* context, const v1::ReviewPatchRequest* request,
                          v1::ReviewPatchResponse* response) override;

 private:
  Auditor* core_;  // not owned
};

}  // namespace autopack::auditor

#endif  // AUTOPACK_SERVICES_AUDITOR_AUDITOR_SERVICE_H_
