// The WebSocket live feed (SPEC §2 WebSocket) against the real binary: handshake auth, message
// shapes, filters, replay with ?since= under concurrent ingest, slow-client isolation, token
// revocation, heartbeats and sensor liveness.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "integration/harness.hpp"
#include "support/ws_client.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr int kSendQueueLimit = 100;

json::object threat_body(const std::string& type, const std::string& severity = "high",
                         const std::string& detector = "wifi") {
  return json::object{{"threat_type", type},
                      {"detector_type", detector},
                      {"severity", severity},
                      {"threat_score", 0.5}};
}

std::string type_of(const json::value& message) {
  auto* t = message.as_object().if_contains("type");
  return t && t->is_string() ? std::string(t->as_string()) : std::string();
}

std::string threat_id(const json::value& message) {
  return std::string(message.at("data").at("id").as_string());
}

class LiveFeedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = Fleet::start({{"WS_HEARTBEAT_INTERVAL", "1"},
                           {"WS_SEND_QUEUE_LIMIT", std::to_string(kSendQueueLimit)},
                           {"SENSOR_HEARTBEAT_INTERVAL", "1"},
                           {"SENSOR_SWEEP_INTERVAL", "1"}})
                 .release();
  }
  static void TearDownTestSuite() {
    delete fleet_;
    fleet_ = nullptr;
  }

  WsClient connect(const std::string& token, const std::string& extra = "") {
    WsClient ws("127.0.0.1", fleet_->server->port());
    EXPECT_EQ(ws.connect("/api/v2/ws?token=" + token + extra), 101) << ws.refusal_body();
    auto welcome = ws.next();
    EXPECT_TRUE(welcome && type_of(*welcome) == "welcome");
    return ws;
  }

  // POSTs one threat as sensor A and returns its id.
  std::string post_threat(const json::object& body, const std::string& key) {
    auto client = fleet_->server->client();
    auto reply = client.post("/api/v2/threats", body, api_key(key));
    EXPECT_EQ(reply.status, 201) << reply.body;
    auto stored = reply.json();
    return stored.is_object() ? std::string(stored.at("id").as_string()) : std::string();
  }

  static Fleet* fleet_;
};
Fleet* LiveFeedTest::fleet_ = nullptr;

TEST_F(LiveFeedTest, HandshakeWithoutAValidTokenIsRefusedWith401) {
  const auto port = fleet_->server->port();
  WsClient none("127.0.0.1", port);
  EXPECT_EQ(none.connect("/api/v2/ws"), 401);
  WsClient bad("127.0.0.1", port);
  EXPECT_EQ(bad.connect("/api/v2/ws?token=not-a-jwt"), 401);
  EXPECT_NE(bad.refusal_body().find("detail"), std::string::npos);
  WsClient sensor_key("127.0.0.1", port);
  EXPECT_EQ(sensor_key.connect("/api/v2/ws?token=" + fleet_->sensor_a_key), 401);
  WsClient bad_since("127.0.0.1", port);
  EXPECT_EQ(bad_since.connect("/api/v2/ws?token=" + fleet_->viewer + "&since=nope"), 422);
}

TEST_F(LiveFeedTest, WelcomeThenThreatsInTheSpecShape) {
  WsClient ws("127.0.0.1", fleet_->server->port());
  ASSERT_EQ(ws.connect("/api/v2/ws?token=" + fleet_->viewer), 101);
  auto welcome = ws.next();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(type_of(*welcome), "welcome");
  EXPECT_TRUE(welcome->at("message").is_string());
  EXPECT_TRUE(welcome->at("version").is_string());

  auto id = post_threat(threat_body("shape-check", "critical", "ble"), fleet_->sensor_a_key);
  auto message = ws.next_of_type("threat");
  ASSERT_TRUE(message);
  auto data = message->at("data").as_object();
  std::set<std::string> keys;
  for (const auto& [k, v] : data) keys.insert(std::string(k));
  EXPECT_EQ(keys, (std::set<std::string>{"id", "timestamp", "sensor_id", "threat_type", "severity",
                                         "detector_type", "threat_score", "device_name", "latitude",
                                         "longitude"}));
  EXPECT_EQ(data.at("id").as_string(), id);
  EXPECT_EQ(data.at("sensor_id").as_string(), "sensor-a");
  EXPECT_EQ(data.at("severity").as_string(), "critical");
  EXPECT_EQ(data.at("detector_type").as_string(), "ble");
  EXPECT_TRUE(message->at("timestamp").is_string());
}

