// The Auditor's deterministic checks (DESIGN.md §1), run before the model and
// never overruled by it: the patch parses; it touches no protected path; it
// adds no secret; it deletes no more than the limits; it has no binary,
// symlink or submodule entries. Every finding is a MAJOR issue, source STATIC.
#ifndef AUTOPACK_SERVICES_AUDITOR_STATIC_CHECKS_H_
#define AUTOPACK_SERVICES_AUDITOR_STATIC_CHECKS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "autopack/v1/common.pb.h"
#include "services/auditor/auditor_config.h"

namespace autopack::auditor {

struct StaticReview {
  bool parsed = false;  // false: the patch is unparseable (one issue says why)
  std::vector<v1::Issue> issues;
};

StaticReview RunStaticChecks(absl::string_view patch, const AuditorConfig& config,
                             const std::vector<std::string>& extra_protected_paths);

}  // namespace autopack::auditor

#endif  // AUTOPACK_SERVICES_AUDITOR_STATIC_CHECKS_H_
