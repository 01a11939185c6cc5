#include "services/builder/edit_formats.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/builder/model_answer.h"
#include "services/common/patch/diff_writer.h"
#include "services/common/patch/patch.h"
#include "services/common/status_macros.h"
#include "services/common/text.h"

namespace autopack::builder {
namespace {

using patch::DiffLine;

// One contiguous change of a file: context (' '), removed ('-') and added
// ('+') lines, each with its "\n". `longer` is a second reading to try when
// this one matches nowhere (a unified-diff hunk's lines past its counts).
struct Chunk {
  std::string label;  // "hunk 2", "block 1": for messages
  std::vector<DiffLine> lines;
  std::vector<DiffLine> longer;
  int hint = 0;        // 1-based line the model stated, 0 when none
  std::string anchor;  // apply_patch "@@ anchor": the chunk follows this line
};

struct FileEdit {
  std::string path;
  std::string new_path;  // differs from path for a rename
  bool create = false;
  bool remove = false;
  std::optional<std::string> whole;  // the new content, replacing the file
  std::vector<Chunk> chunks;
};

absl::Status Error(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// Comparison levels, strictest first: exact bytes (a missing final newline
// aside), then whitespace-insensitive. A file's non-UTF-8 bytes reach the
// model as U+FFFD, so the loose level compares the file as the model saw it.
std::string Exact(absl::string_view line) { return std::string(absl::StripSuffix(line, "\n")); }

std::string Loose(absl::string_view line) {
  std::string seen = SanitizeUtf8(line);
  absl::StrReplaceAll({{"\xef\xbf\xbd", "?"}}, &seen);
  std::string out;
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(seen)) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

bool Blank(const DiffLine& line) {
  return line.kind == ' ' && absl::StripAsciiWhitespace(line.text).empty();
}

struct Placement {
  size_t at = 0;
  std::vector<DiffLine> lines;  // the reading that matched
};

class FileResolver {
 public:
  FileResolver(std::string path, const std::string& content)
      : path_(std::move(path)) {
    for (absl::string_view line : patch::SplitLines(content)) file_.emplace_back(line);
  }

  // Applies one chunk to the current content; `delta` is how far earlier
  // chunks moved the lines below them (so hints stay meaningful).
  absl::Status Apply(const Chunk& chunk) {
    ASSIGN_OR_RETURN(const Placement placement, Place(chunk));
    std::vector<std::string> replacement;
    size_t cursor = placement.at;
    const bool crlf = cursor < file_.size() && absl::EndsWith(file_[cursor], "\r\n");
    for (const DiffLine& line : placement.lines) {
      if (line.kind == ' ') replacement.push_back(file_[cursor++]);
      if (line.kind == '-') ++cursor;
      if (line.kind == '+') {
        std::string text = line.text;
        if (crlf && !absl::EndsWith(text, "\r\n") && absl::EndsWith(text, "\n")) text.insert(text.size() - 1, "\r");
        replacement.push_back(std::move(text));
      }
    }
    // The file's last line kept its missing newline if the edit ends there.
    if (cursor == file_.size() && !file_.empty() && !absl::EndsWith(file_.back(), "\n") && !replacement.empty() &&
        placement.lines.back().kind == '+' && absl::EndsWith(replacement.back(), "\n")) {
      replacement.back().pop_back();
    }
    const long before = static_cast<long>(cursor - placement.at);
    file_.erase(file_.begin() + placement.at, file_.begin() + cursor);
    file_.insert(file_.begin() + placement.at, replacement.begin(), replacement.end());
    delta_ += static_cast<long>(replacement.size()) - before;
    return absl::OkStatus();
  }

  std::string Content() const { return absl::StrJoin(file_, ""); }

 private:
  absl::StatusOr<Placement> Place(const Chunk& chunk) {
    absl::StatusOr<Placement> first = PlaceReading(chunk, chunk.lines);
    if (first.ok() || chunk.longer.size() <= chunk.lines.size() || IsAmbiguity(first.status())) return first;
    absl::StatusOr<Placement> second = PlaceReading(chunk, chunk.longer);
    return second.ok() ? second : first;
  }

  static bool IsAmbiguity(const absl::Status& status) { return absl::StrContains(status.message(), "ambiguous"); }

  absl::StatusOr<Placement> PlaceReading(const Chunk& chunk, const std::vector<DiffLine>& lines) {
    // Blank context lines at the edges are optional: models drop or add them.
    std::vector<std::vector<DiffLine>> readings = {lines};
    size_t lo = 0, hi = lines.size();
    while (lo < hi && Blank(lines[lo])) ++lo;
    while (hi > lo && Blank(lines[hi - 1])) --hi;
    // A reading with nothing left to match would be an insertion anywhere.
    const bool keeps_old = std::any_of(lines.begin() + lo, lines.begin() + hi,
                                       [](const DiffLine& line) { return line.kind != '+'; });
    if ((lo > 0 || hi < lines.size()) && keeps_old) readings.emplace_back(lines.begin() + lo, lines.begin() + hi);
    size_t after = 0;
    if (!chunk.anchor.empty()) {
      ASSIGN_OR_RETURN(after, AnchorEnd(chunk));
    }
    for (auto compare : {&Exact, &Loose}) {
      for (const std::vector<DiffLine>& reading : readings) {
        std::vector<std::string> old;
        for (const DiffLine& line : reading) {
          if (line.kind != '+') old.push_back(compare(line.text));
        }
        if (old.empty()) {
          // Pure insertion: only a stated line can say where.
          const long at = chunk.hint > 0 ? chunk.hint + delta_ : static_cast<long>(file_.size());
          if (at < 0 || at > static_cast<long>(file_.size())) {
            return Error(path_, absl::StrCat(chunk.label, " only adds lines, after line ", chunk.hint,
                                             ", but the file has ", file_.size(), " lines"));
          }
          return Placement{static_cast<size_t>(at), reading};
        }
        std::vector<size_t> found;
        for (size_t at = after; at + old.size() <= file_.size(); ++at) {
          bool match = true;
          for (size_t k = 0; k < old.size() && match; ++k) match = compare(file_[at + k]) == old[k];
          if (match) found.push_back(at);
        }
        if (found.size() == 1) return Placement{found[0], reading};
        if (found.size() > 1) {
          const long stated = chunk.hint > 0 ? chunk.hint - 1 + delta_ : -1;
          for (size_t at : found) {
            if (static_cast<long>(at) == stated) return Placement{at, reading};
          }
          std::vector<std::string> where;
          for (size_t at : found) where.push_back(absl::StrCat(at + 1));
          return Error(path_, absl::StrCat(chunk.label, " is ambiguous: its lines match at lines ",
                                           absl::StrJoin(where, ", "),
                                           " of the file; quote more surrounding lines so one place fits"));
        }
      }
    }
    std::string first;
    for (const DiffLine& line : lines) {
      if (line.kind != '+') {
        first = Exact(line.text);
        break;
      }
    }
    return Error(path_, absl::StrCat(chunk.label, ": its context and removed lines (from \"", ClipForMessage(first, 60),
                                     "\") match nowhere in the file, even ignoring whitespace; copy them "
                                     "exactly from the file shown"));
  }

  // The line after the unique line matching an apply_patch anchor.
  absl::StatusOr<size_t> AnchorEnd(const Chunk& chunk) {
    const std::string want = Loose(chunk.anchor);
    std::vector<size_t> found;
    for (size_t at = 0; at < file_.size(); ++at) {
      if (Loose(file_[at]) == want || absl::StartsWith(Loose(file_[at]), want)) found.push_back(at);
    }
    if (found.empty()) return Error(path_, absl::StrCat(chunk.label, ": its @@ anchor \"", ClipForMessage(chunk.anchor, 60),
                                                        "\" matches no line"));
    if (found.size() > 1) {
      std::vector<std::string> where;
      for (size_t at : found) where.push_back(absl::StrCat(at + 1));
      return Error(path_, absl::StrCat(chunk.label, " is ambiguous: its @@ anchor matches lines ",
                                       absl::StrJoin(where, ", ")));
    }
    return found[0] + 1;
  }

  std::string path_;
  std::vector<std::string> file_;
  long delta_ = 0;
};

// Context/removed/added lines between a search and a replace text, by a
// longest-common-subsequence of lines (blocks are small), so lines the
// block only repeats keep the file's bytes.
std::vector<DiffLine> DiffLines(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<DiffLine> out;
  if (n * m > 4000000) {
    for (const std::string& line : a) out.push_back({'-', line});
    for (const std::string& line : b) out.push_back({'+', line});
    return out;
  }
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      out.push_back({' ', a[i++]});
      ++j;
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out.push_back({'+', b[j++]});
    } else {
      out.push_back({'-', a[i++]});
    }
  }
  return out;
}

std::vector<absl::string_view> AnswerLines(absl::string_view answer) {
  std::vector<absl::string_view> lines = absl::StrSplit(answer, '\n');
  for (absl::string_view& line : lines) line = absl::StripSuffix(line, "\r");
  return lines;
}

// A path as models write it above a block: "path", "`path`", "### path",
// "File: path", "**path**".
std::string PathLine(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  while (absl::ConsumePrefix(&line, "#")) {}
  line = absl::StripAsciiWhitespace(line);
  absl::ConsumePrefix(&line, "File:");
  absl::ConsumePrefix(&line, "file:");
  line = absl::StripAsciiWhitespace(line);
  line = absl::StripPrefix(absl::StripSuffix(line, "**"), "**");
  line = absl::StripPrefix(absl::StripSuffix(line, "`"), "`");
  line = absl::StripSuffix(line, ":");
  return std::string(absl::StripAsciiWhitespace(line));
}

bool IsFence(absl::string_view line) { return absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "```"); }

