// The one definition of an issue's identity (DESIGN.md §3): the Auditor stamps
// it on every issue it raises and the Supervisor's run index and project
// backlog key on it, so both must compute it the same way.
#ifndef AUTOPACK_SERVICES_COMMON_ISSUE_FINGERPRINT_H_
#define AUTOPACK_SERVICES_COMMON_ISSUE_FINGERPRINT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace autopack {

// Lower case, every run of digits -> "#", whitespace collapsed, trailing
// punctuation dropped, so line numbers and spacing do not split an issue:
// "Line 42:  unused 'x'." and "line 7: unused 'x'" normalise alike.
std::string NormaliseIssueMessage(absl::string_view message);

// 16 hex digits (FNV-1a 64) of the lower-cased category, the path and the
// normalised message; stable across processes and versions.
std::string IssueFingerprint(absl::string_view category, absl::string_view path,
                             absl::string_view message);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_ISSUE_FINGERPRINT_H_
