#include "services/builder/model_answer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/text.h"

namespace autopack::builder {
namespace {

// An added line that stands for code the model left out.
bool IsPlaceholder(absl::string_view content) {
  absl::string_view text = absl::StripAsciiWhitespace(content);
  for (absl::string_view leader : {"//", "#", "/*", "<!--", "--", ";", "*"}) {
    if (absl::ConsumePrefix(&text, leader)) break;
  }
  for (absl::string_view trailer : {"*/", "-->"}) absl::ConsumeSuffix(&text, trailer);
  text = absl::StripAsciiWhitespace(text);
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "..." || lower == "\u2026") return true;
  const bool ellipsis = absl::StartsWith(lower, "...") || absl::EndsWith(lower, "...") ||
                        absl::StartsWith(lower, "\u2026") || absl::EndsWith(lower, "\u2026");
  for (absl::string_view phrase : {"existing code", "rest of the", "rest of file", "unchanged",
                                   "remaining code", "same as before", "code omitted"}) {
    if (absl::StrContains(lower, phrase) && (ellipsis || absl::StartsWith(lower, phrase))) {
      return true;
    }
  }
  return ellipsis && lower.size() <= 3;
}

bool IsConflictMarker(absl::string_view content) {
  for (absl::string_view marker : {"<<<<<<<", ">>>>>>>", "|||||||"}) {
    if (absl::StartsWith(content, marker) &&
        (content.size() == marker.size() || content[marker.size()] == ' ')) {
      return true;
    }
  }
  return false;
}

// The "Summary:" line outside [edit_start, edit_end), else the first line of
// prose before the edit; cut on a character boundary.
std::string Summary(const std::vector<absl::string_view>& lines, size_t edit_start, size_t edit_end) {
  std::string summary;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i >= edit_start && i < edit_end) continue;
    absl::string_view line = absl::StripAsciiWhitespace(lines[i]);
    if (absl::StartsWith(absl::AsciiStrToLower(line), "summary:")) {
      return std::string(Utf8Prefix(absl::StripAsciiWhitespace(line.substr(strlen("summary:"))), 500));
    }
    if (summary.empty() && !line.empty() && !absl::StartsWith(line, "```") && i < edit_start) {
      summary = std::string(Utf8Prefix(line, 500));
    }
  }
  return summary;
}

}  // namespace

absl::Status ValidateAddedLines(const patch::Patch& patch) {
  for (const patch::FilePatch& file : patch.files) {
    for (const patch::Hunk& hunk : file.hunks) {
      int line = hunk.new_start;
      for (const patch::DiffLine& diff_line : hunk.lines) {
        if (diff_line.kind == '-') continue;
        if (diff_line.kind == '+') {
          const absl::string_view content = absl::StripSuffix(diff_line.text, "\n");
          const std::string where = absl::StrCat(file.display_path(), " line ", line);
          if (IsPlaceholder(content)) {
            return absl::InvalidArgumentError(
                absl::StrCat(where, ": \"", ClipForMessage(content), "\" is a placeholder for elided code; "
                             "write the complete lines"));
          }
          if (IsConflictMarker(content)) {
            return absl::InvalidArgumentError(
                absl::StrCat(where, ": adds a merge-conflict marker \"", ClipForMessage(content, 40), "\""));
          }
        }
        ++line;
      }
    }
  }
  return absl::OkStatus();
}

ModelAnswer SplitModelAnswer(absl::string_view answer) {
  ModelAnswer result;
  std::vector<absl::string_view> lines = absl::StrSplit(answer, '\n');
  const auto is_header = [](absl::string_view line) {
    return absl::StartsWith(line, "diff --git ") || absl::StartsWith(line, "--- ");
  };
  size_t diff_start = lines.size();
  size_t diff_end = lines.size();
  // A fence whose content starts with a diff header.
  for (size_t i = 0; i < lines.size() && diff_start == lines.size(); ++i) {
    const absl::string_view fence = absl::StripTrailingAsciiWhitespace(lines[i]);
    if (fence != "```" && fence != "```diff" && fence != "```patch") continue;
    size_t first = i + 1;
    while (first < lines.size() && lines[first].empty()) ++first;
    if (first >= lines.size() || !is_header(lines[first])) continue;
    size_t close = first;
    while (close < lines.size() && absl::StripTrailingAsciiWhitespace(lines[close]) != "```") {
      ++close;
    }
    diff_start = first;
    diff_end = close;
  }
  if (diff_start == lines.size()) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (is_header(lines[i])) {
        diff_start = i;
        break;
      }
    }
    // Without a fence, trailing blank lines are not part of the diff.
    while (diff_end > diff_start &&
           absl::StripAsciiWhitespace(lines[diff_end - 1]).empty()) {
      --diff_end;
    }
  }
  for (size_t i = diff_start; i < diff_end; ++i) absl::StrAppend(&result.diff, lines[i], "\n");
  result.summary = Summary(lines, diff_start, diff_end);
  return result;
}

std::string AnswerSummary(absl::string_view answer) {
  const std::vector<absl::string_view> lines = absl::StrSplit(answer, '\n');
  size_t first_fence = lines.size();
  for (size_t i = 0; i < lines.size() && first_fence == lines.size(); ++i) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(lines[i]), "```")) first_fence = i;
  }
  return Summary(lines, first_fence, lines.size());
}

}  // namespace autopack::builder
