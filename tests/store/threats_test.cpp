// Writing threats: batch insert, location fallback, counters and rollups, acknowledge, delete.
#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using domain::Severity;

class ThreatsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    add_sensors(store(), {"sensor-a", "sensor-b"});
  }
  std::int64_t total(ThreatQuery q = {}) {
    auto page = store().query_threats(q);
    EXPECT_TRUE(page) << page.error().message;
    return page ? page->total : -1;
  }
  std::int64_t count_rows(ThreatQuery q = {}) {  // through the capped row count, not counters
    q.start_time = Timestamp{};
    return total(q);
  }
};

void expect_same_threat(const domain::Threat& a, const domain::Threat& b) {
  EXPECT_EQ(domain::to_json(a), domain::to_json(b));
  EXPECT_EQ(a.acknowledgement_notes, b.acknowledgement_notes);
}

TEST_P(ThreatsTest, InsertAndFindRoundTripEveryField) {
  auto t = make_threat({});
  t.device_mac = "aa:bb:cc:dd:ee:ff";
  t.device_ip = "10.0.0.7";
  t.src_host = "10.0.0.7";
  t.src_port = 5353;
  t.dst_host = "224.0.0.251";
  t.dst_port = 0;
  t.latitude = 1.5;
  t.longitude = -2.25;
  t.city = "Nowhere";
  t.country = "ZZ";
  t.confidence.reset();
  t.raw_event = boost::json::object{{"nested", {{"list", {1, 2.5, "x", nullptr}}}}};
  auto stored = insert(store(), {t});
  ASSERT_EQ(stored.size(), 1u);
  expect_same_threat(stored[0], t);
  auto found = store().find_threat(t.id);
  ASSERT_TRUE(found) << found.error().message;
  expect_same_threat(*found, t);
  EXPECT_EQ(code_of(store().find_threat(uuid_v4())), Errc::not_found);
}

// Tabs, newlines, backslashes and non-ASCII text survive (PostgreSQL stores batches with COPY,
// whose text format escapes exactly these).
TEST_P(ThreatsTest, TextWithControlCharactersRoundTrips) {
  auto t = make_threat({.threat_type = "type\twith\ttabs"});
  t.device_name = "line\nbreak\r\\N back\\slash \\t \xc3\xa9\xe2\x82\xac \"quoted\"";
  t.raw_event = boost::json::object{{"message", "a\tb\nc\\d"}};
  auto stored = insert(store(), {t});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].device_name, t.device_name);
  expect_same_threat(store().find_threat(t.id).value(), stored[0]);
  EXPECT_EQ(store().query_threats({.threat_types = {"type\twith\ttabs"}}).value().total, 1);
}

TEST_P(ThreatsTest, MissingLocationFallsBackToTheSensors) {
  auto bare = make_threat({});
  auto own = make_threat({});
  own.latitude = 10.0;
  own.longitude = 20.0;
  own.country = "FR";
  auto half = make_threat({});
  half.latitude = 33.0;  // no longitude: a half location is no location
  auto stored = insert(store(), {bare, own, half});
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[0].latitude, 52.52);
  EXPECT_EQ(stored[0].longitude, 13.405);
  EXPECT_EQ(stored[0].city, "Berlin");
  EXPECT_EQ(stored[0].country, "DE");
  EXPECT_EQ(stored[1].latitude, 10.0);
  EXPECT_EQ(stored[1].longitude, 20.0);
  EXPECT_EQ(stored[1].city, "Berlin");  // filled field by field
  EXPECT_EQ(stored[1].country, "FR");
  EXPECT_EQ(stored[2].latitude, 52.52);
  EXPECT_EQ(stored[2].longitude, 13.405);
  EXPECT_EQ(store().find_threat(bare.id).value().latitude, 52.52);
}

TEST_P(ThreatsTest, InsertUpdatesSensorCountersAndRollups) {
  insert(store(), {make_threat({.timestamp = kT0 + 1min}), make_threat({.timestamp = kT0 + 3min}),
                   make_threat({.sensor_id = "sensor-b", .timestamp = kT0 + 2min})});
  insert(store(), {make_threat({.timestamp = kT0 + 2min})});
  auto a = store().find_sensor("sensor-a", kT0 + 1h).value();
  EXPECT_EQ(a.total_threats_detected, 3);
  EXPECT_EQ(a.last_threat_at, kT0 + 3min);
  EXPECT_EQ(a.last_seen, kT0 + 3min + 1s);  // receipt time (created_at) of the latest
  EXPECT_EQ(a.threats_last_24h, 3);
  EXPECT_EQ(store().find_sensor("sensor-b", kT0 + 1h).value().total_threats_detected, 1);
  EXPECT_EQ(total(), 4);
  EXPECT_EQ(total({.sensor_ids = {"sensor-a"}}), 3);
  EXPECT_EQ(count_rows(), 4);
}

