// Two servers on one store and one broker with a shared subscription (MQTT_SHARED_GROUP): the
// stream is split between them and every threat is stored exactly once.
#include <gtest/gtest.h>

#include <regex>

#include "integration/mqtt_support.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// "received N" of the final ingest line a server logs when it stops.
long received_by(const ServerProcess& server) {
  std::smatch m;
  auto log = server.log();
  static const std::regex final_line(R"(mqtt ingest \(final\): received (\d+))");
  return std::regex_search(log, m, final_line) ? std::stol(m[1]) : -1;
}

TEST(MqttSharedSubscription, TwoInstancesSplitTheStreamWithoutDuplicates) {
  auto fleet = MqttFleet::start({{"MQTT_SHARED_GROUP", "ingest"}, {"MQTT_CLIENT_ID", "node-1"}});
  auto env = fleet->server->env();
  env["MQTT_CLIENT_ID"] = "node-2";  // same store (DATABASE_URL), same group, own session
  ServerProcess second(env);
  second.start();
  ASSERT_TRUE(eventually([&] { return second.client().get("/ready").status == 200; }))
      << second.log();

  auto sensor = onboard(*fleet->server, fleet->admin, "shared-01");
  auto client = connect_sensor(*fleet->broker, sensor);
  constexpr int kTotal = 600;
  for (int i = 0; i < kTotal; ++i)
    ASSERT_TRUE(client->publish_nowait(
        broker::sensor_topic("shared-01", broker::TopicKind::threats),
        json::serialize(json::object{{"threat_type", "shared-" + std::to_string(i)},
                                     {"detector_type", "wifi"},
                                     {"severity", "medium"}})));
  ASSERT_TRUE(client->wait_acknowledged(30s));
  EXPECT_TRUE(eventually([&] {
    return stored_threats(*fleet->server, fleet->admin, "shared-01") == kTotal;
  })) << stored_threats(*fleet->server, fleet->admin, "shared-01");

  ASSERT_EQ(fleet->server->stop(), 0);
  ASSERT_EQ(second.stop(), 0);
  auto first_share = received_by(*fleet->server), second_share = received_by(second);
  EXPECT_GT(first_share, 0) << fleet->server->log();
  EXPECT_GT(second_share, 0) << second.log();
  EXPECT_EQ(first_share + second_share, kTotal) << "each message went to exactly one instance";
}

}  // namespace
}  // namespace honeyman::testing
