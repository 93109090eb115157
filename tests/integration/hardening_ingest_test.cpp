// Issue #11, ingest: exactly-once storage (the same message from the same sensor stores one row,
// over MQTT and HTTP, across a restart) and the clock-skew policy (a sensor time in 1970 or next
// year is stored at the receipt time, the sensor's time kept in raw_event, counted in the
// sensor's record, and not deleted by retention).
#include <gtest/gtest.h>

#include <ctime>

#include "integration/mqtt_support.hpp"
#include "support/ws_client.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// The current time, naive UTC as the field agent writes it, shifted by `offset`.
std::string agent_time(std::chrono::seconds offset = {}) {
  std::time_t t = std::time(nullptr) + offset.count();
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return text;
}

// An agent-format threat of `sensor` at `timestamp` (the type makes it findable).
std::string agent_threat(const std::string& sensor, const std::string& type,
                         const std::string& timestamp) {
  auto t = wire_sample("agent-threat.json").as_object();
  t["sensor_id"] = sensor;
  t["threat_type"] = type;
  t["timestamp"] = timestamp;
  return json::serialize(t);
}

class HardeningIngestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = MqttFleet::start().release();
    sensor_ = new SensorCredentials(onboard(*fleet_->server, fleet_->admin, "hi-mqtt"));
  }
  static void TearDownTestSuite() {
    delete sensor_;
    delete fleet_;
  }
  static ServerProcess& server() { return *fleet_->server; }
  static json::value get(const std::string& target) {
    auto reply = server().client().get(target, bearer(fleet_->admin));
    EXPECT_EQ(reply.status, 200) << target << ": " << reply.body;
    return reply.json();
  }
  // The threats of `sensor` with `type` (every stored row, newest first).
  static json::array threats_of(const std::string& sensor, const std::string& type) {
    auto body = get("/api/v2/threats?page_size=100&sensor_id=" + sensor + "&threat_type=" + type);
    return body.is_object() ? body.at("threats").as_array() : json::array{};
  }
  static std::int64_t sensor_field(const std::string& sensor, const char* field) {
    auto s = get("/api/v2/sensors/" + sensor);
    return s.is_object() ? s.at(field).to_number<std::int64_t>() : -1;
  }
  static std::int64_t overview_total() {
    auto o = get("/api/v2/analytics/overview");
    return o.is_object() ? o.at("total_threats").to_number<std::int64_t>() : -1;
  }
  // Publishes `payload` as `sensor`'s threats, QoS 1, waiting for the broker's PUBACK.
  static void publish(const std::string& sensor_id, const std::string& payload) {
    auto client = connect_sensor(*fleet_->broker, *sensor_);
    ASSERT_TRUE(
        client->publish(broker::sensor_topic(sensor_id, broker::TopicKind::threats), payload));
  }
  // A marker threat published after the others: once it is stored, so is everything before it
  // (one decoder, one writer, in order).
  static void publish_marker_and_wait(const std::string& type) {
    publish("hi-mqtt", agent_threat("hi-mqtt", type, agent_time()));
    ASSERT_TRUE(eventually([&] { return threats_of("hi-mqtt", type).size() == 1; }))
        << server().log();
  }

  static MqttFleet* fleet_;
  static SensorCredentials* sensor_;
};
MqttFleet* HardeningIngestTest::fleet_ = nullptr;
SensorCredentials* HardeningIngestTest::sensor_ = nullptr;

