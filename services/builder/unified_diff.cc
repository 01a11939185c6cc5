#include "services/builder/unified_diff.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/status_macros.h"
#include "services/common/text.h"

namespace autopack::builder {
namespace {

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("diff line ", line, ": ", what));
}

// A header path without quotes, timestamp and a/ or b/ prefix; "" for /dev/null.
absl::StatusOr<std::string> HeaderPath(absl::string_view raw, int line) {
  absl::string_view path = raw;
  const size_t tab = path.find('\t');  // plain diffs: "name<TAB>timestamp"
  if (tab != absl::string_view::npos) path = path.substr(0, tab);
  path = absl::StripAsciiWhitespace(path);
  if (path.size() >= 2 && path.front() == '"' && path.back() == '"') {
    path = path.substr(1, path.size() - 2);
  }
  if (path == "/dev/null") return std::string();
  if (!absl::ConsumePrefix(&path, "a/")) absl::ConsumePrefix(&path, "b/");
  if (path.empty()) return LineError(line, "empty path in file header");
  if (path.front() == '/') return LineError(line, absl::StrCat("absolute path \"", path, "\""));
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "..") return LineError(line, absl::StrCat("path \"", path, "\" contains .."));
  }
  return std::string(path);
}

// "@@ -a[,b] +c[,d] @@ ..." into the hunk's numbers.
bool ParseHunkHeader(absl::string_view text, DiffHunk* hunk) {
  if (!absl::ConsumePrefix(&text, "@@ -")) return false;
  const size_t end = text.find(" @@");
  if (end == absl::string_view::npos) return false;
  std::vector<absl::string_view> sides = absl::StrSplit(text.substr(0, end), " +");
  if (sides.size() != 2) return false;
  const auto range = [](absl::string_view side, int* start, int* count) {
    std::vector<absl::string_view> parts = absl::StrSplit(side, ',');
    *count = 1;
    if (parts.size() > 2 || !absl::SimpleAtoi(parts[0], start) || *start < 0) return false;
    return parts.size() == 1 || (absl::SimpleAtoi(parts[1], count) && *count >= 0);
  };
  return range(sides[0], &hunk->old_start, &hunk->old_count) &&
         range(sides[1], &hunk->new_start, &hunk->new_count);
}

