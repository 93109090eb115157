#include "broker/broker.hpp"

#include <gtest/gtest.h>

namespace honeyman::broker {
namespace {

TEST(BrokerTopics, FollowTheSpec) {
  EXPECT_EQ(sensor_topic("rpi-01", TopicKind::threats), "honeyman/sensors/rpi-01/threats");
  EXPECT_EQ(sensor_topic("rpi-01", TopicKind::heartbeat), "honeyman/sensors/rpi-01/heartbeat");
  EXPECT_EQ(sensor_topic("rpi-01", TopicKind::status), "honeyman/sensors/rpi-01/status");
  EXPECT_EQ(sensor_topic_tree("rpi-01"), "honeyman/sensors/rpi-01/#");
  EXPECT_EQ(kAllSensorTopics, "honeyman/sensors/#");
  EXPECT_EQ(control_topic("rpi-01"), "honeyman/control/rpi-01");
  EXPECT_EQ(dashboard_command_topic("rpi-01"), "honeyman/dashboard/commands/rpi-01");
  EXPECT_EQ(sensor_role("rpi-01"), "honeyman-sensor-rpi-01");
  EXPECT_NE(sensor_role("honeyman-server"), kServerRole) << "a sensor role never shadows ours";
}

TEST(BrokerTopics, ParseWhatSensorTopicBuilds) {
  for (auto kind : kTopicKinds) {
    auto parsed = parse_sensor_topic(sensor_topic("rpi5-defcon-01", kind));
    ASSERT_TRUE(parsed) << to_string(kind);
    EXPECT_EQ(parsed->sensor_id, "rpi5-defcon-01");
    EXPECT_EQ(parsed->kind, kind);
  }
  auto longest = parse_sensor_topic("honeyman/sensors/" + std::string(64, 'x') + "/status");
  ASSERT_TRUE(longest);
  EXPECT_EQ(longest->sensor_id, std::string(64, 'x'));
}

TEST(BrokerTopics, ParseRefusesEverythingElse) {
  for (std::string bad :
       {"", "honeyman/sensors/", "honeyman/sensors/s1", "honeyman/sensors/s1/",
        "honeyman/sensors//threats", "honeyman/sensors/s1/threat",
        "honeyman/sensors/s1/threats/extra", "honeyman/sensors/s1/Threats",
        "honeyman/sensors/a b/threats", "honeyman/sensors/a@b/threats",
        "honeyman/sensors/+/threats", "honeyman/sensors/#", "honeyman/sensor/s1/threats",
        "Honeyman/sensors/s1/threats", "/honeyman/sensors/s1/threats", "honeyman/control/s1",
        "$share/g/honeyman/sensors/s1/threats", "honeyman/sensors/s1/#"})
    EXPECT_FALSE(parse_sensor_topic(bad)) << bad;
  EXPECT_FALSE(parse_sensor_topic("honeyman/sensors/" + std::string(65, 'x') + "/threats"));
  EXPECT_FALSE(parse_sensor_topic(std::string("honeyman/sensors/a\0b/threats", 28)));
}

TEST(BrokerTopics, SubscriptionFiltersPlainAndShared) {
  EXPECT_EQ(sensor_topic_filters(""),
            (std::vector<std::string>{"honeyman/sensors/+/threats", "honeyman/sensors/+/heartbeat",
                                      "honeyman/sensors/+/status"}));
  EXPECT_EQ(sensor_topic_filters("ingest"),
            (std::vector<std::string>{"$share/ingest/honeyman/sensors/+/threats",
                                      "$share/ingest/honeyman/sensors/+/heartbeat",
                                      "$share/ingest/honeyman/sensors/+/status"}));
}

TEST(BrokerConfig, MqttIsOffWithoutAHostAndAdministeredOnlyWithAnAdmin) {
  BrokerConfig c;
  EXPECT_FALSE(c.enabled());
  EXPECT_FALSE(c.can_administer());
  c.admin_username = "admin";
  EXPECT_FALSE(c.can_administer()) << "no host";
  c.host = "127.0.0.1";
  EXPECT_TRUE(c.enabled());
  EXPECT_TRUE(c.can_administer());
  auto admin = make_admin(BrokerConfig{});
  ASSERT_FALSE(admin);
  EXPECT_EQ(admin.error().code, Errc::invalid_input);
}

TEST(BrokerAdmin, UnreachableBrokerIsUnavailable) {
  BrokerConfig c;
  c.host = "127.0.0.1";
  c.port = 1;  // nothing listens on port 1
  c.admin_username = "admin";
  c.admin_password = "x";
  auto admin = make_admin(c);
  ASSERT_TRUE(admin);
  auto r = (*admin)->ping();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
}

}  // namespace
}  // namespace honeyman::broker