TEST_F(LiveFeedTest, HeartbeatsCountConnectionsAndTextIsEchoed) {
  auto ws = connect(fleet_->viewer);
  auto heartbeat = ws.next_of_type("heartbeat", 5s);
  ASSERT_TRUE(heartbeat);
  EXPECT_GE(heartbeat->at("connections").as_int64(), 1);
  EXPECT_TRUE(heartbeat->at("timestamp").is_string());
  ASSERT_TRUE(ws.send("hello there"));
  auto echo = ws.next_of_type("echo");
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->at("data").as_string(), "hello there");
}

TEST_F(LiveFeedTest, SubscribeFiltersNarrowTheFeed) {
  auto ws = connect(fleet_->viewer);
  ASSERT_TRUE(ws.send(
      R"({"type":"subscribe","filter":{"severity":["critical"],"sensor_id":["sensor-b"]}})"));
  ASSERT_TRUE(ws.next_of_type("subscribed"));
  post_threat(threat_body("filtered-out-1", "critical"), fleet_->sensor_a_key);
  post_threat(threat_body("filtered-out-2", "low"), fleet_->sensor_b_key);
  auto wanted = post_threat(threat_body("wanted", "critical", "usb"), fleet_->sensor_b_key);
  auto message = ws.next_of_type("threat");
  ASSERT_TRUE(message);
  EXPECT_EQ(threat_id(*message), wanted);

  ASSERT_TRUE(ws.send(R"({"type":"subscribe","filter":{"detector_type":["USB"]}})"));
  ASSERT_TRUE(ws.next_of_type("subscribed"));
  post_threat(threat_body("not-usb", "critical", "wifi"), fleet_->sensor_a_key);
  auto usb = post_threat(threat_body("usb", "low", "usb"), fleet_->sensor_a_key);
  message = ws.next_of_type("threat");
  ASSERT_TRUE(message);
  EXPECT_EQ(threat_id(*message), usb);

  ASSERT_TRUE(ws.send(R"({"type":"subscribe","filter":{"colour":["red"]}})"));
  EXPECT_TRUE(ws.next_of_type("error"));
}

// A reference client sees the whole stream; another disconnects midway and reconnects with
// ?since=<last id it saw> while threats keep arriving: it must end up with exactly the same
// threats, none missing and none twice.
TEST_F(LiveFeedTest, ReplaySinceLastIdHasNoGapAndNoDuplicateUnderConcurrentIngest) {
  constexpr int kTotal = 300;
  auto reference = connect(fleet_->viewer);
  auto resuming = connect(fleet_->viewer);
  std::atomic<int> posted{0};
  std::thread producer([&] {
    auto client = fleet_->server->client();
    for (int i = 0; i < kTotal; ++i) {
      auto reply = client.post("/api/v2/threats", threat_body("seam-" + std::to_string(i)),
                               api_key(fleet_->sensor_a_key));
      if (reply.status == 201) ++posted;
    }
  });
  std::vector<std::string> before;
  while (before.size() < 50) {
    auto m = resuming.next_of_type("threat");
    if (!m) break;
    before.push_back(threat_id(*m));
  }
  ASSERT_EQ(before.size(), 50u);
  resuming.close();
  // Threats land while it is away: wait for a few more stored ones before it comes back.
  int at_close = posted;
  EXPECT_TRUE(eventually([&] { return posted >= std::min(at_close + 20, kTotal); }));
  WsClient resumed("127.0.0.1", fleet_->server->port());
  ASSERT_EQ(resumed.connect("/api/v2/ws?token=" + fleet_->viewer + "&since=" + before.back()), 101);
  std::vector<std::string> all;
  while (all.size() < kTotal) {
    auto m = reference.next_of_type("threat");
    if (!m) break;
    all.push_back(threat_id(*m));
  }
  producer.join();
  ASSERT_EQ(posted.load(), kTotal);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kTotal));
  std::vector<std::string> after;
  while (before.size() + after.size() < kTotal) {
    auto m = resumed.next_of_type("threat", 5s);
    if (!m) break;
    after.push_back(threat_id(*m));
  }
  std::vector<std::string> joined = before;
  joined.insert(joined.end(), after.begin(), after.end());
  EXPECT_EQ(joined, all) << before.size() << " before, " << after.size() << " after";
  EXPECT_FALSE(resumed.next_of_type("threat", 500ms)) << "nothing more, nothing twice";
}

