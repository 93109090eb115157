// Analytics answers (overview, trends, top threat types, per-sensor counts) compared with a
// brute-force count over the threats that were inserted, on generated data with several sensors,
// every severity, empty hours and days, and windows whose ends fall inside hours.
#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "store/detail/aggregates.hpp"
#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using domain::Severity;
using domain::Threat;

constexpr const char* kTypes[] = {"flipper_zero", "rubber_ducky", "deauth", "port_scan"};
constexpr const char* kDetectors[] = {"ble", "usb", "wifi", "network", "airdrop"};

bool in(const TimeWindow& w, Timestamp t) {
  return t >= w.start && t < w.end;
}

class AnalyticsTest : public StoreTest {
 protected:
  // 10 days from kT0: three sensors (c has no location and is inactive), bursts of threats in
  // some hours only, so many hours and whole days are empty.
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    add_sensors(store(), {"sensor-a", "sensor-b"});
    auto c = make_sensor("sensor-c");
    c.latitude = c.longitude = std::nullopt;
    c.city = c.country = std::nullopt;
    c.is_active = false;
    c.last_seen = kT0 + 10 * 24h;
    ASSERT_TRUE(store().create_sensor(c, ""));
    std::mt19937_64 rng(42);
    std::vector<Threat> batch;
    for (int hour = 0; hour < 10 * 24; ++hour) {
      if (hour / 24 == 4 || rng() % 3 == 0) continue;  // day 4 and a third of the hours: empty
      for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) {
        auto ts = kT0 + std::chrono::hours(hour) +
                  std::chrono::microseconds(static_cast<std::int64_t>(rng() % 3'600'000'000));
        auto sensor = std::string("sensor-") + char('a' + rng() % 3);
        batch.push_back(make_threat({.sensor_id = sensor,
                                     .timestamp = ts,
                                     .severity = static_cast<Severity>(rng() % 5),
                                     .detector_type = kDetectors[rng() % 5],
                                     .threat_type = kTypes[rng() % 4],
                                     .threat_score = static_cast<double>(rng() % 100) / 100.0}));
      }
    }
    // The exact edges of the windows used below.
    batch.push_back(make_threat({.sensor_id = "sensor-a", .timestamp = kNow}));
    batch.push_back(make_threat({.sensor_id = "sensor-b", .timestamp = kNow - 24h}));
    batch.push_back(make_threat({.sensor_id = "sensor-b", .timestamp = kNow - 24h - 1us}));
    batch.push_back(make_threat({.sensor_id = "sensor-a", .timestamp = kNow + 1us}));
    for (std::size_t i = 0; i < batch.size(); i += 97) {
      std::vector<Threat> part(
          batch.begin() + static_cast<std::ptrdiff_t>(i),
          batch.begin() + static_cast<std::ptrdiff_t>(std::min(batch.size(), i + 97)));
      auto stored = insert(store(), part);
      threats_.insert(threats_.end(), stored.begin(), stored.end());
    }
    ASSERT_GT(threats_.size(), 250u);
  }

  SeverityCounts brute_counts(const TimeWindow& w, const std::string& sensor = {}) const {
    SeverityCounts c;
    for (const auto& t : threats_)
      if (in(w, t.timestamp) && (sensor.empty() || t.sensor_id == sensor)) ++c[t.severity];
    return c;
  }

  std::map<Timestamp, SeverityCounts> brute_trend(const TrendQuery& q) const {
    std::map<Timestamp, SeverityCounts> out;
    for (const auto& t : threats_)
      if (in(q.window, t.timestamp) && (!q.sensor_id || t.sensor_id == *q.sensor_id))
        ++out[trend_bucket_start(q.bucket, t.timestamp)][t.severity];
    return out;
  }

  static inline const Timestamp kNow = kT0 + 9 * 24h + 13h + 17min + 3s + 5us;
  std::vector<Threat> threats_;
};

