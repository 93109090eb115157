// Exactly-once storage: a threat whose id is already stored (the same message delivered again)
// is skipped, and every count kept beside the rows counts only the rows inserted.
#include <thread>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using domain::Severity;

// Everything that counts threats, read at one moment: the listing's total (counters) and its
// capped row count, the sensors' counters, rollups (sensor stats, overview, trend, top types)
// and the all-time fleet totals.
struct IngestCounts {
  std::int64_t total = 0, rows = 0, sensor_a = 0, sensor_b = 0, a_last_24h = 0, fleet = 0;
  std::int64_t last_24h = 0, trend = 0, top_types = 0;
  bool operator==(const IngestCounts&) const = default;
};
std::ostream& operator<<(std::ostream& os, const IngestCounts& c) {
  return os << "{total " << c.total << ", rows " << c.rows << ", sensor_a " << c.sensor_a
            << ", sensor_b " << c.sensor_b << ", a_last_24h " << c.a_last_24h << ", fleet "
            << c.fleet << ", last_24h " << c.last_24h << ", trend " << c.trend << ", top_types "
            << c.top_types << "}";
}

class IdempotentInsertTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    add_sensors(store(), {"sensor-a", "sensor-b"});
  }
  IngestCounts counts() {
    const auto now = kT0 + 12h;
    IngestCounts c;
    c.total = store().query_threats({}).value().total;
    c.rows = store().query_threats({.start_time = Timestamp{}}).value().total;
    c.sensor_a = store().find_sensor("sensor-a", now).value().total_threats_detected;
    c.sensor_b = store().find_sensor("sensor-b", now).value().total_threats_detected;
    c.a_last_24h = store().sensor_stats("sensor-a", now).value().threats_last_24h;
    auto overview = store().fleet_overview(now, now - 1h).value();
    c.fleet = overview.total_threats;
    c.last_24h = overview.last_24h.total();
    for (const auto& p : store().threat_trend({.window = {kT0 - 1h, now}}).value())
      c.trend += p.counts.total();
    c.top_types = store().top_threat_types({kT0 - 1h, now}, 10).value().total;
    return c;
  }
  // inserted[i] of one call, as 0/1 for one-line comparisons.
  std::vector<int> insert_flags(std::vector<domain::Threat> batch) {
    auto r = store().insert_threats(batch);
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return {};
    EXPECT_EQ(r->count,
              static_cast<std::size_t>(std::count(r->inserted.begin(), r->inserted.end(), true)));
    return {r->inserted.begin(), r->inserted.end()};
  }
  std::vector<domain::Threat> batch() {
    return {make_threat({.timestamp = kT0 + 1min}),
            make_threat({.timestamp = kT0 + 2min, .severity = Severity::critical}),
            make_threat({.sensor_id = "sensor-b", .timestamp = kT0 + 3h, .threat_type = "x"})};
  }
};

