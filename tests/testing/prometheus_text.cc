#include "tests/testing/prometheus_text.h"

#include <cctype>
#include <cmath>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace autopack::testing {
namespace {

bool IsName(absl::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
  }
  return true;
}

// The family a sample belongs to: histograms add _bucket, _sum, _count.
std::string Family(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (absl::EndsWith(name, suffix)) {
      std::string base = name.substr(0, name.size() - strlen(suffix));
      if (types.count(base) && types.at(base) == "histogram") return base;
    }
  }
  return name;
}

}  // namespace

double Scrape::Sum(const std::string& name, const std::map<std::string, std::string>& match) const {
  double sum = 0;
  for (const Sample& sample : samples) {
    if (sample.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      auto it = sample.labels.find(k);
      if (it == sample.labels.end() || it->second != v) all = false;
    }
    if (all) sum += sample.value;
  }
  return sum;
}

absl::StatusOr<Scrape> ParsePrometheusText(const std::string& text) {
  Scrape scrape;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, ": ", why, ": ", line));
    };
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      if (parts.size() != 2 || !IsName(parts[0])) return bad("malformed TYPE");
      if (parts[1] != "counter" && parts[1] != "gauge" && parts[1] != "histogram" &&
          parts[1] != "summary" && parts[1] != "untyped") {
        return bad("unknown type");
      }
      if (!scrape.types.emplace(parts[0], parts[1]).second) return bad("family typed twice");
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;  // HELP and comments
    Sample sample;
    size_t at = 0;
    while (at < line.size() && line[at] != '{' && line[at] != ' ') ++at;
    sample.name = std::string(line.substr(0, at));
    if (!IsName(sample.name)) return bad("bad metric name");
    if (at < line.size() && line[at] == '{') {
      ++at;
      while (at < line.size() && line[at] != '}') {
        size_t eq = line.find('=', at);
        if (eq == absl::string_view::npos) return bad("label without =");
        std::string key(line.substr(at, eq - at));
        if (!IsName(key) || eq + 1 >= line.size() || line[eq + 1] != '"') return bad("bad label");
        std::string value;
        size_t i = eq + 2;
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
        }
        if (i >= line.size()) return bad("unterminated label value");
        sample.labels[key] = value;
        at = i + 1;
        if (at < line.size() && line[at] == ',') ++at;
      }
      if (at >= line.size()) return bad("unterminated label set");
      ++at;
    }
    if (at >= line.size() || line[at] != ' ') return bad("no value");
    absl::string_view value = line.substr(at + 1);
    if (value == "+Inf") {
      sample.value = HUGE_VAL;
    } else if (!absl::SimpleAtod(value, &sample.value)) {
      return bad("bad value");
    }
    if (!scrape.types.count(Family(sample.name, scrape.types))) return bad("sample before its TYPE");
    scrape.samples.push_back(std::move(sample));
  }
  return scrape;
}

}  // namespace autopack::testing
