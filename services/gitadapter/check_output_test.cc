#include "services/gitadapter/check_output.h"

#include "gtest/gtest.h"

namespace autopack::gitadapter {
namespace {

void ExpectCounts(const std::string& output, int passed, int failed, const std::string& format) {
  const TestCounts counts = ParseTestCounts(output);
  EXPECT_EQ(counts.passed, passed) << output;
  EXPECT_EQ(counts.failed, failed) << output;
  EXPECT_EQ(counts.format, format) << output;
}

TEST(CheckOutputTest, Pytest) {
  ExpectCounts("....F\n=========== 1 failed, 4 passed, 2 skipped in 0.31s ===========\n", 4, 1, "pytest");
  ExpectCounts("collected 3 items\n\n3 passed in 0.02s\n", 3, 0, "pytest");
  ExpectCounts("== 2 passed, 1 error in 1.20s ==\n", 2, 1, "pytest");
}

TEST(CheckOutputTest, Ctest) {
  ExpectCounts("Test #1: a ... Passed\n\n80% tests passed, 1 tests failed out of 5\n", 4, 1, "ctest");
  ExpectCounts("100% tests passed, 0 tests failed out of 12\n", 12, 0, "ctest");
}

TEST(CheckOutputTest, GoTestVerbose) {
  ExpectCounts("=== RUN   TestA\n--- PASS: TestA (0.00s)\n=== RUN   TestB\n--- FAIL: TestB (0.00s)\n"
               "    --- PASS: TestB/sub (0.00s)\nFAIL\nFAIL\texample.com/x\t0.01s\n",
               1, 1, "go");
}

TEST(CheckOutputTest, GtestSumsSeveralBinaries) {
  ExpectCounts("[==========] 3 tests ran.\n[  PASSED  ] 3 tests.\n"
               "[==========] 2 tests ran.\n[  PASSED  ] 1 test.\n[  FAILED  ] 1 test, listed below:\n"
               "[  FAILED  ] Suite.Case\n",
               4, 1, "gtest");
}

TEST(CheckOutputTest, PlainSummaryAndUnknown) {
  ExpectCounts("Results: 7 passed, 2 failed\n", 7, 2, "summary");
  ExpectCounts("make: *** [all] Error 1\n", -1, -1, "");
}

}  // namespace
}  // namespace autopack::gitadapter
