// Path globs as ReadFiles and allowed_paths use them: `*` and `?` stay within
// one path component, `**` crosses components (`a/**/b` also matches `a/b`),
// everything else is literal. A pattern also matches everything below a
// directory it names, so `src` and `src/` allow `src/x/y.cc`.
#ifndef AUTOPACK_SERVICES_COMMON_GLOB_H_
#define AUTOPACK_SERVICES_COMMON_GLOB_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace autopack {

bool GlobMatch(absl::string_view pattern, absl::string_view path);

// True when `path` matches at least one of `patterns`.
bool GlobMatchAny(const std::vector<std::string>& patterns, absl::string_view path);

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_GLOB_H_
