// Process-wide metrics in the Prometheus text exposition format (0.0.4),
// written here because Debian 12 packages no C++ Prometheus client
// (`apt-cache search prometheus-cpp` finds nothing). Counters and histograms
// only: every figure Autopack exports is a count or a duration/size spread.
//
//   static Counter& calls = Metrics().GetCounter(
//       "autopack_llm_calls_total", "LLM calls by provider, model and code",
//       {"provider", "model", "code"});
//   calls.Add({"openai", "gpt-4o", "OK"});
//
// Names and label names follow Prometheus rules ([a-zA-Z_][a-zA-Z0-9_]*);
// declaring a name again returns the family as first declared. Thread-safe;
// label values are any bytes, escaped on output.
#ifndef AUTOPACK_SERVICES_COMMON_METRICS_H_
#define AUTOPACK_SERVICES_COMMON_METRICS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace autopack {

using LabelValues = std::vector<std::string>;

class Counter {
 public:
  // `values` in the order of the family's label names; a wrong count is
  // dropped (metrics must never take a server down).
  void Add(const LabelValues& values, double amount = 1);

 private:
  friend class MetricsRegistry;
  Counter(std::string name, std::string help, std::vector<std::string> labels);
  std::string Render() const;

  const std::string name_, help_;
  const std::vector<std::string> labels_;
  mutable absl::Mutex mu_;
  std::map<LabelValues, double> series_ ABSL_GUARDED_BY(mu_);
};

class Histogram {
 public:
  void Observe(const LabelValues& values, double value);

 private:
  friend class MetricsRegistry;
  Histogram(std::string name, std::string help, std::vector<std::string> labels,
            std::vector<double> bounds);
  std::string Render() const;

  struct Series {
    std::vector<uint64_t> buckets;  // per bound, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  const std::string name_, help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;  // ascending upper bounds; +Inf implied
  mutable absl::Mutex mu_;
  std::map<LabelValues, Series> series_ ABSL_GUARDED_BY(mu_);
};

// Upper bounds for durations in seconds: 1 ms to about 10 minutes.
std::vector<double> LatencyBuckets();

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  // The family `name`, made on first use. Never null; lives as long as the registry.
  Counter& GetCounter(const std::string& name, const std::string& help,
                      const std::vector<std::string>& labels);
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<std::string>& labels,
                          const std::vector<double>& bounds = LatencyBuckets());

  // Every family, sorted by name, as the body of a /metrics answer.
  std::string Render() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Counter>> counters_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<Histogram>> histograms_ ABSL_GUARDED_BY(mu_);
};

// The registry of this process, which --metrics_listen serves.
MetricsRegistry& Metrics();

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_METRICS_H_