TEST_P(AnalyticsTest, OverviewMatchesBruteForce) {
  const auto online_since = kT0 + 9 * 24h + 23h;
  auto o = store().fleet_overview(kNow, online_since);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->total_sensors, 3);
  EXPECT_EQ(o->active_sensors, 2);
  std::int64_t online = 0;
  for (const char* id : {"sensor-a", "sensor-b", "sensor-c"})
    online += store().find_sensor(id, kNow).value().last_seen >= online_since ? 1 : 0;
  EXPECT_EQ(o->online_sensors, online);
  EXPECT_EQ(store().fleet_overview(kNow, kT0 + 30 * 24h).value().online_sensors, 0);
  EXPECT_EQ(store().fleet_overview(kNow, kT0 - 24h).value().online_sensors, 3);
  EXPECT_EQ(o->total_threats, static_cast<std::int64_t>(threats_.size()));
  const auto end = kNow + 1us;  // `now` is inside
  EXPECT_EQ(o->last_24h, brute_counts({kNow - 24h, end}));
  EXPECT_EQ(o->last_7d, brute_counts({kNow - 7 * 24h, end}).total());
  EXPECT_EQ(o->last_hour, brute_counts({kNow - 1h, end}).total());
  double score = 0;
  for (const auto& t : threats_)
    if (in({kNow - 24h, end}, t.timestamp)) score += t.threat_score;
  EXPECT_NEAR(o->score_sum_24h, score, 1e-6);
  EXPECT_GT(o->last_24h.total(), 0);
}

TEST_P(AnalyticsTest, TrendsMatchBruteForceForEveryBucketAndWindow) {
  const std::vector<TimeWindow> windows = {
      {kT0, kT0 + 10 * 24h},                                 // aligned
      {kT0 + 3h + 7min + 13us, kT0 + 9 * 24h + 5h + 59min},  // both ends inside hours
      {kT0 + 30min, kT0 + 50min},                            // inside one hour
      {kT0 + 2 * 24h + 59min, kT0 + 2 * 24h + 1h + 1min},    // two partial hours, no whole
      {kT0 + 4 * 24h + 1h, kT0 + 4 * 24h + 20h},             // empty day
      {kNow - 24h, kNow + 1us},                              // the exact edges
      {kT0 + 5h, kT0 + 5h},                                  // empty window
      {kT0 - 30 * 24h, kT0 + 20 * 24h},                      // wider than the data
  };
  for (auto bucket : {TrendBucket::hour, TrendBucket::day, TrendBucket::week}) {
    for (const auto& w : windows) {
      for (std::optional<std::string> sensor :
           {std::optional<std::string>{}, std::optional<std::string>{"sensor-b"}}) {
        TrendQuery q{bucket, w, sensor};
        auto points = store().threat_trend(q);
        ASSERT_TRUE(points) << points.error().message;
        std::map<Timestamp, SeverityCounts> got;
        for (const auto& p : *points) {
          EXPECT_GT(p.counts.total(), 0) << "empty buckets are the API's job";
          got[p.bucket_start] = p.counts;
        }
        EXPECT_EQ(got, brute_trend(q))
            << "bucket " << static_cast<int>(bucket) << " window " << format_timestamp(w.start)
            << " .. " << format_timestamp(w.end) << " sensor " << sensor.value_or("*");
        EXPECT_TRUE(std::is_sorted(points->begin(), points->end(), [](auto& x, auto& y) {
          return x.bucket_start < y.bucket_start;
        }));
      }
    }
  }
}

TEST_P(AnalyticsTest, TopThreatTypesMatchBruteForce) {
  const TimeWindow w{kT0 + 1h + 1us, kNow};
  std::map<std::string, SeverityCounts> brute;
  std::int64_t total = 0;
  for (const auto& t : threats_)
    if (in(w, t.timestamp)) ++brute[t.threat_type][t.severity], ++total;
  std::vector<ThreatTypeCount> expected;
  for (const auto& [type, counts] : brute) expected.push_back({type, counts});
  std::stable_sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) {
    return x.counts.total() > y.counts.total();
  });
  for (int limit : {1, 2, 50}) {
    auto ranking = store().top_threat_types(w, limit);
    ASSERT_TRUE(ranking) << ranking.error().message;
    EXPECT_EQ(ranking->total, total);
    auto want = expected;
    want.resize(std::min<std::size_t>(want.size(), static_cast<std::size_t>(limit)));
    ASSERT_EQ(ranking->top.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(ranking->top[i].threat_type, want[i].threat_type);
      EXPECT_EQ(ranking->top[i].counts, want[i].counts);
    }
  }
  auto none = store().top_threat_types({kT0 + 30 * 24h, kT0 + 31 * 24h}, 10).value();
  EXPECT_EQ(none.total, 0);
  EXPECT_TRUE(none.top.empty());
}