TEST_P(ThreatsTest, UnknownSensorFailsTheWholeBatch) {
  std::vector<domain::Threat> batch{make_threat({}), make_threat({.sensor_id = "ghost"}),
                                    make_threat({})};
  auto stored = store().insert_threats(batch);
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, Errc::invalid_input);
  EXPECT_NE(stored.error().message.find("ghost"), std::string::npos);
  EXPECT_EQ(total(), 0);
  EXPECT_EQ(count_rows(), 0);
  EXPECT_EQ(store().find_sensor("sensor-a", kT0).value().total_threats_detected, 0);
  EXPECT_EQ(store().sensor_stats("sensor-a", kT0 + 1h).value().threats_last_24h, 0);
}

// A duplicate id is skipped, not refused: idempotence_test.cpp.

TEST_P(ThreatsTest, EmptyBatchStoresNothing) {
  std::vector<domain::Threat> none;
  ASSERT_TRUE(store().insert_threats(none));
  EXPECT_TRUE(none.empty());
}

TEST_P(ThreatsTest, AcknowledgeRecordsWhoWhenAndWhy) {
  auto t = make_threat({});
  insert(store(), {t});
  auto acked = store().acknowledge_threat(t.id, "alice", "false positive", kT0 + 1h);
  ASSERT_TRUE(acked) << acked.error().message;
  EXPECT_TRUE(acked->is_acknowledged);
  EXPECT_EQ(acked->acknowledged_by, "alice");
  EXPECT_EQ(acked->acknowledged_at, kT0 + 1h);
  EXPECT_EQ(acked->acknowledgement_notes, "false positive");
  expect_same_threat(store().find_threat(t.id).value(), *acked);
  EXPECT_EQ(total({.is_acknowledged = true}), 1);
  EXPECT_EQ(total({.is_acknowledged = false}), 0);
  EXPECT_EQ(code_of(store().acknowledge_threat(uuid_v4(), "alice", std::nullopt, kT0)),
            Errc::not_found);
}

TEST_P(ThreatsTest, DeleteTakesTheThreatOutOfEveryCounter) {
  auto keep = make_threat({.timestamp = kT0 + 1min, .severity = Severity::high});
  auto drop = make_threat({.timestamp = kT0 + 2min, .severity = Severity::critical});
  insert(store(), {keep, drop});
  ASSERT_TRUE(store().delete_threat(drop.id));
  EXPECT_EQ(code_of(store().find_threat(drop.id)), Errc::not_found);
  EXPECT_EQ(code_of(store().delete_threat(drop.id)), Errc::not_found);
  EXPECT_EQ(total(), 1);
  EXPECT_EQ(total({.severities = {Severity::critical}}), 0);
  EXPECT_EQ(count_rows(), 1);
  auto stats = store().sensor_stats("sensor-a", kT0 + 1h).value();
  EXPECT_EQ(stats.total_threats, 1);
  EXPECT_EQ(stats.threats_last_24h, 1);
  EXPECT_EQ(stats.threats_last_7d, 1);
  EXPECT_EQ(stats.threats_by_severity[0], (std::pair<std::string, std::int64_t>{"critical", 0}));
  EXPECT_EQ(stats.threats_by_severity[1], (std::pair<std::string, std::int64_t>{"high", 1}));
  ASSERT_TRUE(store().delete_threat(keep.id));
  EXPECT_EQ(total(), 0);
  EXPECT_TRUE(store().sensor_stats("sensor-a", kT0 + 1h).value().threats_by_detector.empty());
}

TEST_P(ThreatsTest, ThreatsOfADeletedSensorStayAsHistory) {
  auto t = make_threat({});
  insert(store(), {t});
  ASSERT_TRUE(store().delete_sensor("sensor-a"));
  EXPECT_EQ(code_of(store().find_threat(t.id)), Errc::ok);
  EXPECT_EQ(total({.sensor_ids = {"sensor-a"}}), 1);
  std::vector<domain::Threat> orphan{make_threat({})};
  EXPECT_EQ(code_of(store().insert_threats(orphan)), Errc::invalid_input);
}

HONEYMAN_STORE_SUITE(ThreatsTest);

}  // namespace
}  // namespace honeyman::store::testing
