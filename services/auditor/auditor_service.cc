#include "services/auditor/auditor_service.h"

#include "services/common/grpc_status.h"

namespace autopack::auditor {

grpc::Status AuditorServiceImpl::ReviewPatch(grpc::ServerContext* context,
                                            const v1::ReviewPatchRequest* request,
                                            v1::ReviewPatchResponse* response) {
  return ToGrpcResponse(core_->ReviewPatch(*request, ProviderDeadline(*context)), response);
}

}  // namespace autopack::auditor
