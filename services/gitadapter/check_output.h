// Reads passed/failed test counts from the output of common test runners.
#ifndef AUTOPACK_SERVICES_GITADAPTER_CHECK_OUTPUT_H_
#define AUTOPACK_SERVICES_GITADAPTER_CHECK_OUTPUT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "services/common/text.h"  // SanitizeUtf8, used with the counts

namespace autopack::gitadapter {

struct TestCounts {
  int passed = -1;     // -1 when the output was not recognised
  int failed = -1;
  std::string format;  // "gtest", "ctest", "go", "pytest", "summary", or ""
};

// Recognises, in this order: GoogleTest summaries ("[  PASSED  ] 3 tests.",
// summed over several binaries), CTest ("80% tests passed, 1 tests failed out
// of 5"), `go test -v` ("--- PASS:"/"--- FAIL:" lines), pytest's final line
// ("2 failed, 5 passed, 1 error in 0.31s"; errors count as failures), and a
// plain "N passed, N failed". When a summary appears more than once the last
// one counts.
TestCounts ParseTestCounts(absl::string_view output);

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_CHECK_OUTPUT_H_
