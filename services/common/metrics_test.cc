#include "services/common/metrics.h"

#include <cmath>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/metrics_server.h"
#include "tests/testing/http_get.h"
#include "tests/testing/prometheus_text.h"

namespace autopack {
namespace {

using ::autopack::testing::ParsePrometheusText;

TEST(MetricsTest, CountersAndHistogramsRenderAsPrometheusText) {
  MetricsRegistry registry;
  Counter& calls = registry.GetCounter("t_calls_total", "calls", {"method", "code"});
  calls.Add({"a/B", "OK"});
  calls.Add({"a/B", "OK"}, 2);
  calls.Add({"a/B", "NOT_FOUND"});
  calls.Add({"too", "many", "labels"});  // dropped, not fatal
  Histogram& latency = registry.GetHistogram("t_latency_seconds", "latency", {"method"}, {0.1, 1});
  latency.Observe({"a/B"}, 0.05);
  latency.Observe({"a/B"}, 0.5);
  latency.Observe({"a/B"}, 5);

  const std::string text = registry.Render();
  auto scrape = ParsePrometheusText(text);
  ASSERT_TRUE(scrape.ok()) << scrape.status() << "\n" << text;
  EXPECT_EQ(scrape->types.at("t_calls_total"), "counter");
  EXPECT_EQ(scrape->types.at("t_latency_seconds"), "histogram");
  EXPECT_EQ(scrape->Sum("t_calls_total", {{"code", "OK"}}), 3);
  EXPECT_EQ(scrape->Sum("t_calls_total"), 4);
  EXPECT_EQ(scrape->Sum("t_latency_seconds_bucket", {{"le", "0.1"}}), 1);
  EXPECT_EQ(scrape->Sum("t_latency_seconds_bucket", {{"le", "1"}}), 2);
  EXPECT_EQ(scrape->Sum("t_latency_seconds_bucket", {{"le", "+Inf"}}), 3);
  EXPECT_EQ(scrape->Sum("t_latency_seconds_count"), 3);
  EXPECT_DOUBLE_EQ(scrape->Sum("t_latency_seconds_sum"), 5.55);
  // Declaring again returns the same family.
  EXPECT_EQ(&registry.GetCounter("t_calls_total", "x", {"method", "code"}), &calls);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.GetCounter("t_total", "h", {"v"}).Add({"a\"b\\c\nd"});
  const std::string text = registry.Render();
  EXPECT_NE(text.find("t_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
  auto scrape = ParsePrometheusText(text);
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_EQ(scrape->samples.at(0).labels.at("v"), "a\"b\\c\nd");
}

TEST(MetricsTest, ConcurrentAddsAreAllCounted) {
  MetricsRegistry registry;
  Counter& c = registry.GetCounter("t_total", "h", {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) c.Add({});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ParsePrometheusText(registry.Render())->Sum("t_total"), 4000);
}

TEST(MetricsServerTest, ServesTheRegistryOnMetricsOnly) {
  MetricsRegistry registry;
  registry.GetCounter("t_total", "h", {}).Add({}, 7);
  auto server = MetricsServer::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  auto ok = testing::HttpGet("127.0.0.1", (*server)->port(), "/metrics");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->headers.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << ok->headers;
  EXPECT_EQ(ok->body, "# HELP t_total h\n# TYPE t_total counter\nt_total 7\n");
  auto missing = testing::HttpGet("127.0.0.1", (*server)->port(), "/");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
}

TEST(MetricsServerTest, BadAddressesAreRefused) {
  MetricsRegistry registry;
  EXPECT_EQ(MetricsServer::Start("nonsense", &registry).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsServer::Start("127.0.0.1:99999", &registry).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace autopack
