// gitadapter_server: the GitAdapter service (DESIGN.md §1).
#include "services/common/logging.h"
#include "services/common/server_flags.h"
#include "services/gitadapter/gitadapter.h"
#include "services/gitadapter/gitadapter_service.h"

int main(int argc, char** argv) {
  autopack::InitServerProcess(
      argc, argv, "gitadapter",
      "applies patches to libgit2 workspaces, commits, rolls back and runs checks.\n"
      "Usage: gitadapter_server [--listen=HOST:PORT] [--tls_cert=F --tls_key=F]");
  autopack::gitadapter::GitAdapter core;
  autopack::gitadapter::GitAdapterServiceImpl service(&core);
  const absl::Status status = autopack::ServeUntilSignal(
      autopack::ServerOptionsFromFlags("gitadapter", 50054),
      {{&service, autopack::v1::GitAdapterService::service_full_name()}});
  if (!status.ok()) {
    autopack::LogError(status.ToString());
    return 1;
  }
  return 0;
}