absl::StatusOr<std::vector<FileEdit>> ReadSearchReplace(absl::string_view answer) {
  const std::vector<absl::string_view> lines = AnswerLines(answer);
  std::vector<FileEdit> edits;
  int block = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!absl::StartsWith(lines[i], "<<<<<<< SEARCH")) continue;
    ++block;
    std::string path;
    for (size_t k = i; k-- > 0;) {
      if (absl::StripAsciiWhitespace(lines[k]).empty() || IsFence(lines[k])) continue;
      path = PathLine(lines[k]);
      break;
    }
    if (path.empty()) return absl::InvalidArgumentError(absl::StrCat("block ", block, " names no file above it"));
    std::vector<std::string> search, replace;
    size_t j = i + 1;
    for (; j < lines.size() && !absl::StartsWith(lines[j], "======="); ++j) search.push_back(absl::StrCat(lines[j], "\n"));
    if (j >= lines.size()) return Error(path, absl::StrCat("block ", block, " has no ======= line"));
    for (++j; j < lines.size() && !absl::StartsWith(lines[j], ">>>>>>> REPLACE"); ++j) {
      replace.push_back(absl::StrCat(lines[j], "\n"));
    }
    if (j >= lines.size()) return Error(path, absl::StrCat("block ", block, " has no >>>>>>> REPLACE line"));
    i = j;
    FileEdit edit;
    edit.path = edit.new_path = path;
    if (search.empty()) {
      edit.create = true;  // Aider: an empty SEARCH creates (or appends to) the file
      edit.whole = absl::StrJoin(replace, "");
    } else {
      edit.chunks.push_back({absl::StrCat("block ", block), DiffLines(search, replace), {}, 0, ""});
    }
    edits.push_back(std::move(edit));
  }
  if (edits.empty()) {
    return absl::InvalidArgumentError(
        "the answer holds no search/replace block (PATH, <<<<<<< SEARCH, old lines, =======, new lines, "
        ">>>>>>> REPLACE)");
  }
  return edits;
}

