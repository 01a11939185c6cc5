// auditor_server: the Auditor service (DESIGN.md §1).
#include "services/common/logging.h"
#include "services/common/server_flags.h"
#include "services/auditor/auditor.h"
#include "services/auditor/auditor_service.h"

int main(int argc, char** argv) {
  autopack::InitServerProcess(
      argc, argv, "auditor",
      "reviews patches with deterministic checks and an LLM.\n"
      "Usage: auditor_server [--listen=HOST:PORT] [--tls_cert=F --tls_key=F]");
  autopack::auditor::Auditor core;
  autopack::auditor::AuditorServiceImpl service(&core);
  const absl::Status status = autopack::ServeUntilSignal(
      autopack::ServerOptionsFromFlags("auditor", 50053),
      {{&service, autopack::v1::AuditorService::service_full_name()}});
  if (!status.ok()) {
    autopack::LogError(status.ToString());
    return 1;
  }
  return 0;
}
