// Retention: moving `now` forward deletes old threats in bounded batches, leaves rollups (and so
// the analytics of whole hours) and all-time totals alone, and later deletes old rollups.
#include <map>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using domain::Severity;

class RetentionTest : public StoreTest {
 protected:
  // One threat every 20 minutes for 10 days from kT0, alternating sensors and severities.
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    add_sensors(store(), {"sensor-a", "sensor-b"});
    std::vector<domain::Threat> batch;
    for (int i = 0; i < 10 * 24 * 3; ++i)
      batch.push_back(make_threat({.sensor_id = i % 2 ? "sensor-b" : "sensor-a",
                                   .timestamp = kT0 + i * 20min + 7s,
                                   .severity = static_cast<Severity>(i % 5)}));
    inserted_ = static_cast<std::int64_t>(insert(store(), batch).size());
    ASSERT_EQ(inserted_, 720);
  }

  std::int64_t threats_between(Timestamp from, Timestamp to) {
    ThreatQuery q;
    q.start_time = from;
    q.end_time = to;
    q.page_size = 1;
    auto page = store().query_threats(q);
    EXPECT_TRUE(page) << page.error().message;
    return page ? page->total : -1;
  }

  // Fleet counts per hour over an hour-aligned window, from the rollups.
  std::int64_t trend_total(const TimeWindow& w, std::optional<std::string> sensor = {}) {
    auto points = store().threat_trend({TrendBucket::hour, w, sensor});
    EXPECT_TRUE(points) << points.error().message;
    std::int64_t n = 0;
    for (const auto& p : points.value()) n += p.counts.total();
    return n;
  }

  std::int64_t inserted_ = 0;
};

TEST_P(RetentionTest, OldThreatsGoInBoundedBatchesAndRollupsStay) {
  // "now" is kT0 + 10 d; with 7 days of retention the first 3 days of rows go.
  const auto cutoff = kT0 + 10 * 24h - 7 * 24h;
  const TimeWindow old_days{kT0, cutoff};
  const auto old_count = trend_total(old_days);
  ASSERT_EQ(old_count, 3 * 24 * 3);
  const auto stats_before = store().sensor_stats("sensor-a", kT0 + 10 * 24h).value();

  std::int64_t deleted = 0;
  int batches = 0;
  for (;;) {
    auto n = store().delete_threats_before(cutoff, 50);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_LE(*n, 50) << "a batch is bounded";
    deleted += *n;
    if (*n == 0) break;
    ASSERT_LT(++batches, 100);
  }
  EXPECT_EQ(deleted, old_count);
  EXPECT_EQ(batches, (old_count + 49) / 50);
  EXPECT_EQ(threats_between(kT0 - 24h, cutoff), 0);
  EXPECT_EQ(threats_between(cutoff, kT0 + 11 * 24h), inserted_ - old_count);
  EXPECT_EQ(store().delete_threats_before(cutoff, 50).value(), 0);
  // The exact total of /threats (from counters) follows the rows that are left.
  auto page = store().query_threats({}).value();
  EXPECT_EQ(page.total, inserted_ - old_count);
  EXPECT_TRUE(page.total_is_exact);
  ThreatQuery critical;
  critical.severities = {Severity::critical};
  std::int64_t critical_left = 0;
  for (int i = 3 * 24 * 3; i < 720; ++i) critical_left += i % 5 == 4 ? 1 : 0;
  EXPECT_EQ(store().query_threats(critical).value().total, critical_left);

  // History outlives the rows: rollups, totals and sensor counters are untouched.
  EXPECT_EQ(trend_total(old_days), old_count);
  EXPECT_EQ(trend_total(old_days, "sensor-a"), old_count / 2);
  EXPECT_EQ(store().fleet_overview(kT0 + 10 * 24h, kT0).value().total_threats, inserted_);
  auto stats_after = store().sensor_stats("sensor-a", kT0 + 10 * 24h).value();
  EXPECT_EQ(stats_after.total_threats, stats_before.total_threats);
  EXPECT_EQ(stats_after.threats_by_severity, stats_before.threats_by_severity);
  auto top = store().top_threat_types(old_days, 5).value();
  EXPECT_EQ(top.total, old_count);
  auto sensors = store().sensor_threat_counts(old_days, {}).value();
  ASSERT_EQ(sensors.size(), 2u);
  EXPECT_EQ(sensors[0].counts.total() + sensors[1].counts.total(), old_count);
}

TEST_P(RetentionTest, RollupsGoAtTheirOwnCutoffHourByHour) {
  ASSERT_EQ(store().delete_threats_before(kT0 + 20 * 24h, 10'000).value(), inserted_);
  // Rollup hours that ended at or before the cutoff go; the hour holding the cutoff stays.
  const auto cutoff = kT0 + 2 * 24h + 30min;
  std::int64_t deleted = 0;
  for (;;) {
    auto n = store().delete_rollups_before(cutoff, 7);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_LE(*n, 7);
    deleted += *n;
    if (*n == 0) break;
  }
  EXPECT_GT(deleted, 0);
  EXPECT_EQ(trend_total({kT0 - 24h, kT0 + 2 * 24h}), 0);
  EXPECT_EQ(trend_total({kT0 + 2 * 24h, kT0 + 2 * 24h + 1h}), 3);
  EXPECT_EQ(trend_total({kT0 + 2 * 24h, kT0 + 11 * 24h}), inserted_ - 2 * 24 * 3);
  EXPECT_EQ(trend_total({kT0 + 2 * 24h, kT0 + 11 * 24h}, "sensor-b"), (inserted_ - 2 * 24 * 3) / 2);
  // All-time totals keep counting history.
  EXPECT_EQ(store().fleet_overview(kT0 + 10 * 24h, kT0).value().total_threats, inserted_);
  auto stats = store().sensor_stats("sensor-b", kT0).value();
  EXPECT_EQ(stats.total_threats, inserted_ / 2);
  std::int64_t by_severity = 0;
  for (const auto& [name, n] : stats.threats_by_severity) by_severity += n;
  EXPECT_EQ(by_severity, inserted_ / 2);
  EXPECT_EQ(store().query_threats({}).value().total, 0);
}

TEST_P(RetentionTest, NothingOldMeansNothingDeleted) {
  EXPECT_EQ(store().delete_threats_before(kT0, 100).value(), 0);
  EXPECT_EQ(store().delete_rollups_before(kT0 + 59min, 100).value(), 0);  // hour not over
  EXPECT_EQ(threats_between(kT0 - 24h, kT0 + 11 * 24h), inserted_);
  EXPECT_EQ(code_of(store().delete_threats_before(kT0, 0)), Errc::invalid_input);
}

HONEYMAN_STORE_SUITE(RetentionTest);

}  // namespace
}  // namespace honeyman::store::testing