TEST_F(HardeningIngestTest, TheSameMqttMessageTwiceIsStoredAndCountedOnce) {
  const auto message = agent_threat("hi-mqtt", "twice-mqtt", agent_time());
  auto total_before = sensor_field("hi-mqtt", "total_threats_detected");
  auto listed_before = stored_threats(server(), fleet_->admin, "hi-mqtt");
  auto fleet_before = overview_total();
  publish("hi-mqtt", message);
  ASSERT_TRUE(eventually([&] { return threats_of("hi-mqtt", "twice-mqtt").size() == 1; }))
      << server().log();
  publish("hi-mqtt", message);
  publish_marker_and_wait("twice-mqtt-marker");
  EXPECT_EQ(threats_of("hi-mqtt", "twice-mqtt").size(), 1u);
  EXPECT_EQ(stored_threats(server(), fleet_->admin, "hi-mqtt"), listed_before + 2);
  EXPECT_EQ(sensor_field("hi-mqtt", "total_threats_detected"), total_before + 2);
  EXPECT_TRUE(eventually([&] { return overview_total() == fleet_before + 2; }))  // 1 s cache
      << overview_total();
}

TEST_F(HardeningIngestTest, ARetriedHttpBatchIsStoredOnceAndAnsweredAlike) {
  auto key = sensor_->api_key;
  json::array batch;
  for (int i = 0; i < 3; ++i)
    batch.push_back(json::parse(agent_threat("hi-mqtt", "retried-http", agent_time(-i * 1s))));
  auto total_before = sensor_field("hi-mqtt", "total_threats_detected");
  auto first = server().client().post("/api/v2/threats", batch, api_key(key));
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = server().client().post("/api/v2/threats", batch, api_key(key));
  ASSERT_EQ(again.status, 201) << again.body;
  auto ids = [](const json::value& answer) {
    std::vector<std::string> out;
    for (const auto& t : answer.as_array()) out.emplace_back(t.at("id").as_string());
    return out;
  };
  EXPECT_EQ(ids(first.json()), ids(again.json()));
  EXPECT_EQ(threats_of("hi-mqtt", "retried-http").size(), 3u);
  EXPECT_EQ(sensor_field("hi-mqtt", "total_threats_detected"), total_before + 3);

  // The agent's fallback route: the same body twice, one row per threat.
  json::object fallback{{"type", "threats"}, {"honeypot_id", "hi-mqtt"}, {"data", json::array{}}};
  fallback["data"].as_array().push_back(
      json::parse(agent_threat("hi-mqtt", "retried-honeypot", agent_time())));
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto reply = server().client().post("/api/v2/honeypot/data", fallback, api_key(key));
    ASSERT_EQ(reply.status, 201) << reply.body;
    EXPECT_EQ(reply.json().at("accepted"), 1);
  }
  EXPECT_EQ(threats_of("hi-mqtt", "retried-honeypot").size(), 1u);
}

// At-least-once across a restart: the message the server stored before it stopped comes again
// from the broker's queue for its persistent session while it was down.
TEST_F(HardeningIngestTest, AMessageRedeliveredAfterARestartIsStoredOnce) {
  const auto message = agent_threat("hi-mqtt", "redelivered", agent_time());
  publish("hi-mqtt", message);
  ASSERT_TRUE(eventually([&] { return threats_of("hi-mqtt", "redelivered").size() == 1; }));
  ASSERT_EQ(server().stop(), 0) << server().log();
  publish("hi-mqtt", message);  // queued by the broker for the server's session
  publish("hi-mqtt", agent_threat("hi-mqtt", "redelivered-marker", agent_time()));
  server().start();
  ASSERT_TRUE(eventually([&] { return threats_of("hi-mqtt", "redelivered-marker").size() == 1; }))
      << server().log();
  EXPECT_EQ(threats_of("hi-mqtt", "redelivered").size(), 1u);
}

