#include "services/gitadapter/check_output.h"

#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace autopack::gitadapter {
namespace {

int ToInt(const std::string& digits) {
  int value = 0;
  return absl::SimpleAtoi(digits, &value) ? value : 0;
}

// Count named `word` in a pytest summary line ("3 passed"), 0 if absent.
int PytestCount(const std::string& line, const std::string& word) {
  const std::regex pattern("(\\d+) " + word + "\\b");
  std::smatch match;
  return std::regex_search(line, match, pattern) ? ToInt(match[1]) : 0;
}

}  // namespace

TestCounts ParseTestCounts(absl::string_view output) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    lines.emplace_back(absl::StripTrailingAsciiWhitespace(line));
  }
  static const std::regex gtest_passed(R"(^\[  PASSED  \] (\d+) tests?\.)");
  static const std::regex gtest_failed(R"(^\[  FAILED  \] (\d+) tests?, listed below)");
  static const std::regex ctest(R"((\d+)% tests passed, (\d+) tests? failed out of (\d+))");
  static const std::regex pytest_line(
      R"(^=*\s*(\d+ (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)(, )?)+ in [0-9.]+s\b.*$)");
  static const std::regex summary(R"((\d+) passed, (\d+) failed)", std::regex::icase);

  TestCounts counts;
  std::smatch match;
  int gtest_pass = 0, gtest_fail = 0;
  bool gtest = false;
  for (const std::string& line : lines) {
    if (std::regex_search(line, match, gtest_passed)) {
      gtest = true;
      gtest_pass += ToInt(match[1]);
    } else if (std::regex_search(line, match, gtest_failed)) {
      gtest = true;
      gtest_fail += ToInt(match[1]);
    }
  }
  if (gtest) return {gtest_pass, gtest_fail, "gtest"};

  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (std::regex_search(*it, match, ctest)) {
      const int failed = ToInt(match[2]);
      return {ToInt(match[3]) - failed, failed, "ctest"};
    }
  }

  int go_pass = 0, go_fail = 0;
  bool go_verbose = false;
  for (const std::string& line : lines) {
    go_verbose = go_verbose || absl::StartsWith(line, "=== RUN");
    if (absl::StartsWith(line, "--- PASS: ")) ++go_pass;
    if (absl::StartsWith(line, "--- FAIL: ")) ++go_fail;
  }
  if (go_verbose && go_pass + go_fail > 0) return {go_pass, go_fail, "go"};

  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (std::regex_match(*it, pytest_line)) {
      return {PytestCount(*it, "passed"),
              PytestCount(*it, "failed") + PytestCount(*it, "errors?"), "pytest"};
    }
  }

  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (std::regex_search(*it, match, summary)) return {ToInt(match[1]), ToInt(match[2]), "summary"};
  }
  return counts;
}

}  // namespace autopack::gitadapter
