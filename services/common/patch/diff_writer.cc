#include "services/common/patch/diff_writer.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/patch/patch.h"

namespace autopack::patch {
namespace {

constexpr int kContext = 3;
// Beyond this many differing lines the middle is written as one replacement:
// still exact, only less minimal, and bounded in time and memory.
constexpr int kMaxEditDistance = 2000;

enum class Op { kEqual, kDelete, kInsert };

// Myers' O((N+M)D) shortest edit script from `a` to `b`, appended to `out`.
void Myers(const std::vector<absl::string_view>& a, const std::vector<absl::string_view>& b,
           std::vector<Op>* out) {
  const int n = static_cast<int>(a.size());
  const int m = static_cast<int>(b.size());
  const int max = n + m;
  const int offset = max + 1;
  std::vector<int> v(2 * max + 3, 0);
  std::vector<std::vector<int>> trace;
  int found_d = -1;
  for (int d = 0; d <= max && d <= kMaxEditDistance; ++d) {
    // Only diagonals -d..d can matter when walking back from round d.
    trace.emplace_back(v.begin() + offset - d, v.begin() + offset + d + 1);
    for (int k = -d; k <= d; k += 2) {
      int x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1])) ? v[offset + k + 1]
                                                                           : v[offset + k - 1] + 1;
      int y = x - k;
      while (x < n && y < m && a[x] == b[y]) ++x, ++y;
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found_d = d;
        break;
      }
    }
    if (found_d >= 0) break;
  }
  if (found_d < 0) {
    out->insert(out->end(), n, Op::kDelete);
    out->insert(out->end(), m, Op::kInsert);
    return;
  }
  std::vector<Op> reversed;
  int x = n;
  int y = m;
  for (int d = found_d; d > 0; --d) {
    const std::vector<int>& slice = trace[d];
    const auto pv = [&](int diagonal) { return slice[diagonal + d]; };
    const int k = x - y;
    const bool down = k == -d || (k != d && pv(k - 1) < pv(k + 1));
    const int prev_k = down ? k + 1 : k - 1;
    const int prev_x = pv(prev_k);
    const int prev_y = prev_x - prev_k;
    while (x > prev_x && y > prev_y) {
      reversed.push_back(Op::kEqual);
      --x, --y;
    }
    reversed.push_back(down ? Op::kInsert : Op::kDelete);
    x = prev_x;
    y = prev_y;
  }
  while (x > 0 && y > 0) {
    reversed.push_back(Op::kEqual);
    --x, --y;
  }
  out->insert(out->end(), reversed.rbegin(), reversed.rend());
}

std::vector<Op> EditScript(const std::vector<absl::string_view>& a,
                           const std::vector<absl::string_view>& b) {
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  std::vector<Op> ops(prefix, Op::kEqual);
  Myers(std::vector<absl::string_view>(a.begin() + prefix, a.end() - suffix),
        std::vector<absl::string_view>(b.begin() + prefix, b.end() - suffix), &ops);
  ops.insert(ops.end(), suffix, Op::kEqual);
  return ops;
}

std::string Range(int start, int count) {
  // git: an empty side names the line before it; a count of 1 is implied.
  if (count == 0) return absl::StrCat(start - 1 < 0 ? 0 : start - 1, ",0");
  if (count == 1) return absl::StrCat(start);
  return absl::StrCat(start, ",", count);
}

void AppendLine(char kind, absl::string_view line, std::string* out) {
  out->push_back(kind);
  out->append(line.data(), line.size());
  if (line.empty() || line.back() != '\n') out->append("\n\\ No newline at end of file\n");
}

