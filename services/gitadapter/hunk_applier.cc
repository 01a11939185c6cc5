#include "services/gitadapter/hunk_applier.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace autopack::gitadapter {
namespace {

bool MatchesAt(const std::vector<absl::string_view>& file, const std::vector<absl::string_view>& old,
               size_t at) {
  if (at + old.size() > file.size()) return false;
  for (size_t k = 0; k < old.size(); ++k) {
    if (file[at + k] != old[k]) return false;
  }
  return true;
}

std::string Quote(absl::string_view line) {
  std::string shown(line);
  const bool newline = !shown.empty() && shown.back() == '\n';
  if (newline) shown.pop_back();
  if (shown.size() > 80) shown = absl::StrCat(shown.substr(0, 77), "...");
  return absl::StrCat("\"", shown, "\"", newline ? "" : " (no newline at end of file)");
}

// Why the lines do not match at the stated position, for the Builder's retry.
std::string Mismatch(const std::vector<absl::string_view>& file, const std::vector<absl::string_view>& old,
                     size_t at) {
  if (at >= file.size()) {
    return absl::StrCat("the header states line ", at + 1, " but the file has only ", file.size(),
                        " lines");
  }
  for (size_t k = 0; k < old.size(); ++k) {
    if (at + k >= file.size()) {
      return absl::StrCat("at the stated line ", at + 1, " the hunk runs past the end of the file (",
                          file.size(), " lines)");
    }
    if (file[at + k] != old[k]) {
      return absl::StrCat("at the stated position, line ", at + k + 1, " of the file is ",
                          Quote(file[at + k]), " but the hunk expects ", Quote(old[k]));
    }
  }
  return "";
}

// Where `old_lines` match, searching outwards from `stated` within
// [lowest, file.size()); -1 when nowhere.
long Locate(const std::vector<absl::string_view>& file, const std::vector<absl::string_view>& old_lines,
            long stated, long lowest) {
  const long highest = static_cast<long>(file.size()) - static_cast<long>(old_lines.size());
  if (old_lines.empty()) {
    return stated >= lowest && stated <= static_cast<long>(file.size()) ? stated : -1;
  }
  const long expected = std::clamp(stated, lowest, std::max(lowest, highest));
  for (long distance = 0; expected - distance >= lowest || expected + distance <= highest; ++distance) {
    if (expected - distance >= lowest && MatchesAt(file, old_lines, expected - distance)) {
      return expected - distance;
    }
    if (distance > 0 && expected + distance <= highest && MatchesAt(file, old_lines, expected + distance)) {
      return expected + distance;
    }
  }
  return -1;
}

}  // namespace

HunkApplyResult ApplyHunks(absl::string_view content, const std::vector<patch::Hunk>& hunks) {
  HunkApplyResult result;
  const std::vector<absl::string_view> file = patch::SplitLines(content);
  std::vector<absl::string_view> out;
  size_t copied = 0;  // file lines before this index are already in `out`
  long drift = 0;     // offset of the previous hunk, carried to the next one
  for (const patch::Hunk& hunk : hunks) {
    std::vector<absl::string_view> old_lines;
    std::vector<absl::string_view> new_lines;
    const long lowest = static_cast<long>(copied);
    long found = -1;
    long stated = 0;
    // The counted reading, then (only if it fits nowhere) the longer one.
    for (const size_t size : {hunk.counted, hunk.lines.size()}) {
      old_lines.clear();
      new_lines.clear();
      for (size_t k = 0; k < size; ++k) {
        const patch::DiffLine& line = hunk.lines[k];
        if (line.kind != '+') old_lines.push_back(line.text);
        if (line.kind != '-') new_lines.push_back(line.text);
      }
      // A hunk without old lines inserts after line old_start; others start at it.
      stated = old_lines.empty() ? hunk.old_start : std::max(0, hunk.old_start - 1);
      found = Locate(file, old_lines, stated + drift, lowest);
      if (found >= 0) break;
    }
    if (found < 0) {
      std::string reason;
      if (old_lines.empty()) {
        reason = absl::StrCat("the hunk only adds lines and states line ", hunk.old_start,
                              ", which is outside the file (", file.size(), " lines) or before the previous hunk");
      } else {
        bool earlier = false;
        for (long at = 0; at < lowest && !earlier; ++at) earlier = MatchesAt(file, old_lines, at);
        reason = earlier ? "its context matches only before the previous hunk; hunks must be in file order"
                         : absl::StrCat("its context and removed lines match nowhere in the file; ",
                                        Mismatch(file, old_lines, static_cast<size_t>(std::max(0L, stated))));
      }
      result.rejections.push_back({hunk.number, std::move(reason)});
      continue;
    }
    const long offset = found - stated;
    if (offset != 0) result.relocated.push_back({hunk.number, static_cast<int>(offset)});
    drift = offset;
    out.insert(out.end(), file.begin() + copied, file.begin() + found);
    out.insert(out.end(), new_lines.begin(), new_lines.end());
    copied = static_cast<size_t>(found) + old_lines.size();
  }
  if (!result.rejections.empty()) return result;
  out.insert(out.end(), file.begin() + copied, file.end());
  for (size_t k = 0; k < out.size(); ++k) {
    // A line that lost its "\n" (patch said "No newline") can only be last.
    if (k + 1 < out.size() && (out[k].empty() || out[k].back() != '\n')) {
      result.rejections.push_back(
          {0, absl::StrCat("line ", k + 1, " of the result would lack its newline but is not the last line")});
      return result;
    }
    result.content.append(out[k].data(), out[k].size());
  }
  return result;
}

}  // namespace autopack::gitadapter
