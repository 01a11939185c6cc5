// Validation of a RunSpec as CreateRun and PreviewRun receive it. Every
// problem is reported with its field path (e.g. "tiers[1].phases[0].complexity")
// so a caller can fix the spec without guessing.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_RUN_SPEC_H_
#define AUTOPACK_SERVICES_SUPERVISOR_RUN_SPEC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "autopack/v1/supervisor.pb.h"

namespace autopack::supervisor {

// Server-side ceilings on everything a caller sizes in a RunSpec. A run is
// held in memory while it is driven and each phase costs store rows, so an
// unbounded plan is a denial of service; the defaults are far above any plan
// written by a person or Planning Phase 0.
struct RunSpecLimits {
  int max_tiers = 50;
  int max_phases = 500;          // over all tiers
  int max_attempts = 10;         // per phase
  size_t max_name_bytes = 200;   // phase and tier names
  size_t max_description_bytes = 64 * 1024;
  int max_list_entries = 100;    // acceptance criteria, allowed and context paths
  size_t max_entry_bytes = 2048;
  size_t max_url_bytes = 2048;   // repo_url, base_ref, project_id
  size_t max_check_command_bytes = 4096;
  absl::Duration max_check_timeout = absl::Hours(2);
  absl::Duration max_wall_time = absl::Hours(24 * 7);
  int max_labels = 32;
  size_t max_label_bytes = 256;
};

// OK, or INVALID_ARGUMENT listing every problem ("path: what; path: what").
// Caller-sent values are quoted cut to a short length.
absl::Status ValidateRunSpec(const v1::RunSpec& spec, const RunSpecLimits& limits = {});

// True for ids safe in branch names, commit messages and idempotency keys:
// 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'.
bool IsValidId(absl::string_view id);

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_RUN_SPEC_H_