TEST_F(HardeningIngestTest, SkewedTimesAreStoredAtReceiptAndCountedInTheSensorRecord) {
  auto skewed_before = sensor_field("hi-mqtt", "clock_skew_threats");
  const std::string times[] = {"1970-01-01T00:00:05", agent_time(366 * 24h)};
  const auto started = std::chrono::system_clock::now();
  publish("hi-mqtt", agent_threat("hi-mqtt", "skew-mqtt-1970", times[0]));
  publish("hi-mqtt", agent_threat("hi-mqtt", "skew-mqtt-next-year", times[1]));
  publish_marker_and_wait("skew-marker");  // so the HTTP one is the last one stored
  auto http = server().client().post(
      "/api/v2/threats", json::parse(agent_threat("hi-mqtt", "skew-http-1970", times[0])),
      api_key(sensor_->api_key));
  ASSERT_EQ(http.status, 201) << http.body;
  const auto finished = std::chrono::system_clock::now();
  for (const char* type : {"skew-mqtt-1970", "skew-mqtt-next-year", "skew-http-1970"}) {
    auto rows = threats_of("hi-mqtt", type);
    ASSERT_EQ(rows.size(), 1u) << type;
    const auto& t = rows[0].as_object();
    // Stored at the receipt time (while the test ran), not the sensor's.
    auto stored_at = parse_timestamp(std::string(t.at("timestamp").as_string()));
    ASSERT_TRUE(stored_at) << t.at("timestamp");
    EXPECT_GE(*stored_at, std::chrono::time_point_cast<std::chrono::microseconds>(started) - 1s)
        << type;
    EXPECT_LE(*stored_at, std::chrono::time_point_cast<std::chrono::microseconds>(finished))
        << type;
    auto sensor_time = std::string(t.at("raw_event").at("sensor_timestamp").as_string());
    EXPECT_EQ(sensor_time.substr(0, 19),
              std::string(type).ends_with("next-year") ? times[1] : times[0]);
  }
  EXPECT_EQ(sensor_field("hi-mqtt", "clock_skew_threats"), skewed_before + 3);
  auto s = get("/api/v2/sensors/hi-mqtt");
  EXPECT_LT(s.at("last_clock_skew_seconds").to_number<double>(), -1e9);  // 1970, last

  // The day's dashboards see them, and retention keeps them.
  auto retention = server().cli({"retention"});
  EXPECT_EQ(retention.exit_code, 0) << retention.err;
  for (const char* type : {"skew-mqtt-1970", "skew-mqtt-next-year", "skew-http-1970"})
    EXPECT_EQ(threats_of("hi-mqtt", type).size(), 1u) << type;
}

TEST_F(HardeningIngestTest, ARedeliveredSkewedMessageIsStoredOnce) {
  const auto message = agent_threat("hi-mqtt", "skew-twice", "1970-01-01T00:00:00");
  publish("hi-mqtt", message);
  ASSERT_TRUE(eventually([&] { return threats_of("hi-mqtt", "skew-twice").size() == 1; }));
  auto skewed = sensor_field("hi-mqtt", "clock_skew_threats");
  publish("hi-mqtt", message);  // a later receipt: another receipt time, the same threat
  publish_marker_and_wait("skew-twice-marker");
  EXPECT_EQ(threats_of("hi-mqtt", "skew-twice").size(), 1u);
  EXPECT_EQ(sensor_field("hi-mqtt", "clock_skew_threats"), skewed);
}

TEST_F(HardeningIngestTest, TheLiveFeedDoesNotAnnounceADuplicate) {
  WsClient ws("127.0.0.1", server().port());
  ASSERT_EQ(ws.connect("/api/v2/ws?token=" + fleet_->admin), 101) << ws.refusal_body();
  const auto body = json::parse(agent_threat("hi-mqtt", "feed-dup", agent_time()));
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto reply = server().client().post("/api/v2/threats", body, api_key(sensor_->api_key));
    ASSERT_EQ(reply.status, 201) << reply.body;
  }
  auto marker = json::parse(agent_threat("hi-mqtt", "feed-dup-marker", agent_time()));
  ASSERT_EQ(server().client().post("/api/v2/threats", marker, api_key(sensor_->api_key)).status,
            201);
  int announced = 0;
  for (;;) {
    auto m = ws.next_of_type("threat");
    ASSERT_TRUE(m) << "the marker never came";
    auto type = std::string(m->at("data").at("threat_type").as_string());
    if (type == "feed-dup-marker") break;
    if (type == "feed-dup") ++announced;
  }
  EXPECT_EQ(announced, 1);
}

}  // namespace
}  // namespace honeyman::testing
