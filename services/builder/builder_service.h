// gRPC adapter of the Builder core.
#ifndef AUTOPACK_SERVICES_BUILDER_BUILDER_SERVICE_H_
#define AUTOPACK_SERVICES_BUILDER_BUILDER_SERVICE_H_

#include "autopack/v1/builder.grpc.pb.h"
#include "services/builder/builder.h"

namespace autopack::builder {

class BuilderServiceImpl final : public v1::BuilderService::Service {
 public:
  explicit BuilderServiceImpl(Builder* core) : core_(core) {}

  grpc::Status GeneratePatch(grpc::ServerContext* context,
                             const v1::GeneratePatchRequest* request,
                             v1::GeneratePatchResponse* response) override;

 private:
  Builder* core_;  // not owned
};

}  // namespace autopack::builder

#endif  // AUTOPACK_SERVICES_BUILDER_BUILDER_SERVICE_H_