TEST_P(IdempotentInsertTest, TheSameBatchTwiceStoresOneRowEachAndCountsThemOnce) {
  auto threats = batch();
  EXPECT_EQ(insert_flags(threats), (std::vector<int>{1, 1, 1}));
  auto once = counts();
  EXPECT_EQ(once, (IngestCounts{3, 3, 2, 1, 2, 3, 3, 3, 3}));
  EXPECT_EQ(insert_flags(threats), (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(counts(), once);
}

TEST_P(IdempotentInsertTest, PartlyOverlappingBatchesAddOnlyTheNewThreats) {
  auto threats = batch();
  auto fourth = make_threat({.timestamp = kT0 + 4min});
  EXPECT_EQ(insert_flags({threats[0], threats[1]}), (std::vector<int>{1, 1}));
  EXPECT_EQ(insert_flags({threats[1], fourth, threats[2], threats[0]}),
            (std::vector<int>{0, 1, 1, 0}));
  EXPECT_EQ(counts(), (IngestCounts{4, 4, 3, 1, 3, 4, 4, 4, 4}));
}

TEST_P(IdempotentInsertTest, ACopyInsideOneBatchIsStoredOnce) {
  auto t = make_threat({});
  EXPECT_EQ(insert_flags({t, make_threat({.sensor_id = "sensor-b"}), t}),
            (std::vector<int>{1, 1, 0}));
  EXPECT_EQ(counts(), (IngestCounts{2, 2, 1, 1, 1, 2, 2, 2, 2}));
}

// A message stamped at its receipt (no usable sensor time) gets another timestamp when it is
// redelivered days later: on PostgreSQL another day partition, where the (id, timestamp) key
// alone would not see the first copy.
TEST_P(IdempotentInsertTest, AReceiptStampedCopyIsFoundWhateverItsTimestamp) {
  ASSERT_TRUE(store().maintain(kT0 + 72h));  // the day partitions of both copies (PostgreSQL)
  auto first = make_threat({.timestamp = kT0});
  first.timestamp_from_receipt = true;
  auto later = first;
  later.timestamp = kT0 + 50h;
  later.created_at = kT0 + 50h;
  EXPECT_EQ(insert_flags({first}), (std::vector<int>{1}));
  EXPECT_EQ(insert_flags({later}), (std::vector<int>{0}));
  EXPECT_EQ(store().query_threats({.start_time = Timestamp{}}).value().total, 1);
  EXPECT_EQ(store().find_threat(first.id).value().timestamp, kT0);
}

TEST_P(IdempotentInsertTest, SkewedThreatsAreCountedInTheSensorRecordOnce) {
  auto skewed = make_threat({.timestamp = kT0});
  skewed.timestamp_from_receipt = true;
  skewed.clock_skew = from_unix_micros(12'000'000) - kT0;  // the sensor said 1970
  auto ahead = make_threat({.timestamp = kT0 + 1s});
  ahead.timestamp_from_receipt = true;
  ahead.clock_skew = std::chrono::hours(24 * 365);
  EXPECT_EQ(store().find_sensor("sensor-a", kT0).value().clock_skew_threats, 0);
  EXPECT_FALSE(store().find_sensor("sensor-a", kT0).value().last_clock_skew_seconds);
  EXPECT_EQ(insert_flags({skewed, make_threat({}), ahead}), (std::vector<int>{1, 1, 1}));
  EXPECT_EQ(insert_flags({skewed}), (std::vector<int>{0}));
  auto a = store().find_sensor("sensor-a", kT0).value();
  EXPECT_EQ(a.clock_skew_threats, 2);
  EXPECT_EQ(a.last_clock_skew_seconds, 365.0 * 24 * 3600);
  EXPECT_EQ(a.total_threats_detected, 3);
  insert_flags({make_threat({})});  // a threat on time leaves the last skew as it was
  EXPECT_EQ(store().find_sensor("sensor-a", kT0).value().last_clock_skew_seconds,
            365.0 * 24 * 3600);
}

// Two instances (two Stores on one database) storing the same redelivered batch at once.
TEST_P(IdempotentInsertTest, TwoWritersOfTheSameBatchStoreItOnce) {
  // A private in-memory database cannot be opened twice: there, two threads share one Store.
  const bool shared = url_.find(":memory:") != std::string::npos;
  auto other = shared ? nullptr : open_again();
  Store& second = shared ? store() : *other;
  std::vector<domain::Threat> threats;
  for (int i = 0; i < 200; ++i)
    threats.push_back(make_threat({.sensor_id = i % 2 ? "sensor-a" : "sensor-b",
                                   .timestamp = kT0 + std::chrono::seconds(i)}));
  for (int round = 0; round < 5; ++round) {
    auto mine = threats, theirs = threats;
    Result<InsertOutcome> a = InsertOutcome{}, b = InsertOutcome{};
    std::thread t1([&] { a = store().insert_threats(mine); });
    std::thread t2([&] { b = second.insert_threats(theirs); });
    t1.join();
    t2.join();
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(a->count + b->count, round == 0 ? threats.size() : 0u);
  }
  auto c = counts();
  EXPECT_EQ(c.rows, 200);
  EXPECT_EQ(c.total, 200);
  EXPECT_EQ(c.sensor_a + c.sensor_b, 200);
  EXPECT_EQ(c.fleet, 200);
}

HONEYMAN_STORE_SUITE(IdempotentInsertTest);

}  // namespace
}  // namespace honeyman::store::testing