std::string Hunks(const std::vector<absl::string_view>& a, const std::vector<absl::string_view>& b) {
  const std::vector<Op> ops = EditScript(a, b);
  // Positions (in a and b) before each op.
  std::vector<int> pos_a(ops.size() + 1), pos_b(ops.size() + 1);
  for (size_t i = 0; i < ops.size(); ++i) {
    pos_a[i + 1] = pos_a[i] + (ops[i] != Op::kInsert ? 1 : 0);
    pos_b[i + 1] = pos_b[i] + (ops[i] != Op::kDelete ? 1 : 0);
  }
  std::string out;
  size_t i = 0;
  while (i < ops.size()) {
    if (ops[i] == Op::kEqual) {
      ++i;
      continue;
    }
    const size_t begin = i >= kContext ? i - kContext : 0;
    // Extend while the next change is within 2*kContext equal lines.
    size_t end = i;
    while (true) {
      while (end < ops.size() && ops[end] != Op::kEqual) ++end;
      size_t next = end;
      while (next < ops.size() && ops[next] == Op::kEqual) ++next;
      if (next < ops.size() && next - end <= 2 * kContext) {
        end = next;
        continue;
      }
      end = std::min(ops.size(), end + kContext);
      break;
    }
    const int old_count = pos_a[end] - pos_a[begin];
    const int new_count = pos_b[end] - pos_b[begin];
    absl::StrAppend(&out, "@@ -", Range(pos_a[begin] + 1, old_count), " +",
                    Range(pos_b[begin] + 1, new_count), " @@\n");
    for (size_t k = begin; k < end; ++k) {
      if (ops[k] == Op::kEqual) AppendLine(' ', a[pos_a[k]], &out);
      if (ops[k] == Op::kDelete) AppendLine('-', a[pos_a[k]], &out);
      if (ops[k] == Op::kInsert) AppendLine('+', b[pos_b[k]], &out);
    }
    i = end;
  }
  return out;
}

}  // namespace

std::string QuotePath(absl::string_view path) {
  bool needs = false;
  for (unsigned char c : path) needs = needs || c < 0x20 || c == 0x7f || c >= 0x80 || c == '"' || c == '\\';
  if (!needs) return std::string(path);
  std::string out = "\"";
  for (unsigned char c : path) {
    switch (c) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\v': out += "\\v"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out.push_back('\\');
          out.push_back(static_cast<char>('0' + (c >> 6)));
          out.push_back(static_cast<char>('0' + ((c >> 3) & 7)));
          out.push_back(static_cast<char>('0' + (c & 7)));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

std::string WriteFileDiff(const FileChangeText& change) {
  const std::string old_name = change.old_content ? change.old_path : change.new_path;
  const std::string new_name = change.new_content ? change.new_path : change.old_path;
  if (change.old_content && change.new_content && old_name == new_name &&
      *change.old_content == *change.new_content) {
    return "";
  }
  const std::vector<absl::string_view> a =
      change.old_content ? SplitLines(*change.old_content) : std::vector<absl::string_view>();
  const std::vector<absl::string_view> b =
      change.new_content ? SplitLines(*change.new_content) : std::vector<absl::string_view>();
  std::string out = absl::StrCat("diff --git ", QuotePath(absl::StrCat("a/", old_name)), " ",
                                 QuotePath(absl::StrCat("b/", new_name)), "\n");
  if (!change.old_content) absl::StrAppend(&out, "new file mode 100644\n");
  if (!change.new_content) absl::StrAppend(&out, "deleted file mode 100644\n");
  if (change.old_content && change.new_content && old_name != new_name) {
    absl::StrAppend(&out, "rename from ", QuotePath(old_name), "\nrename to ", QuotePath(new_name), "\n");
  }
  const std::string hunks = Hunks(a, b);
  if (hunks.empty()) return out;
  absl::StrAppend(&out, "--- ", change.old_content ? QuotePath(absl::StrCat("a/", old_name)) : "/dev/null",
                  "\n+++ ", change.new_content ? QuotePath(absl::StrCat("b/", new_name)) : "/dev/null", "\n",
                  hunks);
  return out;
}

}  // namespace autopack::patch
