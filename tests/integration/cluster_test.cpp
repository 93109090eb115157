// Two `serve` instances on one store, one Redis and one Mosquitto (shared subscription): every
// threat is stored once and reaches WebSocket clients on both instances; a logout on one ends
// sockets on the other; each sensor status change is announced once; a Redis restart interrupts
// the cross-instance feed only until the bus reconnects; a client's requests count against its
// rate limit on every instance.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

#include "integration/mqtt_support.hpp"
#include "support/redis.hpp"
#include "support/ws_client.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<RedisProcess>();
    redis_->start();
    fleet_ = MqttFleet::start({{"MQTT_SHARED_GROUP", "ingest"},
                               {"MQTT_CLIENT_ID", "node-1"},
                               {"REDIS_URL", redis_->url()},
                               {"SENSOR_HEARTBEAT_INTERVAL", "1"},
                               {"SENSOR_SWEEP_INTERVAL", "1"}});
    auto env = fleet_->server->env();
    env["MQTT_CLIENT_ID"] = "node-2";  // same store, Redis and group; its own MQTT session
    second_ = std::make_unique<ServerProcess>(env);
    second_->start();
    ASSERT_TRUE(eventually([&] { return second_->client().get("/ready").status == 200; }))
        << second_->log();
  }

  WsClient watch(ServerProcess& server, const std::string& token, const std::string& filter = "") {
    WsClient ws("127.0.0.1", server.port());
    EXPECT_EQ(ws.connect("/api/v2/ws?token=" + token), 101) << ws.refusal_body();
    EXPECT_TRUE(ws.next_of_type("welcome"));
    if (!filter.empty()) {
      EXPECT_TRUE(ws.send(R"({"type":"subscribe","filter":)" + filter + "}"));
      EXPECT_TRUE(ws.next_of_type("subscribed"));
    }
    return ws;
  }

  // Threat ids a client receives until `count` arrived or nothing came for `quiet`.
  static std::vector<std::string> collect(WsClient& ws, std::size_t count,
                                          std::chrono::milliseconds quiet = 10s) {
    std::vector<std::string> ids;
    while (ids.size() < count) {
      auto m = ws.next_of_type("threat", quiet);
      if (!m) break;
      ids.push_back(std::string(m->at("data").at("id").as_string()));
    }
    return ids;
  }

  std::unique_ptr<RedisProcess> redis_;
  std::unique_ptr<MqttFleet> fleet_;
  std::unique_ptr<ServerProcess> second_;
};

TEST_F(ClusterTest, EveryThreatIsStoredOnceAndReachesClientsOnBothInstances) {
  auto on_first = watch(*fleet_->server, fleet_->admin);
  auto on_second = watch(*second_, fleet_->admin);
  auto sensor = onboard(*fleet_->server, fleet_->admin, "cluster-01");
  auto mqtt = connect_sensor(*fleet_->broker, sensor);
  constexpr int kTotal = 400;
  for (int i = 0; i < kTotal; ++i)
    ASSERT_TRUE(mqtt->publish_nowait(
        broker::sensor_topic("cluster-01", broker::TopicKind::threats),
        json::serialize(json::object{{"threat_type", "cluster-" + std::to_string(i)},
                                     {"detector_type", "network"},
                                     {"severity", "low"}})));
  ASSERT_TRUE(mqtt->wait_acknowledged(30s));
  auto first_ids = collect(on_first, kTotal);
  auto second_ids = collect(on_second, kTotal);
  EXPECT_EQ(first_ids.size(), static_cast<std::size_t>(kTotal));
  EXPECT_EQ(std::set<std::string>(first_ids.begin(), first_ids.end()).size(), first_ids.size());
  EXPECT_EQ(std::set<std::string>(first_ids.begin(), first_ids.end()),
            std::set<std::string>(second_ids.begin(), second_ids.end()));
  EXPECT_FALSE(on_first.next_of_type("threat", 500ms)) << "no threat twice";
  EXPECT_TRUE(eventually([&] {
    return stored_threats(*fleet_->server, fleet_->admin, "cluster-01") == kTotal;
  })) << stored_threats(*fleet_->server, fleet_->admin, "cluster-01");
}

TEST_F(ClusterTest, LogoutOnOneInstanceEndsTheSocketOnTheOther) {
  auto token = fleet_->server->login("root", "admin-password-1");
  auto ws = watch(*second_, token);
  auto client = fleet_->server->client();
  ASSERT_EQ(client.post("/api/v2/auth/logout", json::object{}, bearer(token)).status, 200);
  for (int i = 0; i < 100 && ws.next(10s); ++i) {
  }
  EXPECT_TRUE(ws.closed());
  EXPECT_EQ(ws.close_code(), 1008);
  EXPECT_EQ(second_->client().get("/api/v2/auth/me", bearer(token)).status, 401);
}