absl::StatusOr<std::vector<FileEdit>> ReadApplyPatch(absl::string_view answer) {
  const std::vector<absl::string_view> lines = AnswerLines(answer);
  size_t i = 0;
  while (i < lines.size() && absl::StripAsciiWhitespace(lines[i]) != "*** Begin Patch") ++i;
  if (i == lines.size()) return absl::InvalidArgumentError("the answer holds no \"*** Begin Patch\" envelope");
  std::vector<FileEdit> edits;
  bool ended = false;
  for (++i; i < lines.size(); ++i) {
    const absl::string_view line = lines[i];
    absl::string_view rest = line;
    if (absl::StripAsciiWhitespace(line) == "*** End Patch") {
      ended = true;
      break;
    }
    if (absl::ConsumePrefix(&rest, "*** Update File: ") || absl::ConsumePrefix(&rest, "*** Add File: ") ||
        absl::ConsumePrefix(&rest, "*** Delete File: ")) {
      FileEdit edit;
      edit.path = edit.new_path = std::string(absl::StripAsciiWhitespace(rest));
      edit.create = absl::StartsWith(line, "*** Add File: ");
      edit.remove = absl::StartsWith(line, "*** Delete File: ");
      if (edit.create) edit.whole = "";
      edits.push_back(std::move(edit));
      continue;
    }
    if (edits.empty()) continue;
    FileEdit& edit = edits.back();
    if (absl::ConsumePrefix(&rest, "*** Move to: ")) {
      edit.new_path = std::string(absl::StripAsciiWhitespace(rest));
      continue;
    }
    if (absl::StartsWith(line, "*** End of File")) continue;
    if (edit.create) {
      if (!absl::ConsumePrefix(&rest, "+")) return Error(edit.path, "an added file's lines must start with +");
      absl::StrAppend(&*edit.whole, rest, "\n");
      continue;
    }
    if (absl::StartsWith(line, "@@")) {
      Chunk chunk;
      chunk.label = absl::StrCat("chunk ", edit.chunks.size() + 1);
      chunk.anchor = std::string(absl::StripAsciiWhitespace(line.substr(2)));
      edit.chunks.push_back(std::move(chunk));
      continue;
    }
    if (edit.chunks.empty()) edit.chunks.push_back({"chunk 1", {}, {}, 0, ""});
    const char kind = line.empty() ? ' ' : line[0];
    if (kind != ' ' && kind != '-' && kind != '+') {
      return Error(edit.path, absl::StrCat(edit.chunks.back().label, ": line \"", ClipForMessage(line, 60),
                                           "\" starts with neither space, - nor +"));
    }
    edit.chunks.back().lines.push_back({kind, absl::StrCat(line.empty() ? "" : line.substr(1), "\n")});
  }
  if (!ended) return absl::InvalidArgumentError("the apply_patch envelope has no \"*** End Patch\" line");
  if (edits.empty()) return absl::InvalidArgumentError("the apply_patch envelope changes no file");
  return edits;
}

