#include "services/common/patch/patch.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/status_macros.h"
#include "services/common/text.h"

namespace autopack::patch {
namespace {

constexpr int kMaxLineNumber = 100000000;

absl::Status LineError(size_t index, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("patch line ", index + 1, ": ", what));
}

// Undoes git's C-style quoting of a path ("a/tab\there", octal escapes).
// Returns false if `quoted` is not a well-formed quoted string; `*rest` gets
// what follows the closing quote.
bool Unquote(absl::string_view quoted, std::string* out, absl::string_view* rest) {
  if (quoted.empty() || quoted[0] != '"') return false;
  out->clear();
  for (size_t i = 1; i < quoted.size(); ++i) {
    const char c = quoted[i];
    if (c == '"') {
      *rest = quoted.substr(i + 1);
      return true;
    }
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i >= quoted.size()) return false;
    const char e = quoted[i];
    switch (e) {
      case 'a': out->push_back('\a'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'v': out->push_back('\v'); break;
      case '"': case '\\': out->push_back(e); break;
      default: {
        if (e < '0' || e > '3' || i + 2 >= quoted.size()) return false;
        int value = 0;
        for (int k = 0; k < 3; ++k) {
          const char d = quoted[i + k];
          if (d < '0' || d > '7') return false;
          value = value * 8 + (d - '0');
        }
        out->push_back(static_cast<char>(value));
        i += 2;
      }
    }
  }
  return false;
}

// The path of a `---`/`+++`/`rename from` line: unquoted, without a trailing
// timestamp (GNU diff) or whitespace. "/dev/null" becomes "".
std::string HeaderPath(absl::string_view raw) {
  raw = absl::StripSuffix(raw, "\r");
  std::string path;
  absl::string_view rest;
  if (!Unquote(raw, &path, &rest)) {
    const size_t tab = raw.find('\t');
    if (tab != absl::string_view::npos) raw = raw.substr(0, tab);
    path = std::string(absl::StripTrailingAsciiWhitespace(raw));
  }
  if (path == "/dev/null") return "";
  return path;
}

// Drops git's "a/" / "b/" prefix.
std::string StripSide(const std::string& path, char side) {
  if (path.size() > 2 && path[0] == side && path[1] == '/') return path.substr(2);
  return path;
}

// "diff --git a/x b/y": both paths, prefixes dropped. Unquoted names may contain
// " b/", so the split where both names agree wins.
bool ParseGitHeader(absl::string_view rest, std::string* a, std::string* b) {
  rest = absl::StripSuffix(rest, "\r");
  std::string first;
  absl::string_view after;
  if (Unquote(rest, &first, &after)) {
    after = absl::StripLeadingAsciiWhitespace(after);
    *a = StripSide(first, 'a');
    *b = StripSide(HeaderPath(after), 'b');
    return !a->empty() && !b->empty();
  }
  std::vector<size_t> splits;
  for (size_t at = rest.find(' '); at != absl::string_view::npos; at = rest.find(' ', at + 1)) {
    splits.push_back(at);
  }
  bool found = false;
  for (size_t at : splits) {
    const std::string left = StripSide(std::string(rest.substr(0, at)), 'a');
    const std::string right = StripSide(HeaderPath(rest.substr(at + 1)), 'b');
    if (left.empty() || right.empty()) continue;
    if (!found || left == right) {
      *a = left;
      *b = right;
      found = true;
      if (left == right) break;
    }
  }
  return found;
}

bool ParseMode(absl::string_view text, uint32_t* mode) {
  text = absl::StripTrailingAsciiWhitespace(text);
  if (text.empty() || text.size() > 7) return false;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return false;
    value = value * 8 + static_cast<uint32_t>(c - '0');
  }
  *mode = value;
  return true;
}

bool ParseNumber(absl::string_view text, int* value) {
  if (text.empty() || text.size() > 9) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(text, value) && *value <= kMaxLineNumber;
}

// "-12,3" or "-12" (count 1).
bool ParseRange(absl::string_view text, char sign, int* start, int* count) {
  if (text.empty() || text[0] != sign) return false;
  text.remove_prefix(1);
  const size_t comma = text.find(',');
  if (comma == absl::string_view::npos) {
    *count = 1;
    return ParseNumber(text, start);
  }
  return ParseNumber(text.substr(0, comma), start) && ParseNumber(text.substr(comma + 1), count);
}