std::string Describe(const FilePatch& file) {
  return absl::StrCat("file \"", file.path().empty() ? "?" : file.path(), "\"");
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : lines_(absl::StrSplit(text, '\n')) {
    // A final newline does not start another line.
    if (!lines_.empty() && lines_.back().empty()) lines_.pop_back();
    for (absl::string_view& line : lines_) absl::ConsumeSuffix(&line, "\r");
  }

  absl::StatusOr<std::vector<FilePatch>> Parse() {
    while (i_ < lines_.size()) {
      const absl::string_view line = lines_[i_];
      if (absl::StartsWith(line, "diff --git ")) {
        RETURN_IF_ERROR(StartFile());
        RETURN_IF_ERROR(GitHeader());
      } else if (absl::StartsWith(line, "--- ")) {
        RETURN_IF_ERROR(StartFile());
        RETURN_IF_ERROR(PlainHeader());
      } else if (absl::StartsWith(line, "@@")) {
        if (files_.empty() || !has_paths_) {
          return LineError(Number(), "hunk header before any ---/+++ file header");
        }
        RETURN_IF_ERROR(Hunk());
      } else if (line.empty() && files_.empty()) {
        ++i_;
      } else {
        return LineError(Number(),
                         files_.empty()
                             ? absl::StrCat("expected a file header (diff --git or ---), got \"",
                                            ClipForMessage(line), "\"")
                             : absl::StrCat("unexpected \"", ClipForMessage(line), "\" after hunk ",
                                            files_.back().hunks.size(), " of ",
                                            Describe(files_.back()),
                                            " (its line counts may be wrong)"));
      }
    }
    RETURN_IF_ERROR(FinishFile());
    if (files_.empty()) return absl::InvalidArgumentError("the diff changes no file");
    return files_;
  }

 private:
  int Number() const { return static_cast<int>(i_) + 1; }

  absl::Status StartFile() {
    RETURN_IF_ERROR(FinishFile());
    files_.emplace_back();
    files_.back().line = Number();
    has_paths_ = false;
    return absl::OkStatus();
  }

  // A section must change something: hunks, a binary entry, a mode, a
  // rename, or create/delete a file.
  absl::Status FinishFile() {
    if (files_.empty()) return absl::OkStatus();
    const FilePatch& file = files_.back();
    const bool changes = !file.hunks.empty() || file.binary || file.old_mode != file.new_mode ||
                         file.old_path != file.new_path;
    if (!changes) {
      return LineError(file.line, absl::StrCat(Describe(file), " has no hunks"));
    }
    return absl::OkStatus();
  }

  absl::Status GitHeader() {
    FilePatch& file = files_.back();
    // "diff --git a/X b/Y": the paths, used when no ---/+++ follow (renames, modes).
    absl::string_view rest = lines_[i_].substr(strlen("diff --git "));
    const size_t split = rest.find(" b/");
    if (split != absl::string_view::npos) {
      ASSIGN_OR_RETURN(file.old_path, HeaderPath(rest.substr(0, split), Number()));
      ASSIGN_OR_RETURN(file.new_path, HeaderPath(rest.substr(split + 1), Number()));
    }
    ++i_;
    while (i_ < lines_.size()) {
      absl::string_view line = lines_[i_];
      if (absl::ConsumePrefix(&line, "new file mode ")) {
        file.new_mode = std::string(line);
        file.old_path.clear();
      } else if (absl::ConsumePrefix(&line, "deleted file mode ")) {
        file.old_mode = std::string(line);
        file.new_path.clear();
      } else if (absl::ConsumePrefix(&line, "old mode ")) {
        file.old_mode = std::string(line);
      } else if (absl::ConsumePrefix(&line, "new mode ")) {
        file.new_mode = std::string(line);
      } else if (absl::StartsWith(line, "index ")) {
        // "index abc..def 100644": the mode of both sides.
        const size_t space = line.rfind(' ');
        if (space > strlen("index ")) {
          file.old_mode = file.new_mode = std::string(line.substr(space + 1));
        }
      } else if (absl::ConsumePrefix(&line, "rename from ") ||
                 absl::ConsumePrefix(&line, "copy from ")) {
        ASSIGN_OR_RETURN(file.old_path, HeaderPath(line, Number()));
      } else if (absl::ConsumePrefix(&line, "rename to ") ||
                 absl::ConsumePrefix(&line, "copy to ")) {
        ASSIGN_OR_RETURN(file.new_path, HeaderPath(line, Number()));
      } else if (absl::StartsWith(line, "similarity index ") ||
                 absl::StartsWith(line, "dissimilarity index ")) {
      } else if (absl::StartsWith(line, "Binary files ") || line == "GIT binary patch") {
        file.binary = true;
        ++i_;
        // The base85 payload of a binary patch runs to the next section.
        while (i_ < lines_.size() && !absl::StartsWith(lines_[i_], "diff --git ")) ++i_;
        has_paths_ = true;
        return absl::OkStatus();
      } else if (absl::StartsWith(line, "--- ")) {
        return PlainHeader();
      } else {
        break;
      }
      ++i_;
    }
    has_paths_ = !file.old_path.empty() || !file.new_path.empty();
    return absl::OkStatus();
  }

  absl::Status PlainHeader() {
    FilePatch& file = files_.back();
    const int header = Number();
    ASSIGN_OR_RETURN(std::string old_path, HeaderPath(lines_[i_].substr(4), header));
    ++i_;
    if (i_ >= lines_.size() || !absl::StartsWith(lines_[i_], "+++ ")) {
      return LineError(header, "\"---\" file header not followed by \"+++\"");
    }
    ASSIGN_OR_RETURN(std::string new_path, HeaderPath(lines_[i_].substr(4), Number()));
    if (old_path.empty() && new_path.empty()) {
      return LineError(header, "both sides of the file header are /dev/null");
    }
    file.old_path = std::move(old_path);
    file.new_path = std::move(new_path);
    has_paths_ = true;
    ++i_;
    return absl::OkStatus();
  }

  absl::Status Hunk() {
    FilePatch& file = files_.back();
    DiffHunk hunk;
    hunk.line = Number();
    const std::string where =
        absl::StrCat("hunk ", file.hunks.size() + 1, " of ", Describe(file));
    if (!ParseHunkHeader(lines_[i_], &hunk)) {
      return LineError(Number(), absl::StrCat(where, ": malformed header \"", ClipForMessage(lines_[i_]),
                                              "\" (expected @@ -start,count +start,count @@)"));
    }
    ++i_;
    int old_seen = 0;
    int new_seen = 0;
    while (i_ < lines_.size() && (old_seen < hunk.old_count || new_seen < hunk.new_count)) {
      absl::string_view line = lines_[i_];
      // An empty line stands for an empty context line (editors strip the space).
      const char prefix = line.empty() ? ' ' : line[0];
      if (prefix == ' ') {
        ++old_seen;
        ++new_seen;
      } else if (prefix == '-') {
        ++old_seen;
      } else if (prefix == '+') {
        ++new_seen;
      } else if (prefix != '\\') {
        break;
      }
      hunk.lines.push_back(line.empty() ? std::string(" ") : std::string(line));
      ++i_;
    }
    if (old_seen != hunk.old_count || new_seen != hunk.new_count) {
      return LineError(hunk.line,
                       absl::StrCat(where, ": header says ", hunk.old_count, " old and ",
                                    hunk.new_count, " new lines but the body has ", old_seen,
                                    " old and ", new_seen, " new lines"));
    }
    while (i_ < lines_.size() && absl::StartsWith(lines_[i_], "\\")) {
      hunk.lines.emplace_back(lines_[i_]);
      ++i_;
    }
    file.hunks.push_back(std::move(hunk));
    return absl::OkStatus();
  }

  std::vector<absl::string_view> lines_;
  size_t i_ = 0;
  std::vector<FilePatch> files_;
  bool has_paths_ = false;
};

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

}  // namespace

