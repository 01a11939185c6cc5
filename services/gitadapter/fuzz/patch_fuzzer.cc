// libFuzzer target: the diff parser, and for what it accepts, the path checks
// and the hunk applier on a file made of the hunks' own old lines (so that
// re-anchoring paths are reached) and on an empty file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/common/patch/patch.h"
#include "services/gitadapter/hunk_applier.h"
#include "services/gitadapter/path_safety.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace ga = autopack::gitadapter;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<autopack::patch::Patch> patch = autopack::patch::ParsePatch(text);
  if (!patch.ok()) return 0;
  for (const autopack::patch::FilePatch& file : patch->files) {
    ga::CheckRepoPath(file.old_path).IgnoreError();
    ga::CheckRepoPath(file.new_path).IgnoreError();
    ga::LooksLikeSecret(file.display_path());
    std::string old_content;
    for (const autopack::patch::Hunk& hunk : file.hunks) {
      for (const autopack::patch::DiffLine& line : hunk.lines) {
        if (line.kind != '+') old_content += line.text;
      }
      old_content += "filler\n";
    }
    ga::ApplyHunks(old_content, file.hunks);
    ga::ApplyHunks("", file.hunks);
  }
  return 0;
}
