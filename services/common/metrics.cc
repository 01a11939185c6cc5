#include "services/common/metrics.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace autopack {
namespace {

// Label values may hold anything a caller sent (a method name, a model):
// the text format wants \\, \" and \n escaped.
std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrCat(value);
}

// {a="1",b="2"} with `extra` (e.g. le="0.5") last; "" when there are no labels.
std::string LabelSet(const std::vector<std::string>& names, const LabelValues& values,
                     const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&out, out.empty() ? "" : ",", extra);
  return out.empty() ? "" : absl::StrCat("{", out, "}");
}

std::string Header(const std::string& name, const std::string& help, const char* type) {
  return absl::StrCat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

Counter::Counter(std::string name, std::string help, std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}

void Counter::Add(const LabelValues& values, double amount) {
  if (values.size() != labels_.size() || !(amount >= 0)) return;
  absl::MutexLock lock(&mu_);
  series_[values] += amount;
}

std::string Counter::Render() const {
  std::string out = Header(name_, help_, "counter");
  absl::MutexLock lock(&mu_);
  for (const auto& [values, total] : series_) {
    absl::StrAppend(&out, name_, LabelSet(labels_, values), " ", FormatValue(total), "\n");
  }
  return out;
}

Histogram::Histogram(std::string name, std::string help, std::vector<std::string> labels,
                     std::vector<double> bounds)
    : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)),
      bounds_(std::move(bounds)) {}

void Histogram::Observe(const LabelValues& values, double value) {
  if (values.size() != labels_.size() || std::isnan(value)) return;
  absl::MutexLock lock(&mu_);
  Series& series = series_[values];
  if (series.buckets.empty()) series.buckets.assign(bounds_.size(), 0);
  const size_t at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  if (at < bounds_.size()) ++series.buckets[at];
  ++series.count;
  series.sum += value;
}

std::string Histogram::Render() const {
  std::string out = Header(name_, help_, "histogram");
  absl::MutexLock lock(&mu_);
  for (const auto& [values, series] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += series.buckets[i];
      absl::StrAppend(&out, name_, "_bucket",
                      LabelSet(labels_, values, absl::StrCat("le=\"", FormatValue(bounds_[i]), "\"")),
                      " ", cumulative, "\n");
    }
    absl::StrAppend(&out, name_, "_bucket", LabelSet(labels_, values, "le=\"+Inf\""), " ",
                    series.count, "\n");
    absl::StrAppend(&out, name_, "_sum", LabelSet(labels_, values), " ", FormatValue(series.sum), "\n");
    absl::StrAppend(&out, name_, "_count", LabelSet(labels_, values), " ", series.count, "\n");
  }
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const std::vector<std::string>& labels) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Counter>& counter = counters_[name];
  if (counter == nullptr) counter.reset(new Counter(name, help, labels));
  return *counter;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const std::vector<std::string>& labels,
                                         const std::vector<double>& bounds) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Histogram>& histogram = histograms_[name];
  if (histogram == nullptr) {
    std::vector<double> sorted = bounds;
    std::sort(sorted.begin(), sorted.end());
    histogram.reset(new Histogram(name, help, labels, std::move(sorted)));
  }
  return *histogram;
}

std::string MetricsRegistry::Render() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::string> families;
  for (const auto& [name, counter] : counters_) families[name] = counter->Render();
  for (const auto& [name, histogram] : histograms_) families[name] = histogram->Render();
  std::string out;
  for (const auto& [name, text] : families) out += text;
  return out;
}

MetricsRegistry& Metrics() {
  static MetricsRegistry* registry = new MetricsRegistry;
  return *registry;
}

}  // namespace autopack
