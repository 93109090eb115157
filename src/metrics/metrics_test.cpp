#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

namespace honeyman::metrics {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, RecordedSeriesAppearInTheExposition) {
  auto family = counter("honeyman_test_events_total", "Test events.");
  auto a = family.with({{"kind", "a"}});
  a.inc();
  a.inc(2);
  family.with({{"kind", "a"}}).inc();  // the same series
  histogram("honeyman_test_seconds", "Test latency.", latency_buckets()).with({}).observe(0.003);
  auto text = scrape();
  EXPECT_TRUE(has_line(text, "# TYPE honeyman_test_events_total counter")) << text;
  EXPECT_TRUE(has_line(text, R"(honeyman_test_events_total{kind="a"} 4)")) << text;
  EXPECT_TRUE(has_line(text, R"(honeyman_test_seconds_bucket{le="0.005"} 1)")) << text;
  EXPECT_TRUE(has_line(text, "honeyman_test_seconds_count 1")) << text;
}

TEST(Metrics, WatchIsReadAtScrapeTimeUntilDestroyed) {
  double value = 1;
  {
    Watch w("honeyman_test_watched", "Watched.", Kind::gauge, [&value] { return value; },
            {{"part", "x\"y"}});
    value = 7;
    auto text = scrape();
    EXPECT_TRUE(has_line(text, "# TYPE honeyman_test_watched gauge")) << text;
    EXPECT_TRUE(has_line(text, R"(honeyman_test_watched{part="x\"y"} 7)")) << text;
  }
  EXPECT_EQ(scrape().find("honeyman_test_watched"), std::string::npos);
}

TEST(Metrics, ProcessFacts) {
  auto text = scrape();
  for (auto name :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
        "process_max_fds ", "process_start_time_seconds ", "process_threads "})
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name;
}

TEST(Metrics, NullHandlesRecordNothing) {
  Counter c;
  Gauge g;
  Histogram h;
  c.inc();
  g.set(3);
  h.observe(1);
  EXPECT_FALSE(c);
  EXPECT_FALSE(CounterFamily().with({{"a", "b"}}));
}

}  // namespace
}  // namespace honeyman::metrics