absl::StatusOr<std::vector<FilePatch>> ParseUnifiedDiff(absl::string_view text) {
  return Parser(text).Parse();
}

absl::Status ValidateGeneratedPatch(const std::vector<FilePatch>& files) {
  for (const FilePatch& file : files) {
    if (file.binary) {
      return LineError(file.line, absl::StrCat(Describe(file), " is a binary patch; only text "
                                               "diffs are accepted"));
    }
    for (size_t h = 0; h < file.hunks.size(); ++h) {
      const DiffHunk& hunk = file.hunks[h];
      for (size_t k = 0; k < hunk.lines.size(); ++k) {
        const std::string& line = hunk.lines[k];
        if (line[0] != '+') continue;
        const absl::string_view content = absl::string_view(line).substr(1);
        const int number = hunk.line + static_cast<int>(k) + 1;
        const std::string where = absl::StrCat("hunk ", h + 1, " of ", Describe(file));
        if (IsPlaceholder(content)) {
          return LineError(number, absl::StrCat(where, ": \"", content.substr(0, 80),
                                                "\" is a placeholder for elided code; write "
                                                "the complete lines"));
        }
        if (IsConflictMarker(content)) {
          return LineError(number, absl::StrCat(where, ": adds a merge-conflict marker \"",
                                                content.substr(0, 40), "\""));
        }
      }
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> FilesTouched(const std::vector<FilePatch>& files) {
  std::vector<std::string> paths;
  std::set<std::string> seen;
  for (const FilePatch& file : files) {
    for (const std::string& path : {file.old_path, file.new_path}) {
      if (!path.empty() && seen.insert(path).second) paths.push_back(path);
    }
  }
  return paths;
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
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i >= diff_start && i < diff_end) continue;
    absl::string_view line = absl::StripAsciiWhitespace(lines[i]);
    if (absl::StartsWith(absl::AsciiStrToLower(line), "summary:")) {
      result.summary = std::string(absl::StripAsciiWhitespace(line.substr(strlen("summary:"))));
      break;
    }
    if (result.summary.empty() && !line.empty() && !absl::StartsWith(line, "```") &&
        i < diff_start) {
      result.summary = std::string(line.substr(0, 500));
    }
  }
  return result;
}

}  // namespace autopack::builder