// Both instances sweep every second; each change must still be announced once, and every client
// of either instance sees it once.
TEST_F(ClusterTest, EachSensorStatusChangeIsAnnouncedOnce) {
  auto sensor = onboard(*fleet_->server, fleet_->admin, "cluster-hb");
  auto filter = R"({"sensor_id":["cluster-hb"]})";
  auto on_first = watch(*fleet_->server, fleet_->admin, filter);
  auto on_second = watch(*second_, fleet_->admin, filter);
  auto client = second_->client();
  ASSERT_EQ(client
                .post("/api/v2/sensors/cluster-hb/heartbeat", json::object{{"status", "online"}},
                      api_key(sensor.api_key))
                .status,
            200);
  for (auto* ws : {&on_first, &on_second}) {
    std::vector<bool> states;
    while (states.size() < 3) {
      auto m = ws->next_of_type("sensor_status", states.size() < 2 ? 10s : 3s);
      if (!m) break;
      states.push_back(m->at("data").at("is_online").as_bool());
    }
    // online, then offline after 3 s of silence, and nothing more (no second announcement).
    EXPECT_EQ(states, (std::vector<bool>{true, false}));
  }
}

TEST_F(ClusterTest, TheFeedResumesAfterARedisRestartAndNothingStoredIsLost) {
  auto sensor = onboard(*fleet_->server, fleet_->admin, "cluster-rs");
  auto on_second = watch(*second_, fleet_->admin, R"({"sensor_id":["cluster-rs"]})");
  auto post = [&](const std::string& type) {
    auto reply = fleet_->server->client().post(
        "/api/v2/threats",
        json::object{{"threat_type", type}, {"detector_type", "usb"}, {"severity", "high"}},
        api_key(sensor.api_key));
    EXPECT_EQ(reply.status, 201) << reply.body;
  };
  post("before-restart");
  ASSERT_EQ(collect(on_second, 1).size(), 1u);

  redis_->stop();
  int posted = 1;
  for (int i = 0; i < 5; ++i, ++posted) post("while-down-" + std::to_string(i));
  redis_->start();
  ASSERT_TRUE(eventually([&] { return second_->client().get("/ready").status == 200; }))
      << second_->log();
  // The publishing side notices the restart on its next publish: keep posting until the other
  // instance hears one, then every later threat must arrive.
  ASSERT_TRUE(eventually([&] {
    post("probe");
    ++posted;
    return on_second.next_of_type("threat", 200ms).has_value();
  }));
  on_second.next_of_type("threat", 1s);  // a probe posted while the last one was in flight
  constexpr int kAfter = 50;
  for (int i = 0; i < kAfter; ++i, ++posted) post("after-restart-" + std::to_string(i));
  auto after = collect(on_second, kAfter);
  EXPECT_EQ(after.size(), static_cast<std::size_t>(kAfter));
  EXPECT_EQ(stored_threats(*fleet_->server, fleet_->admin, "cluster-rs"), posted);
}

// A client's requests on one instance count against its limit on the other (usage is exchanged
// every 200 ms through Redis). Without sharing, the second instance would allow a full bucket.
// The requests another instance reported and this one charged to its buckets, from its log.
int charged_from_others(const std::string& log) {
  static const std::regex line(R"(rate limits: charged (\d+) requests)");
  int total = 0;
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it)
    total += std::stoi((*it)[1]);
  return total;
}

TEST(ClusterRateLimitTest, RequestsOnOneInstanceCountOnTheOther) {
  RedisProcess redis;
  redis.start();
  ServerProcess first({{"REDIS_URL", redis.url()},
                       {"RATE_LIMIT_ENABLED", "true"},
                       {"RATE_LIMIT_PER_MINUTE", "6"},  // refills 0.1 a second
                       {"LOGIN_RATE_LIMIT_PER_MINUTE", "4"},
                       {"LOG_LEVEL", "debug"}});  // "rate limits: charged N requests ..."
  first.start();
  ServerProcess second(first.env());
  second.start();
  auto a = first.client();
  auto b = second.client();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(a.get("/api/v2/sensors").status, 401) << i;
  auto login = json::object{{"username", "x"}, {"password", "yyyyyyyy"}};
  for (int i = 0; i < 3; ++i) ASSERT_EQ(a.post("/api/v2/auth/login", login).status, 401) << i;
  // The 7 requests allowed on the first instance have reached the second one's buckets.
  ASSERT_TRUE(eventually([&] { return charged_from_others(second.log()) >= 7; })) << second.log();

  int allowed = 0;
  Reply refused;
  for (int i = 0; i < 10; ++i) {
    auto r = b.get("/api/v2/sensors");
    if (r.status == 429) {
      refused = r;
      break;
    }
    ASSERT_EQ(r.status, 401);
    ++allowed;
  }
  EXPECT_EQ(allowed, 2) << second.log();  // 6 - 4 (+ ~0.1 refilled), not 6
  EXPECT_EQ(refused.status, 429);
  EXPECT_FALSE(refused.header("retry-after").empty());
  EXPECT_EQ(b.post("/api/v2/auth/login", login).status, 401);  // the 4th login of the minute
  EXPECT_EQ(b.post("/api/v2/auth/login", login).status, 429);

  // And back: what the client spent on the second instance (2 reads, 1 login) now counts on the
  // first.
  ASSERT_TRUE(eventually([&] { return charged_from_others(first.log()) >= 3; })) << first.log();
  EXPECT_EQ(a.get("/api/v2/sensors").status, 429) << first.log();
  EXPECT_EQ(a.post("/api/v2/auth/login", login).status, 429);
}

}  // namespace
}  // namespace honeyman::testing
