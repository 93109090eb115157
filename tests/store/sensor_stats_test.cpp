// Sensor listing and the threat-derived sensor figures (threats_last_24h, stats).
#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using domain::Severity;

class SensorListTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    // Created a, b, c, d one second apart; c inactive; a seen recently, d long ago, b/c never.
    for (int i = 0; i < 4; ++i) {
      auto s = make_sensor(std::string("sensor-") + char('a' + i), kT0 + std::chrono::seconds(i));
      s.is_active = i != 2;
      if (i == 0) s.last_seen = kT0 + 10min;
      if (i == 3) s.last_seen = kT0 + 1min;
      ASSERT_TRUE(store().create_sensor(s, ""));
    }
  }
  std::vector<std::string> list(SensorQuery q, std::int64_t* total = nullptr) {
    auto page = store().list_sensors(q);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    if (!page) return ids;
    for (const auto& s : page->sensors) ids.push_back(s.sensor_id);
    if (total != nullptr) *total = page->total;
    return ids;
  }
};

using Ids = std::vector<std::string>;

TEST_P(SensorListTest, NewestFirstWithPaging) {
  std::int64_t total = 0;
  EXPECT_EQ(list({.page = 1, .page_size = 3}, &total), (Ids{"sensor-d", "sensor-c", "sensor-b"}));
  EXPECT_EQ(total, 4);
  EXPECT_EQ(list({.page = 2, .page_size = 3}, &total), (Ids{"sensor-a"}));
  EXPECT_EQ(total, 4);
  EXPECT_EQ(list({.page = 3, .page_size = 3}), Ids{});
}

TEST_P(SensorListTest, FiltersByActiveAndOnline) {
  std::int64_t total = 0;
  EXPECT_EQ(list({.is_active = false}, &total), (Ids{"sensor-c"}));
  EXPECT_EQ(total, 1);
  EXPECT_EQ(list({.is_active = true}), (Ids{"sensor-d", "sensor-b", "sensor-a"}));
  EXPECT_EQ(list({.is_online = true, .online_since = kT0 + 5min}, &total), (Ids{"sensor-a"}));
  EXPECT_EQ(total, 1);
  // Never seen counts as offline.
  EXPECT_EQ(list({.is_online = false, .online_since = kT0 + 5min}),
            (Ids{"sensor-d", "sensor-c", "sensor-b"}));
  EXPECT_EQ(list({.is_active = true, .is_online = false, .online_since = kT0 + 5min}),
            (Ids{"sensor-d", "sensor-b"}));
  EXPECT_EQ(list({.is_online = true, .online_since = kT0 + 10min}), (Ids{"sensor-a"}));  // >=
}

TEST_P(SensorListTest, FillsThreatsLast24hForThePage) {
  auto now = kT0 + 48h;
  insert(store(), {make_threat({.sensor_id = "sensor-a", .timestamp = now - 1h}),
                   make_threat({.sensor_id = "sensor-a", .timestamp = now - 23h}),
                   make_threat({.sensor_id = "sensor-a", .timestamp = now - 25h}),
                   make_threat({.sensor_id = "sensor-d", .timestamp = now - 2min})});
  auto page = store().list_sensors({.now = now});
  ASSERT_TRUE(page);
  std::map<std::string, std::int64_t> counts;
  for (const auto& s : page->sensors) counts[s.sensor_id] = s.threats_last_24h;
  EXPECT_EQ(counts, (std::map<std::string, std::int64_t>{
                        {"sensor-a", 2}, {"sensor-b", 0}, {"sensor-c", 0}, {"sensor-d", 1}}));
}

HONEYMAN_STORE_SUITE(SensorListTest);

