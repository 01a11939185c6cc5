// Applies the hunks of one file to its content. A hunk goes where its context
// and removed lines match the file exactly: at the line its header states if
// they match there, else at the nearest line where they do (LLM diffs drift).
// A hunk is read by its header's counts first; its lines past the counts
// (patch::Hunk::counted) are tried only when that reading matches nowhere.
// A hunk whose lines match nowhere is rejected, never applied approximately.
#ifndef AUTOPACK_SERVICES_GITADAPTER_HUNK_APPLIER_H_
#define AUTOPACK_SERVICES_GITADAPTER_HUNK_APPLIER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/common/patch/patch.h"

namespace autopack::gitadapter {

struct HunkOffset {
  int hunk = 0;    // 1-based hunk number
  int offset = 0;  // actual line minus the line the header stated
};

struct HunkRejection {
  int hunk = 0;
  std::string reason;
};

struct HunkApplyResult {
  std::string content;                    // valid only when rejections is empty
  std::vector<HunkOffset> relocated;      // hunks applied away from their stated line
  std::vector<HunkRejection> rejections;  // every hunk that did not fit
};

// Hunks apply in order and may not overlap: each is searched for after the end
// of the previous one, starting from its stated line shifted by the previous
// hunk's offset.
HunkApplyResult ApplyHunks(absl::string_view content, const std::vector<patch::Hunk>& hunks);

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_HUNK_APPLIER_H_
