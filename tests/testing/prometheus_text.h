// A strict reader of the Prometheus text format for tests: what a scraper
// would reject, it rejects, so a test that parses /metrics proves the output
// is usable, not just present.
#ifndef AUTOPACK_TESTS_TESTING_PROMETHEUS_TEXT_H_
#define AUTOPACK_TESTS_TESTING_PROMETHEUS_TEXT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace autopack::testing {

struct Sample {
  std::string name;                           // e.g. "autopack_rpc_calls_total"
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct Scrape {
  std::map<std::string, std::string> types;  // family name -> counter | histogram | ...
  std::vector<Sample> samples;
  // Sum of the samples named `name` whose labels include every one of `match`.
  double Sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const;
};

// INVALID_ARGUMENT naming the line for anything malformed: a bad name,
// label or value, a sample before its # TYPE, a family typed twice.
absl::StatusOr<Scrape> ParsePrometheusText(const std::string& text);

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_TESTING_PROMETHEUS_TEXT_H_
