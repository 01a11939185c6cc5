// Validation of a RunSpec as CreateRun and PreviewRun receive it. Every
// problem is reported with its field path (e.g. "tiers[1].phases[0].complexity")
// so a caller can fix the spec without guessing.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_RUN_SPEC_H_
#define AUTOPACK_SERVICES_SUPERVISOR_RUN_SPEC_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "autopack/v1/supervisor.pb.h"

namespace autopack::supervisor {

// OK, or INVALID_ARGUMENT listing every problem ("path: what; path: what").
absl::Status ValidateRunSpec(const v1::RunSpec& spec);

// True for ids safe in branch names, commit messages and idempotency keys:
// 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'.
bool IsValidId(absl::string_view id);

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_RUN_SPEC_H_
