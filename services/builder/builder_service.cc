#include "services/builder/builder_service.h"

#include "services/common/grpc_status.h"

namespace autopack::builder {

grpc::Status BuilderServiceImpl::GeneratePatch(grpc::ServerContext* context,
                                               const v1::GeneratePatchRequest* request,
                                               v1::GeneratePatchResponse* response) {
  return ToGrpcResponse(core_->GeneratePatch(*request, ProviderDeadline(*context)), response);
}

}  // namespace autopack::builder
