// Sensor commands and rule updates (SPEC §8, issue #16) end to end: an admin's command reaches
// the sensor's MQTT client (logged in with its own broker account from onboarding) on its
// topic, QoS 1; the sensor's broker role may read its updates topic but no other sensor's; the
// result the agent publishes on its status topic becomes the command's status in the history.
#include <gtest/gtest.h>

#include <thread>

#include "integration/alerting_support.hpp"
#include "integration/mqtt_support.hpp"

namespace honeyman::testing::alerting_it {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kSubackFailure = 0x80;

class SensorCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = AlertFleet::start({}, /*with_broker=*/true).release();
    one_ = new SensorCredentials(onboard(*fleet_->server, fleet_->admin, "cmd-01"));
    two_ = new SensorCredentials(onboard(*fleet_->server, fleet_->admin, "cmd-02"));
  }
  static void TearDownTestSuite() {
    delete two_;
    delete one_;
    delete fleet_;
  }
  static AlertApi admin() { return AlertApi(*fleet_->server, fleet_->admin); }
  static std::string commands_topic(const std::string& id) {
    return "honeyman/dashboard/commands/" + id;
  }
  static std::string updates_topic(const std::string& id) {
    return "honeyman/dashboard/updates/" + id;
  }
  // POST `path` (202 expected); returns the command's id.
  static std::string issue(const std::string& path, const json::object& body) {
    auto reply = admin().call("POST", path, json::serialize(body));
    EXPECT_EQ(reply.status, 202) << path << ": " << reply.body;
    if (reply.status != 202) return {};
    EXPECT_EQ(reply.json().at("status"), "sent");
    return std::string(reply.json().at("id").as_string());
  }
  // The next message on `topic` within `timeout`, skipping others (recorded in `others`).
  static std::optional<json::object> next_on(MqttClient& client, const std::string& topic,
                                             std::vector<MqttMessage>* others = nullptr,
                                             std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = client.next_message(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!m) break;
      if (m->topic == topic) return json::parse(m->payload).as_object();
      if (others != nullptr) others->push_back(*m);
    }
    return std::nullopt;
  }
  static json::array history(const std::string& sensor) {
    auto reply = admin().call("GET", "/api/v2/sensors/" + sensor + "/commands");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.status == 200 ? reply.json().at("commands").as_array() : json::array{};
  }
  static json::object entry(const std::string& sensor, const std::string& id) {
    for (auto& c : history(sensor))
      if (c.at("id") == id.c_str()) return c.as_object();
    return {};
  }

  static AlertFleet* fleet_;
  static SensorCredentials *one_, *two_;
};
AlertFleet* SensorCommandsTest::fleet_ = nullptr;
SensorCredentials* SensorCommandsTest::one_ = nullptr;
SensorCredentials* SensorCommandsTest::two_ = nullptr;

TEST_F(SensorCommandsTest, ACommandReachesTheSensorAndItsResultUpdatesTheHistory) {
  auto sensor = connect_sensor(*fleet_->broker, *one_, "-commands");
  ASSERT_NE(sensor->subscribe_granted(commands_topic("cmd-01")), kSubackFailure);
  auto id = issue("/api/v2/sensors/cmd-01/commands",
                  {{"command", "restart_detector"}, {"args", {{"detector", "ble"}}}});
  auto got = next_on(*sensor, commands_topic("cmd-01"));
  ASSERT_TRUE(got) << "the command never reached the sensor\n" << fleet_->server->log();
  EXPECT_EQ(got->at("type"), "command");
  EXPECT_EQ(got->at("id"), id.c_str());
  EXPECT_EQ(got->at("command"), "restart_detector");
  EXPECT_EQ(got->at("args"), (json::object{{"detector", "ble"}}));
  EXPECT_EQ(got->at("issued_by"), "root");
  auto issued = parse_timestamp(std::string(got->at("issued_at").as_string()));
  ASSERT_TRUE(issued);
  EXPECT_LT(std::chrono::abs(*issued - system_clock().now()), std::chrono::minutes(5));

  auto sent = entry("cmd-01", id);
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.at("sensor_id"), "cmd-01");
  EXPECT_EQ(sent.at("kind"), "command");
  EXPECT_EQ(sent.at("command"), "restart_detector");
  EXPECT_EQ(sent.at("issued_by"), "root");
  EXPECT_TRUE(sent.at("status") == "sent" || sent.at("status") == "delivered") << sent.at("status");

  ASSERT_TRUE(sensor->publish(broker::sensor_topic("cmd-01", broker::TopicKind::status),
                              json::serialize(json::object{{"type", "command_result"},
                                                           {"command_id", id},
                                                           {"ok", true},
                                                           {"message", "restarted"}})));
  EXPECT_TRUE(eventually([&] { return entry("cmd-01", id).at("status") == "succeeded"; }))
      << json::serialize(entry("cmd-01", id)) << "\n"
      << fleet_->server->log();
  auto done = entry("cmd-01", id);
  EXPECT_EQ(done.at("message"), "restarted");
  EXPECT_TRUE(done.at("updated_at").is_string());
}

