#include "services/auditor/auditor_service.h"

#include "services/common/grpc_status.h"

namespace autopack::auditor {

grpc::Status AuditorServiceImpl::ReviewPatch(grpc::ServerContext*, const v1::ReviewPatchRequest* request,
                                            v1::ReviewPatchResponse* response) {
  return ToGrpcResponse(core_->ReviewPatch(*request), response);
}

}  // namespace autopack::auditor