bool ParseHunkHeader(absl::string_view line, Hunk* hunk) {
  line = absl::StripSuffix(line, "\r");
  if (!absl::ConsumePrefix(&line, "@@ ")) return false;
  const size_t end = line.find(" @@");
  if (end == absl::string_view::npos) return false;
  const std::vector<absl::string_view> ranges =
      absl::StrSplit(line.substr(0, end), ' ', absl::SkipEmpty());
  return ranges.size() == 2 && ParseRange(ranges[0], '-', &hunk->old_start, &hunk->old_count) &&
         ParseRange(ranges[1], '+', &hunk->new_start, &hunk->new_count);
}

bool IsBodyLine(absl::string_view line) {
  return !line.empty() && (line[0] == ' ' || line[0] == '-' || line[0] == '+');
}

class Parser {
 public:
  explicit Parser(absl::string_view text) {
    lines_ = absl::StrSplit(text, '\n');
    // A final "\n" leaves an empty last element that is not a line.
    if (!lines_.empty() && lines_.back().empty()) lines_.pop_back();
  }

  absl::StatusOr<Patch> Parse() {
    for (size_t i = 0; i < lines_.size();) {
      const absl::string_view line = lines_[i];
      if (absl::StartsWith(line, "***************")) {
        return LineError(i, "context diffs are not supported; send a unified diff (---/+++ and @@ hunks)");
      }
      if (absl::StartsWith(line, "diff --git ")) {
        RETURN_IF_ERROR(FinishFile());
        StartFile(i);
        if (!ParseGitHeader(line.substr(11), &file_.git_a, &file_.git_b)) {
          return LineError(i, "cannot read the two paths of the `diff --git` line");
        }
        ++i;
        continue;
      }
      if (absl::StartsWith(line, "--- ") && i + 1 < lines_.size() &&
          absl::StartsWith(lines_[i + 1], "+++ ")) {
        const std::string minus = HeaderPath(line.substr(4));
        const std::string plus = HeaderPath(lines_[i + 1].substr(4));
        if (!open_ || file_.has_paths || !file_.patch.hunks.empty() || !PairFitsOpenFile(minus, plus)) {
          RETURN_IF_ERROR(FinishFile());
          StartFile(i);
        }
        file_.minus = minus;
        file_.plus = plus;
        file_.has_paths = true;
        i += 2;
        continue;
      }
      if (absl::StartsWith(line, "@@ ")) {
        if (!open_ || (!file_.has_paths && file_.git_a.empty())) {
          return LineError(i, "hunk header outside a file: missing the ---/+++ lines before it");
        }
        RETURN_IF_ERROR(ReadHunk(&i));
        continue;
      }
      if (absl::StartsWith(line, "Binary files ") || absl::StartsWith(line, "GIT binary patch")) {
        if (absl::StartsWith(line, "Binary files ")) RETURN_IF_ERROR(ReadBinaryFilesLine(i));
        if (!open_) StartFile(i);
        file_.patch.binary = true;
        ++i;
        continue;
      }
      RETURN_IF_ERROR(ReadExtendedHeader(i));
      ++i;
    }
    RETURN_IF_ERROR(FinishFile());
    if (patch_.files.empty()) {
      return absl::InvalidArgumentError(
          "patch holds no unified diff: expected `---`/`+++` file headers followed by `@@` hunks");
    }
    return std::move(patch_);
  }

 private:
  struct OpenFile {
    FilePatch patch;
    std::string git_a, git_b;  // from `diff --git`
    std::string minus, plus;   // from ---/+++
    bool has_paths = false;    // ---/+++ seen
    std::string rename_from, rename_to, copy_from, copy_to;
    std::optional<uint32_t> new_file_mode, deleted_file_mode, index_mode;
    std::set<std::string> headers;
  };

  void StartFile(size_t i) {
    file_ = OpenFile();
    file_.patch.patch_line = static_cast<int>(i + 1);
    open_ = true;
  }