absl::StatusOr<std::vector<FileEdit>> ReadWholeFiles(absl::string_view answer) {
  const std::vector<absl::string_view> lines = AnswerLines(answer);
  std::vector<FileEdit> edits;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!IsFence(lines[i])) continue;
    std::string path;
    for (size_t k = i; k-- > 0;) {
      if (absl::StripAsciiWhitespace(lines[k]).empty()) continue;
      path = PathLine(lines[k]);
      break;
    }
    size_t j = i + 1;
    std::string content;
    for (; j < lines.size() && absl::StripAsciiWhitespace(lines[j]) != "```"; ++j) absl::StrAppend(&content, lines[j], "\n");
    if (j >= lines.size()) return Error(path.empty() ? "answer" : path, "the file's ``` fence is not closed");
    i = j;
    if (path.empty() || absl::StrContains(path, ' ')) continue;  // an example, not a file
    FileEdit edit;
    edit.path = edit.new_path = path;
    edit.whole = std::move(content);
    edits.push_back(std::move(edit));
  }
  if (edits.empty()) return absl::InvalidArgumentError("the answer holds no file: a path line, then a ``` fence with the whole file");
  return edits;
}

absl::StatusOr<std::vector<FileEdit>> ReadUnifiedDiff(absl::string_view answer) {
  const ModelAnswer split = SplitModelAnswer(answer);
  if (split.diff.empty()) return absl::InvalidArgumentError("the answer holds no unified diff (no \"diff --git\" or \"---\" file header)");
  ASSIGN_OR_RETURN(const patch::Patch parsed, patch::ParsePatch(split.diff));
  std::vector<FileEdit> edits;
  for (const patch::FilePatch& file : parsed.files) {
    if (file.binary) return Error(file.display_path(), "binary patches are not accepted");
    FileEdit edit;
    edit.path = file.added ? file.new_path : file.old_path;
    edit.new_path = file.deleted ? file.old_path : file.new_path;
    edit.create = file.added;
    edit.remove = file.deleted;
    if (file.added) {
      edit.whole = "";
      for (const patch::Hunk& hunk : file.hunks) {
        for (const DiffLine& line : hunk.lines) {
          if (line.kind == '+') absl::StrAppend(&*edit.whole, line.text);
        }
      }
    }
    for (const patch::Hunk& hunk : file.hunks) {
      Chunk chunk;
      chunk.label = absl::StrCat("hunk ", hunk.number);
      chunk.lines.assign(hunk.lines.begin(), hunk.lines.begin() + hunk.counted);
      chunk.longer = hunk.lines;
      chunk.hint = hunk.old_count == 0 ? hunk.old_start : hunk.old_start;
      edit.chunks.push_back(std::move(chunk));
    }
    edits.push_back(std::move(edit));
  }
  return edits;
}

}  // namespace