TEST_P(AnalyticsTest, SensorCountsMatchBruteForceWithAndWithoutSeverityFilter) {
  const TimeWindow w{kT0 + 2 * 24h + 17min, kT0 + 8 * 24h + 3h + 1min};
  for (const std::vector<Severity>& filter :
       {std::vector<Severity>{}, std::vector<Severity>{Severity::critical, Severity::low}}) {
    std::map<std::string, SeverityCounts> brute;
    for (const auto& t : threats_)
      if (in(w, t.timestamp) &&
          (filter.empty() || std::count(filter.begin(), filter.end(), t.severity) > 0))
        ++brute[t.sensor_id][t.severity];
    auto counts = store().sensor_threat_counts(w, filter);
    ASSERT_TRUE(counts) << counts.error().message;
    std::map<std::string, SeverityCounts> got;
    for (const auto& c : *counts) got[c.sensor_id] = c.counts;
    EXPECT_EQ(got, brute);
    EXPECT_TRUE(std::is_sorted(counts->begin(), counts->end(), [](auto& x, auto& y) {
      return x.counts.total() > y.counts.total();
    }));
    for (const auto& c : *counts) {
      EXPECT_EQ(c.name, "Sensor " + c.sensor_id);
      EXPECT_EQ(c.latitude.has_value(), c.sensor_id != "sensor-c");
      EXPECT_EQ(c.city.has_value(), c.sensor_id != "sensor-c");
    }
  }
}

TEST_P(AnalyticsTest, DeletedSensorKeepsItsHistoryAndDeletedThreatsLeaveTheCounts) {
  const TimeWindow all{kT0 - 24h, kT0 + 11 * 24h};
  auto before = store().sensor_threat_counts(all, {}).value();
  ASSERT_TRUE(store().delete_sensor("sensor-b"));
  auto after = store().sensor_threat_counts(all, {}).value();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& c : after)
    if (c.sensor_id == "sensor-b") {
      EXPECT_EQ(c.name, std::nullopt);
    }

  const auto& victim = threats_.front();
  ASSERT_TRUE(store().delete_threat(victim.id));
  auto day = trend_bucket_start(TrendBucket::day, victim.timestamp);
  auto points = store().threat_trend({TrendBucket::day, {day, day + 24h}, std::nullopt}).value();
  threats_.erase(threats_.begin());
  EXPECT_EQ(points.empty() ? SeverityCounts{} : points.front().counts,
            brute_counts({day, day + 24h}));
  EXPECT_EQ(store().fleet_overview(kNow, kNow).value().total_threats,
            static_cast<std::int64_t>(threats_.size()));
  // Every rollup followed the delete, the by-type one included.
  std::int64_t in_window = 0;
  for (const auto& t : threats_) in_window += in(all, t.timestamp) ? 1 : 0;
  EXPECT_EQ(store().top_threat_types(all, 50).value().total, in_window);
  std::int64_t by_sensor = 0;
  for (const auto& c : store().sensor_threat_counts(all, {}).value()) by_sensor += c.counts.total();
  EXPECT_EQ(by_sensor, in_window);
}

HONEYMAN_STORE_SUITE(AnalyticsTest);

// Each analytics call reads one snapshot: while batches land, an overview never shows a total
// that disagrees with its own 7-day count (every threat here is in the last 7 days).
class AnalyticsSnapshotTest : public StoreTest {};