// ---------------------------------------------------------------------------------------------
class SensorStatsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    add_sensors(store(), {"sensor-a", "sensor-b"});
  }
  void add(Timestamp ts, Severity severity = Severity::high, std::string detector = "usb",
           std::string type = "a") {
    insert(store(), {make_threat({.sensor_id = "sensor-a",
                                  .timestamp = ts,
                                  .severity = severity,
                                  .detector_type = detector,
                                  .threat_type = type})});
  }
};

// `now` inside an hour: the window's ends fall inside hourly buckets.
TEST_P(SensorStatsTest, WindowsAreExactAtBothEnds) {
  const auto now = kT0 + 7 * 24h + 30min;
  add(now - 24h, Severity::critical);                 // first instant of the day: in
  add(now - 24h - 1us, Severity::critical, "wifi");   // just before: week only
  add(now, Severity::high);                           // last instant: in
  add(now + 1us, Severity::low, "wifi", "b");         // future: neither
  add(now - 1h, Severity::info, "usb", "b");          // a whole hour inside: in
  add(now - 7 * 24h, Severity::medium, "wifi", "b");  // first instant of the week: week
  add(now - 7 * 24h - 1us, Severity::medium, "usb");  // just before the week: neither
  add(now - 24h - 20min, Severity::high);             // same bucket as the start, before it
  insert(store(), {make_threat({.sensor_id = "sensor-b", .timestamp = now - 1min})});

  auto stats = store().sensor_stats("sensor-a", now);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->sensor_id, "sensor-a");
  EXPECT_EQ(stats->total_threats, 8);
  EXPECT_EQ(stats->threats_last_24h, 3);
  EXPECT_EQ(stats->threats_last_7d, 6);
  EXPECT_EQ(stats->last_threat_timestamp, now + 1us);
  EXPECT_EQ(store().find_sensor("sensor-a", now).value().threats_last_24h, 3);
}

// `now` on an hour boundary: whole buckets only, plus the threats at exactly `now`.
TEST_P(SensorStatsTest, WindowsOnHourBoundaries) {
  const auto now = kT0 + 7 * 24h;
  add(now);
  add(now - 24h);
  add(now - 24h - 1us);
  add(now + 1h);
  auto stats = store().sensor_stats("sensor-a", now).value();
  EXPECT_EQ(stats.threats_last_24h, 2);
  EXPECT_EQ(stats.threats_last_7d, 3);
}

TEST_P(SensorStatsTest, BreakdownsCoverEverySeverity) {
  add(kT0, Severity::critical, "usb", "a");
  add(kT0 + 1min, Severity::critical, "wifi", "b");
  add(kT0 + 2min, Severity::low, "wifi", "b");
  add(kT0 + 3min, Severity::low, "wifi", "b");
  auto stats = store().sensor_stats("sensor-a", kT0 + 1h).value();
  using Counts = std::vector<std::pair<std::string, std::int64_t>>;
  EXPECT_EQ(stats.threats_by_severity,
            (Counts{{"critical", 2}, {"high", 0}, {"medium", 0}, {"low", 2}, {"info", 0}}));
  EXPECT_EQ(stats.threats_by_detector, (Counts{{"wifi", 3}, {"usb", 1}}));
  EXPECT_EQ(stats.most_common_threat_type, "b");
  EXPECT_EQ(stats.threats_last_24h, 4);
}

TEST_P(SensorStatsTest, EmptySensorAndUnknownSensor) {
  auto stats = store().sensor_stats("sensor-b", kT0).value();
  EXPECT_EQ(stats.total_threats, 0);
  EXPECT_EQ(stats.threats_by_severity.size(), 5u);
  EXPECT_TRUE(stats.threats_by_detector.empty());
  EXPECT_EQ(stats.most_common_threat_type, std::nullopt);
  EXPECT_EQ(stats.last_threat_timestamp, std::nullopt);
  EXPECT_EQ(code_of(store().sensor_stats("ghost", kT0)), Errc::not_found);
}

HONEYMAN_STORE_SUITE(SensorStatsTest);

}  // namespace
}  // namespace honeyman::store::testing
