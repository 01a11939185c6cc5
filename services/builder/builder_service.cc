#include "services/builder/builder_service.h"

#include "services/common/grpc_status.h"

namespace autopack::builder {

grpc::Status BuilderServiceImpl::GeneratePatch(grpc::ServerContext*,
                                               const v1::GeneratePatchRequest* request,
                                               v1::GeneratePatchResponse* response) {
  return ToGrpcResponse(core_->GeneratePatch(*request), response);
}

}  // namespace autopack::builder
