#include "broker/broker.hpp"

#include <gtest/gtest.h>

namespace honeyman::broker {
namespace {

TEST(BrokerTopics, FollowTheSpec) {
  EXPECT_EQ(sensor_topic("rpi-01", "threats"), "honeyman/sensors/rpi-01/threats");
  EXPECT_EQ(control_topic("rpi-01"), "honeyman/control/rpi-01");
  EXPECT_EQ(dashboard_command_topic("rpi-01"), "honeyman/dashboard/commands/rpi-01");
  EXPECT_EQ(sensor_role("rpi-01"), "honeyman-sensor-rpi-01");
  EXPECT_NE(sensor_role("honeyman-server"), kServerRole) << "a sensor role never shadows ours";
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
