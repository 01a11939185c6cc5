#include "services/auditor/auditor.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace autopack::auditor {
namespace {

absl::Status NotBuiltYet(absl::string_view rpc) {
  return absl::UnimplementedError(absl::StrCat(rpc, " is not built yet: it needs the LLM provider layer (issue 3)"));
}

}  // namespace

absl::StatusOr<v1::ReviewPatchResponse> Auditor::ReviewPatch(const v1::ReviewPatchRequest&) {
  return NotBuiltYet("ReviewPatch");
}

}  // namespace autopack::auditor