TEST_P(AnalyticsSnapshotTest, OverviewIsConsistentUnderConcurrentInserts) {
  add_sensors(store(), {"sensor-a"});
  const auto now = kT0 + 3 * 24h;
  std::atomic<bool> done = false;
  std::thread writer([&] {
    for (int b = 0; b < 40; ++b) {
      std::vector<domain::Threat> batch;
      for (int i = 0; i < 25; ++i)
        batch.push_back(make_threat({.timestamp = now - std::chrono::minutes(b * 60 + i * 2),
                                     .severity = static_cast<Severity>(i % 5)}));
      EXPECT_TRUE(store().insert_threats(batch));
    }
    done = true;
  });
  int reads = 0;
  bool consistent = true;  // no ASSERT here: the writer thread must be joined first
  while (consistent && (!done || reads == 0)) {
    auto o = store().fleet_overview(now, now);
    consistent = o && o->last_7d == o->total_threats && o->total_threats % 25 == 0;
    EXPECT_TRUE(o) << o.error().message;
    if (o) {
      EXPECT_EQ(o->last_7d, o->total_threats) << "torn read after " << reads << " reads";
      EXPECT_EQ(o->total_threats % 25, 0) << "half a batch visible";
    }
    ++reads;
  }
  writer.join();
  EXPECT_EQ(store().fleet_overview(now, now).value().total_threats, 1000);
}

HONEYMAN_STORE_SUITE(AnalyticsSnapshotTest);

// Bucket boundaries are the same for every store: they come from store.hpp.
TEST(TrendBucketStart, HoursDaysAndMondayWeeks) {
  auto t = *parse_timestamp("2027-01-15T08:42:17.123456Z");  // a Friday
  EXPECT_EQ(format_timestamp(trend_bucket_start(TrendBucket::hour, t)),
            "2027-01-15T08:00:00.000000Z");
  EXPECT_EQ(format_timestamp(trend_bucket_start(TrendBucket::day, t)),
            "2027-01-15T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(trend_bucket_start(TrendBucket::week, t)),
            "2027-01-11T00:00:00.000000Z");
  auto monday = *parse_timestamp("2027-01-11T00:00:00Z");
  EXPECT_EQ(trend_bucket_start(TrendBucket::week, monday), monday);
  EXPECT_EQ(format_timestamp(trend_bucket_start(TrendBucket::week, monday - 1us)),
            "2027-01-04T00:00:00.000000Z");
}

// The parts of a window tile it exactly, each rollup part made of whole buckets of its level, and
// no level coarser than needed is skipped (at most two partial buckets of each finer level).
TEST(SplitWindow, PartsTileTheWindowInWholeBucketsOfTheirLevels) {
  const std::vector<std::int64_t> levels = {detail::kMicrosPerMinute, detail::kMicrosPerHour,
                                            detail::kMicrosPerDay};
  std::mt19937_64 rng(7);
  const std::int64_t base = to_unix_micros(kT0);
  for (int i = 0; i < 20000; ++i) {
    auto start = base + static_cast<std::int64_t>(rng() % (10 * detail::kMicrosPerDay));
    auto length = static_cast<std::int64_t>(
        rng() % (i % 2 ? detail::kMicrosPerDay * 9 : detail::kMicrosPerHour * 3));
    if (i % 7 == 0) start = detail::floor_to(start, levels[rng() % 3]);  // aligned starts too
    auto parts =
        detail::split_window({from_unix_micros(start), from_unix_micros(start + length)}, levels);
    ASSERT_EQ(parts.size(), 7u);
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
    for (const auto& p : parts) {
      if (p.from == p.to) continue;
      ASSERT_LT(p.from, p.to);
      if (p.level >= 0) {
        auto unit = levels[static_cast<std::size_t>(p.level)];
        EXPECT_EQ(p.from % unit, 0) << i;
        EXPECT_EQ(p.to % unit, 0) << i;
        // A finer level's part holds no whole bucket of the next level: shorter than two of them.
        if (static_cast<std::size_t>(p.level) + 1 < levels.size())
          EXPECT_LT(p.to - p.from, 2 * levels[static_cast<std::size_t>(p.level) + 1]) << i;
      } else {
        EXPECT_LT(p.to - p.from, 2 * levels[0]) << i;
      }
      ranges.emplace_back(p.from, p.to);
    }
    std::sort(ranges.begin(), ranges.end());
    auto at = start;
    for (const auto& [from, to] : ranges) {
      EXPECT_EQ(from, at) << "window " << i << ": a gap or an overlap";
      at = to;
    }
    EXPECT_EQ(at, start + length) << i;
  }
}

}  // namespace
}  // namespace honeyman::store::testing