absl::StatusOr<ResolvedEdit> ResolveAnswer(v1::EditFormat format, absl::string_view answer,
                                           const ContextFiles& files) {
  std::vector<FileEdit> edits;
  switch (format) {
    case v1::UNIFIED_DIFF: {
      ASSIGN_OR_RETURN(edits, ReadUnifiedDiff(answer));
      break;
    }
    case v1::APPLY_PATCH: {
      ASSIGN_OR_RETURN(edits, ReadApplyPatch(answer));
      break;
    }
    case v1::WHOLE_FILE: {
      ASSIGN_OR_RETURN(edits, ReadWholeFiles(answer));
      break;
    }
    default: {
      ASSIGN_OR_RETURN(edits, ReadSearchReplace(answer));
      break;
    }
  }
  // Each path's content as the edits so far left it (nullopt: deleted or absent).
  std::map<std::string, std::optional<std::string>> now;
  std::vector<std::string> order;
  const auto current = [&](const std::string& path) -> std::optional<std::string> {
    auto it = now.find(path);
    if (it != now.end()) return it->second;
    auto file = files.find(path);
    if (file == files.end()) return std::nullopt;
    return file->second;
  };
  const auto set = [&](const std::string& path, std::optional<std::string> content) {
    if (now.find(path) == now.end()) order.push_back(path);
    now[path] = std::move(content);
  };
  for (FileEdit& edit : edits) {
    std::optional<std::string> content = current(edit.path);
    if (edit.create && !content) {
      if (!edit.chunks.empty() && format == v1::UNIFIED_DIFF) edit.chunks.clear();
      set(edit.new_path, edit.whole);
      continue;
    }
    if (!content) {
      return Error(edit.path, "the file is not among the files you were shown; change only those files "
                              "(or create a new file)");
    }
    if (edit.remove) {
      set(edit.path, std::nullopt);
      continue;
    }
    std::string result = *content;
    if (edit.whole && format == v1::WHOLE_FILE) {
      // The model saw the file's non-UTF-8 bytes as U+FFFD and can only write
      // those back: a whole-file rewrite would corrupt every one of them.
      if (SanitizeUtf8(*content) != *content) {
        return Error(edit.path, "the file is not UTF-8 text, so it cannot be rewritten whole; change it with "
                                "search/replace blocks instead");
      }
      result = *edit.whole;
    } else if (edit.whole && edit.create && format == v1::SEARCH_REPLACE) {
      result = *content + *edit.whole;  // an empty SEARCH on an existing file appends
    } else if (edit.create) {
      return Error(edit.path, "the edit adds the file but it already exists");
    } else {
      FileResolver resolver(edit.path, *content);
      for (const Chunk& chunk : edit.chunks) RETURN_IF_ERROR(resolver.Apply(chunk));
      result = resolver.Content();
    }
    if (edit.new_path != edit.path) set(edit.path, std::nullopt);
    set(edit.new_path, std::move(result));
  }
  ResolvedEdit resolved;
  for (const std::string& path : order) {
    std::optional<std::string> before;
    if (auto it = files.find(path); it != files.end()) before = it->second;
    const std::optional<std::string>& after = now[path];
    if (!before && !after) continue;
    resolved.patch += patch::WriteFileDiff({path, path, before, after});
  }
  if (resolved.patch.empty()) return absl::InvalidArgumentError("the edit changes nothing");
  ASSIGN_OR_RETURN(const patch::Patch written, patch::ParsePatch(resolved.patch));
  RETURN_IF_ERROR(ValidateAddedLines(written));
  resolved.files_touched = patch::FilesTouched(written);
  return resolved;
}

}  // namespace autopack::builder
