// Cutting untrusted text for messages, prompts and proto3 string fields.
// Every cut lands on a UTF-8 character boundary, so the result of cutting
// valid UTF-8 is still valid UTF-8 (a JSON encoder or protobuf never rejects
// it), and everything a caller sent back to it in an error stays short.
#ifndef AUTOPACK_SERVICES_COMMON_TEXT_H_
#define AUTOPACK_SERVICES_COMMON_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace autopack {

// The longest prefix of `text` of at most `max_bytes` bytes that does not end
// inside a UTF-8 sequence.
absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes);

// The longest suffix of `text` of at most `max_bytes` bytes that does not
// start inside a UTF-8 sequence.
absl::string_view Utf8Suffix(absl::string_view text, size_t max_bytes);

// `text` cut to `max_bytes` (on a character boundary) followed by
// "... [N more bytes]" when something was cut. For quoting caller input in
// error messages and logs.
std::string ClipForMessage(absl::string_view text, size_t max_bytes = 80);

// The end of `text` (where tools report failures), at most `max_bytes`,
// preceded by "[... N bytes cut] " when something was cut.
std::string KeepTail(absl::string_view text, size_t max_bytes);

// `text` with every byte that is not part of valid UTF-8 replaced by '?', so it
// fits a proto3 string field.
std::string SanitizeUtf8(absl::string_view text);

// True when `text` has a NUL or another ASCII control character than tab,
// newline and carriage return.
bool HasControlCharacters(absl::string_view text);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_TEXT_H_
