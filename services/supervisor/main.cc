// supervisor_server: the Supervisor service (DESIGN.md §1-§3).
#include "services/common/logging.h"
#include "services/common/server_flags.h"
#include "services/supervisor/supervisor.h"
#include "services/supervisor/supervisor_service.h"

int main(int argc, char** argv) {
  autopack::InitServerProcess(
      argc, argv, "supervisor",
      "drives autonomous builds (runs, policy, budgets).\n"
      "Usage: supervisor_server [--listen=HOST:PORT] [--tls_cert=F --tls_key=F]");
  autopack::supervisor::Supervisor core;
  autopack::supervisor::SupervisorServiceImpl service(&core);
  const absl::Status status = autopack::ServeUntilSignal(
      autopack::ServerOptionsFromFlags("supervisor", 50051),
      {{&service, autopack::v1::SupervisorService::service_full_name()}});
  if (!status.ok()) {
    autopack::LogError(status.ToString());
    return 1;
  }
  return 0;
}