TEST_F(SensorCommandsTest, TheSensorReadsItsUpdatesTopicButNoOtherSensors) {
  auto sensor = connect_sensor(*fleet_->broker, *one_, "-updates");
  EXPECT_NE(sensor->subscribe_granted(updates_topic("cmd-01")), kSubackFailure)
      << "the sensor's broker role may not read its updates topic";
  ASSERT_NE(sensor->subscribe_granted(commands_topic("cmd-01")), kSubackFailure);
  int other_commands = sensor->subscribe_granted(commands_topic("cmd-02"));
  int other_updates = sensor->subscribe_granted(updates_topic("cmd-02"));
  EXPECT_NE(other_commands, -1);
  EXPECT_NE(other_updates, -1);

  // cmd-02's messages first: when cmd-01's own arrive, the others had their chance.
  issue("/api/v2/sensors/cmd-02/commands", {{"command", "wipe"}});
  issue("/api/v2/sensors/cmd-02/rules/update", {{"rules_version", "evil"}});
  auto id = issue("/api/v2/sensors/cmd-01/rules/update",
                  {{"rules_version", "2026.08.2"}, {"url", "https://rules.example/2026.08.2.tgz"}});
  std::vector<MqttMessage> others;
  auto got = next_on(*sensor, updates_topic("cmd-01"), &others);
  ASSERT_TRUE(got) << "the rule update never reached the sensor";
  EXPECT_EQ(got->at("type"), "rule_update");
  EXPECT_EQ(got->at("id"), id.c_str());
  EXPECT_EQ(got->at("rules_version"), "2026.08.2");
  EXPECT_EQ(got->at("url"), "https://rules.example/2026.08.2.tgz");
  EXPECT_EQ(got->at("issued_by"), "root");
  EXPECT_TRUE(got->at("issued_at").is_string());
  while (auto m = sensor->next_message(500ms)) others.push_back(*m);
  for (auto& m : others)
    ADD_FAILURE() << "cmd-01 received " << m.topic << ": " << m.payload << " (SUBACK codes "
                  << other_commands << ", " << other_updates << ")";

  auto h = history("cmd-01");
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h[0].at("id"), id.c_str());  // newest first
  EXPECT_EQ(h[0].at("kind"), "rule_update");
}

TEST_F(SensorCommandsTest, AFailedResultIsRecordedAndNoSensorAnswersForAnother) {
  auto sensor = connect_sensor(*fleet_->broker, *one_, "-results");
  auto theirs = issue("/api/v2/sensors/cmd-02/commands", {{"command", "reboot"}});
  auto mine = issue("/api/v2/sensors/cmd-01/rules/update", {{"rules_version", "2026.08.3"}});
  auto status_topic = broker::sensor_topic("cmd-01", broker::TopicKind::status);
  // cmd-01 claims cmd-02's command on its own topic: it must not count.
  ASSERT_TRUE(sensor->publish(status_topic, json::serialize(json::object{{"type", "command_result"},
                                                                         {"command_id", theirs},
                                                                         {"ok", true},
                                                                         {"message", "spoofed"}})));
  ASSERT_TRUE(sensor->publish(status_topic,
                              json::serialize(json::object{{"type", "command_result"},
                                                           {"command_id", mine},
                                                           {"ok", false},
                                                           {"message", "checksum mismatch"}})));
  EXPECT_TRUE(eventually([&] { return entry("cmd-01", mine).at("status") == "failed"; }))
      << json::serialize(entry("cmd-01", mine));
  EXPECT_EQ(entry("cmd-01", mine).at("message"), "checksum mismatch");
  auto other = entry("cmd-02", theirs);
  ASSERT_FALSE(other.empty());
  EXPECT_TRUE(other.at("status") == "sent" || other.at("status") == "delivered")
      << json::serialize(other);
  EXPECT_NE(other.at("message"), "spoofed");
}

TEST_F(SensorCommandsTest, HistoryIsNewestFirstPerSensor) {
  auto a = issue("/api/v2/sensors/cmd-02/commands", {{"command", "ping"}});
  auto b =
      issue("/api/v2/sensors/cmd-02/commands", {{"command", "pong"}, {"args", json::object{}}});
  auto h = history("cmd-02");
  ASSERT_GE(h.size(), 2u);
  EXPECT_EQ(h[0].at("id"), b.c_str());
  EXPECT_EQ(h[1].at("id"), a.c_str());
  for (auto& c : h) EXPECT_EQ(c.at("sensor_id"), "cmd-02");
  for (auto& c : history("cmd-01")) EXPECT_EQ(c.at("sensor_id"), "cmd-01");
}

}  // namespace
}  // namespace honeyman::testing::alerting_it