  // "old mode", "rename from", ... Starts a new file when the current one is
  // past its headers: git diffs with the `diff --git` line dropped.
  absl::Status ReadExtendedHeader(size_t i) {
    static constexpr absl::string_view kHeaders[] = {
        "old mode ",  "new mode ",  "deleted file mode ", "new file mode ", "similarity index ",
        "dissimilarity index ", "rename from ", "rename to ", "rename old ", "rename new ",
        "copy from ", "copy to ", "index "};
    absl::string_view line = absl::StripSuffix(lines_[i], "\r");
    for (absl::string_view header : kHeaders) {
      if (!absl::StartsWith(line, header)) continue;
      const absl::string_view value = line.substr(header.size());
      uint32_t mode = 0;
      const bool is_mode = absl::EndsWith(header, "mode ");
      if (is_mode && !ParseMode(value, &mode)) return absl::OkStatus();  // prose
      if (header == "index ") {
        const std::vector<absl::string_view> parts = absl::StrSplit(value, ' ', absl::SkipEmpty());
        if (parts.empty() || !absl::StrContains(parts[0], "..")) return absl::OkStatus();
        if (parts.size() > 1 && ParseMode(parts[1], &mode)) {
          if (!open_) StartFile(i);
          file_.index_mode = mode;
        }
        return absl::OkStatus();
      }
      if (header == "similarity index " || header == "dissimilarity index ") {
        if (!absl::EndsWith(value, "%")) return absl::OkStatus();
      }
      const std::string key(header);
      if (!open_ || file_.has_paths || !file_.patch.hunks.empty() || file_.headers.count(key) > 0) {
        RETURN_IF_ERROR(FinishFile());
        StartFile(i);
      }
      file_.headers.insert(key);
      if (header == "old mode ") file_.patch.old_mode = mode;
      if (header == "new mode ") file_.patch.new_mode = mode;
      if (header == "deleted file mode ") file_.deleted_file_mode = mode;
      if (header == "new file mode ") file_.new_file_mode = mode;
      if (header == "rename from " || header == "rename old ") file_.rename_from = HeaderPath(value);
      if (header == "rename to " || header == "rename new ") file_.rename_to = HeaderPath(value);
      if (header == "copy from ") file_.copy_from = HeaderPath(value);
      if (header == "copy to ") file_.copy_to = HeaderPath(value);
      return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  absl::Status ReadBinaryFilesLine(size_t i) {
    absl::string_view rest = absl::StripSuffix(lines_[i], "\r");
    rest.remove_prefix(sizeof("Binary files ") - 1);
    if (!absl::ConsumeSuffix(&rest, " differ")) return absl::OkStatus();
    const size_t and_at = rest.find(" and ");
    if (and_at == absl::string_view::npos) return absl::OkStatus();
    if (!open_ || file_.has_paths || !file_.patch.hunks.empty()) {
      RETURN_IF_ERROR(FinishFile());
      StartFile(i);
    }
    file_.minus = HeaderPath(rest.substr(0, and_at));
    file_.plus = HeaderPath(rest.substr(and_at + 5));
    file_.has_paths = true;
    return absl::OkStatus();
  }

  absl::Status ReadHunk(size_t* index) {
    const size_t header_at = *index;
    Hunk hunk;
    if (!ParseHunkHeader(lines_[header_at], &hunk)) {
      return LineError(header_at, absl::StrCat("malformed hunk header `", ClipForMessage(lines_[header_at]),
                                               "`; expected `@@ -OLD,COUNT +NEW,COUNT @@`"));
    }
    hunk.number = static_cast<int>(file_.patch.hunks.size()) + 1;
    hunk.patch_line = static_cast<int>(header_at) + 1;
    int old_left = hunk.old_count;
    int new_left = hunk.new_count;
    size_t j = header_at + 1;
    // First the reading by the counts, then (extra) body lines past them.
    bool extra = false;
    for (; j < lines_.size(); ++j) {
      const absl::string_view line = lines_[j];
      if (!extra && old_left <= 0 && new_left <= 0) {
        hunk.counted = hunk.lines.size();
        extra = true;
      }
      if (!line.empty() && line[0] == '\\') {
        if (!hunk.lines.empty() && absl::EndsWith(hunk.lines.back().text, "\n")) {
          hunk.lines.back().text.pop_back();
        }
        continue;
      }
      if (IsNextFileHeader(j, !extra) || IsMailSignature(j)) break;
      char kind = 0;
      if (IsBodyLine(line)) {
        kind = line[0];
      } else if (line.empty()) {
        // An empty line is an empty context line whose leading space was
        // trimmed, while the header still expects lines or more body follows.
        const bool inside = !extra ? (old_left > 0 && new_left > 0)
                                   : (j + 1 < lines_.size() && IsBodyLine(lines_[j + 1]) &&
                                      !IsNextFileHeader(j + 1, false) && !IsMailSignature(j + 1));
        if (!inside) break;
        kind = ' ';
      } else {
        break;
      }
      hunk.lines.push_back({kind, absl::StrCat(line.empty() ? "" : line.substr(1), "\n")});
      if (kind != '+') --old_left;
      if (kind != '-') --new_left;
    }
    if (!extra) hunk.counted = hunk.lines.size();
    if (hunk.lines.empty()) {
      return LineError(header_at, absl::StrCat("hunk ", hunk.number, " of ", CurrentPathForMessage(),
                                               " has no lines"));
    }
    file_.patch.hunks.push_back(std::move(hunk));
    *index = j;
    return absl::OkStatus();
  }

  // The signature `git format-patch` ends a mail with: "-- ", a version line
  // ("2.39.2"), then nothing but blank lines. Read as a hunk line it would be
  // a removed "- " line.
  bool IsMailSignature(size_t j) const {
    if (absl::StripSuffix(lines_[j], "\r") != "-- " || j + 1 >= lines_.size()) return false;
    const absl::string_view version = absl::StripSuffix(lines_[j + 1], "\r");
    if (version.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(version[0]))) return false;
    for (char c : version) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        return false;
      }
    }
    for (size_t k = j + 2; k < lines_.size(); ++k) {
      if (!absl::StripAsciiWhitespace(lines_[k]).empty()) return false;
    }
    return true;
  }

  // Whether a `---`/`+++` pair belongs to the open file's rename or copy
  // headers; with `diff --git` lines dropped, a pure rename may be followed
  // directly by the next file's pair.
  bool PairFitsOpenFile(const std::string& minus, const std::string& plus) const {
    const std::string& from = !file_.rename_from.empty() ? file_.rename_from : file_.copy_from;
    const std::string& to = !file_.rename_to.empty() ? file_.rename_to : file_.copy_to;
    if (from.empty() && to.empty()) return true;
    return (minus == from || StripSide(minus, 'a') == from) && (plus == to || StripSide(plus, 'b') == to);
  }

  // A `---`/`+++` pair that starts the next file rather than continuing a hunk.
  // While the header still expects lines, only a pair followed by `@@` counts.
  bool IsNextFileHeader(size_t j, bool counted) const {
    if (j + 1 >= lines_.size() || !absl::StartsWith(lines_[j], "--- ") ||
        !absl::StartsWith(lines_[j + 1], "+++ ")) {
      return false;
    }
    return !counted || (j + 2 < lines_.size() && absl::StartsWith(lines_[j + 2], "@@ "));
  }

  std::string CurrentPathForMessage() const {
    for (const std::string* p : {&file_.plus, &file_.minus, &file_.git_b, &file_.rename_to}) {
      if (!p->empty()) return StripSide(*p, 'b');
    }
    return "the file";
  }

  absl::Status FinishFile() {
    if (!open_) return absl::OkStatus();
    open_ = false;
    OpenFile& f = file_;
    FilePatch& p = f.patch;
    const size_t at = static_cast<size_t>(p.patch_line - 1);
    std::string old_path = f.git_a;
    std::string new_path = f.git_b;
    if (f.has_paths) {
      // Prefixes are dropped only when both sides use git's a/ b/ convention
      // (or the other side is /dev/null), so plain `--- src/x` keeps its path.
      const bool git_style = f.minus.empty() || f.plus.empty()
                                 ? (absl::StartsWith(f.minus, "a/") || absl::StartsWith(f.plus, "b/"))
                                 : (absl::StartsWith(f.minus, "a/") && absl::StartsWith(f.plus, "b/"));
      old_path = git_style ? StripSide(f.minus, 'a') : f.minus;
      new_path = git_style ? StripSide(f.plus, 'b') : f.plus;
      // `diff -ru pkg.orig pkg` names the same file under two top directories
      // ("bc.orig/dc/stack.c", "bc/dc/stack.c"); a plain diff cannot rename,
      // so the one reading is the path below them (git apply's -p1).
      if (!git_style && !old_path.empty() && !new_path.empty()) {
        const size_t old_slash = old_path.find('/');
        const size_t new_slash = new_path.find('/');
        if (old_slash != std::string::npos && new_slash != std::string::npos &&
            old_path.substr(0, old_slash) != new_path.substr(0, new_slash) &&
            old_path.substr(old_slash + 1) == new_path.substr(new_slash + 1)) {
          old_path = new_path = old_path.substr(old_slash + 1);
        }
      }
      if (old_path.empty() && !f.git_a.empty() && !f.new_file_mode) old_path = f.git_a;
      if (new_path.empty() && !f.git_b.empty() && !f.deleted_file_mode) new_path = f.git_b;
    }
    if (!f.rename_from.empty()) old_path = f.rename_from;
    if (!f.rename_to.empty()) new_path = f.rename_to;
    if (!f.copy_from.empty()) old_path = f.copy_from;
    if (!f.copy_to.empty()) new_path = f.copy_to;
    p.copied = !f.copy_from.empty() || !f.copy_to.empty();
    p.added = f.new_file_mode.has_value() || (f.has_paths && f.minus.empty() && !p.copied);
    p.deleted = f.deleted_file_mode.has_value() || (f.has_paths && f.plus.empty());
    if (p.added && p.deleted) return LineError(at, "a file cannot be both added and deleted");
    if (p.added) {
      old_path.clear();
      p.new_mode = f.new_file_mode ? f.new_file_mode : f.index_mode;
    }
    if (p.deleted) {
      new_path.clear();
      p.old_mode = f.deleted_file_mode ? f.deleted_file_mode : f.index_mode;
    }
    if (!p.added && !p.deleted && f.index_mode) {
      if (!p.old_mode) p.old_mode = f.index_mode;
      if (!p.new_mode) p.new_mode = f.index_mode;
    }
    p.old_path = old_path;
    p.new_path = new_path;
    if (p.old_path.empty() && p.new_path.empty()) {
      return LineError(at, "file change without a path (a mode-only change needs its `diff --git` line)");
    }
    if (!p.added && !p.deleted && (p.old_path.empty() || p.new_path.empty())) {
      return LineError(at, absl::StrCat("file ", p.display_path(), " lacks its other path"));
    }
    const bool mode_change = p.old_mode && p.new_mode && *p.old_mode != *p.new_mode;
    if (p.hunks.empty() && !p.binary && !p.added && !p.deleted && !mode_change && !p.renamed() &&
        !p.copied) {
      return LineError(at, absl::StrCat("file ", p.display_path(), " has no hunks"));
    }
    patch_.files.push_back(std::move(p));
    return absl::OkStatus();
  }

  std::vector<absl::string_view> lines_;
  Patch patch_;
  OpenFile file_;
  bool open_ = false;
};

}  // namespace

absl::StatusOr<Patch> ParsePatch(absl::string_view text) { return Parser(text).Parse(); }

std::vector<absl::string_view> SplitLines(absl::string_view content) {
  std::vector<absl::string_view> lines;
  size_t start = 0;
  while (start < content.size()) {
    const size_t end = content.find('\n', start);
    const size_t stop = end == absl::string_view::npos ? content.size() : end + 1;
    lines.push_back(content.substr(start, stop - start));
    start = stop;
  }
  return lines;
}

std::vector<std::string> FilesTouched(const Patch& patch) {
  std::vector<std::string> paths;
  std::set<std::string> seen;
  for (const FilePatch& file : patch.files) {
    for (const std::string& path : {file.old_path, file.new_path}) {
      if (!path.empty() && seen.insert(path).second) paths.push_back(path);
    }
  }
  return paths;
}

}  // namespace autopack::patch