// One client that never reads: its queue overflows and it is dropped with 1013; the client next
// to it receives every threat.
TEST_F(LiveFeedTest, ASlowClientIsDroppedAndDelaysNobody) {
  WsClient slow("127.0.0.1", fleet_->server->port());
  slow.set_receive_buffer(4096);
  ASSERT_EQ(slow.connect("/api/v2/ws?token=" + fleet_->viewer), 101);
  auto fast = connect(fleet_->viewer);
  // Batch by batch, each one read by the fast client before the next is sent: the fast client
  // never has more than a batch waiting (however loaded the machine), while the slow one
  // accumulates them. A batch is half the send queue: a heartbeat or sensor status may share
  // the fast client's queue with a batch (a batch of exactly the limit once dropped it). 50
  // batches are well past what the slow client can hold (its queue plus ~140 KB of socket
  // buffers, ~1,500 frames), so it has been dropped by then; it reads what is in flight and the
  // close frame at once, within the server's 10 s grace for a dropped client's close frame.
  // Then the flood goes on: the fast client still gets every threat.
  constexpr int kPerBatch = kSendQueueLimit / 2, kBatches = 80, kOverflowBatches = 50;
  auto client = fleet_->server->client();
  int received = 0;
  auto post_batch = [&](int b) {
    json::array batch;
    for (int i = 0; i < kPerBatch; ++i)
      batch.push_back(threat_body("flood-" + std::to_string(b) + "-" + std::to_string(i)));
    auto reply = client.post("/api/v2/threats", batch, api_key(fleet_->sensor_b_key));
    EXPECT_EQ(reply.status, 201) << reply.body;
    for (int i = 0; i < kPerBatch && fast.next_of_type("threat"); ++i) ++received;
  };
  for (int b = 0; b < kOverflowBatches; ++b) post_batch(b);
  for (int i = 0; i < kBatches * kPerBatch && slow.next(10s); ++i) {
  }
  EXPECT_TRUE(slow.closed());
  EXPECT_EQ(slow.close_code(), 1013) << slow.close_reason();
  for (int b = kOverflowBatches; b < kBatches; ++b) post_batch(b);
  EXPECT_EQ(received, kBatches * kPerBatch);
}

TEST_F(LiveFeedTest, LogoutEndsTheSocket) {
  auto token = fleet_->server->login("vic", "viewer-password-1");
  auto ws = connect(token);
  auto client = fleet_->server->client();
  ASSERT_EQ(client.post("/api/v2/auth/logout", json::object{}, bearer(token)).status, 200);
  for (int i = 0; i < 100 && ws.next(10s); ++i) {
  }
  EXPECT_TRUE(ws.closed());
  EXPECT_EQ(ws.close_code(), 1008);
  EXPECT_EQ(ws.close_reason(), "token revoked");
}

// SENSOR_HEARTBEAT_INTERVAL=1: a sensor heard from is online for 3 s, then offline.
TEST_F(LiveFeedTest, SensorStatusIsAnnouncedOnEachChange) {
  auto ws = connect(fleet_->viewer);
  ASSERT_TRUE(ws.send(R"({"type":"subscribe","filter":{"sensor_id":["sensor-b"]}})"));
  ASSERT_TRUE(ws.next_of_type("subscribed"));
  auto client = fleet_->server->client();
  ASSERT_EQ(client
                .post("/api/v2/sensors/sensor-b/heartbeat", json::object{{"status", "online"}},
                      api_key(fleet_->sensor_b_key))
                .status,
            200);
  // Other tests post threats as sensor-b (which also count as "heard from"): wait for the
  // offline announcement after the last of them, then bring it online once more.
  std::optional<json::value> status;
  for (int i = 0; i < 20; ++i) {
    status = ws.next_of_type("sensor_status", 10s);
    ASSERT_TRUE(status);
    if (!status->at("data").at("is_online").as_bool()) break;
  }
  EXPECT_EQ(status->at("data").at("sensor_id").as_string(), "sensor-b");
  EXPECT_FALSE(status->at("data").at("is_online").as_bool());
  ASSERT_EQ(client
                .post("/api/v2/sensors/sensor-b/heartbeat", json::object{{"status", "online"}},
                      api_key(fleet_->sensor_b_key))
                .status,
            200);
  auto online = ws.next_of_type("sensor_status", 10s);
  ASSERT_TRUE(online);
  EXPECT_TRUE(online->at("data").at("is_online").as_bool());
  EXPECT_TRUE(online->at("data").at("last_heartbeat").is_string());
  auto offline = ws.next_of_type("sensor_status", 10s);
  ASSERT_TRUE(offline);
  EXPECT_FALSE(offline->at("data").at("is_online").as_bool());
}

}  // namespace
}  // namespace honeyman::testing
