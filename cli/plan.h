// Run plans written in YAML (see examples/hello_autopack/plan.yaml) turned into
// the RunSpec that CreateRun and PreviewRun take. Errors name file, line and key.
#ifndef AUTOPACK_CLI_PLAN_H_
#define AUTOPACK_CLI_PLAN_H_

#include <string>

#include "absl/status/statusor.h"
#include "autopack/v1/supervisor.pb.h"
#include "services/common/config.h"

namespace autopack::cli {

absl::StatusOr<v1::RunSpec> RunSpecFromPlan(const ConfigNode& plan);
absl::StatusOr<v1::RunSpec> LoadPlanFile(const std::string& path);

}  // namespace autopack::cli

#endif  // AUTOPACK_CLI_PLAN_H_
