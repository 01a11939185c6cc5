#include "services/common/text.h"

#include "absl/strings/str_cat.h"

namespace autopack {
namespace {

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

}  // namespace

absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  // A UTF-8 sequence is at most 4 bytes: back up over at most 3 continuations.
  for (int i = 0; i < 3 && cut > 0 && IsContinuation(text[cut]); ++i) --cut;
  if (IsContinuation(text[cut])) cut = max_bytes;  // not UTF-8 anyway: cut where asked
  return text.substr(0, cut);
}

absl::string_view Utf8Suffix(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t start = text.size() - max_bytes;
  for (int i = 0; i < 3 && start < text.size() && IsContinuation(text[start]); ++i) ++start;
  if (start < text.size() && IsContinuation(text[start])) start = text.size() - max_bytes;
  return text.substr(start);
}

std::string ClipForMessage(absl::string_view text, size_t max_bytes) {
  const absl::string_view kept = Utf8Prefix(text, max_bytes);
  if (kept.size() == text.size()) return std::string(text);
  return absl::StrCat(kept, "... [", text.size() - kept.size(), " more bytes]");
}

std::string KeepTail(absl::string_view text, size_t max_bytes) {
  const absl::string_view kept = Utf8Suffix(text, max_bytes);
  if (kept.size() == text.size()) return std::string(text);
  return absl::StrCat("[... ", text.size() - kept.size(), " bytes cut] ", kept);
}

std::string SanitizeUtf8(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    unsigned min = 0;
    if (c < 0x80) {
      length = 1;
    } else if ((c & 0xe0) == 0xc0) {
      length = 2, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      length = 3, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      length = 4, min = 0x10000;
    }
    bool valid = length > 0 && i + length <= text.size();
    unsigned code = length == 1 ? c : (c & (0x7f >> length));
    for (size_t k = 1; valid && k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xc0) == 0x80;
      code = (code << 6) | (next & 0x3f);
    }
    valid = valid && code >= min && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    if (valid) {
      out.append(text.data() + i, length);
      i += length;
    } else {
      out.push_back('?');
      ++i;
    }
  }
  return out;
}

bool HasControlCharacters(absl::string_view text) {
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f) return true;
  }
  return false;
}

}  // namespace autopack
