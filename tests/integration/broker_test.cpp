// The broker module against a real Mosquitto with dynamic security: the accounts it creates let a
// sensor do exactly what SPEC §4 allows, and deleting or disabling one locks the sensor out.
#include "broker/broker.hpp"

#include <gtest/gtest.h>

#include "support/mosquitto.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;

class BrokerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mosquitto_ = new MosquittoProcess();
    mosquitto_->start();
  }
  static void TearDownTestSuite() { delete mosquitto_; }

  static broker::BrokerConfig config() {
    auto env = mosquitto_->server_env();
    broker::BrokerConfig c;
    c.host = "127.0.0.1";
    c.port = mosquitto_->port();
    c.admin_username = env["MQTT_ADMIN_USERNAME"];
    c.admin_password = env["MQTT_ADMIN_PASSWORD"];
    c.username = env["MQTT_BROKER_USERNAME"];
    c.password = env["MQTT_BROKER_PASSWORD"];
    c.client_id = "broker-test-server";
    return c;
  }
  static std::unique_ptr<broker::Admin> admin() {
    auto a = broker::make_admin(config());
    EXPECT_TRUE(a) << a.error().message;
    return std::move(*a);
  }

  static MosquittoProcess* mosquitto_;
};
MosquittoProcess* BrokerTest::mosquitto_ = nullptr;

TEST_F(BrokerTest, ServerAccountIsIdempotentAndCanSubscribeSharedAndPlain) {
  auto a = admin();
  ASSERT_TRUE(a->ensure_server_account()) << "first";
  auto again = a->ensure_server_account();
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_TRUE(a->ping());

  MqttClient server("server-probe");
  ASSERT_EQ(server.connect(mosquitto_->port(), config().username, config().password), 0);
  EXPECT_TRUE(server.subscribe(std::string(broker::kAllSensorTopics)));
  for (const auto& filter : broker::sensor_topic_filters("g1"))
    EXPECT_TRUE(server.subscribe(filter)) << filter;
}

TEST_F(BrokerTest, SensorPublishesOnlyUnderItsOwnTopics) {
  auto a = admin();
  ASSERT_TRUE(a->ensure_server_account());
  ASSERT_TRUE(a->create_sensor_account("s1", "pw-s1-secret"));
  ASSERT_TRUE(a->create_sensor_account("s2", "pw-s2-secret"));

  MqttClient watcher("watcher");
  ASSERT_EQ(watcher.connect(mosquitto_->port(), config().username, config().password), 0);
  ASSERT_TRUE(watcher.subscribe(std::string(broker::kAllSensorTopics)));

  MqttClient s1("s1");
  ASSERT_EQ(s1.connect(mosquitto_->port(), "s1", "pw-s1-secret"), 0);
  EXPECT_EQ(MqttClient("s1-bad").connect(mosquitto_->port(), "s1", "wrong"), 5);
  // Spoofing s2's topic is acknowledged (MQTT 3.1.1) but dropped by the broker.
  ASSERT_TRUE(s1.publish(broker::sensor_topic("s2", broker::TopicKind::threats), "spoofed"));
  ASSERT_TRUE(s1.publish(broker::sensor_topic("s1", broker::TopicKind::threats), "genuine"));
  auto m = watcher.next_message(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->topic, broker::sensor_topic("s1", broker::TopicKind::threats));
  EXPECT_EQ(m->payload, "genuine");
  EXPECT_FALSE(watcher.next_message(300ms)) << "the spoofed message got through";
}

TEST_F(BrokerTest, SensorReadsOnlyItsOwnControlTopics) {
  auto a = admin();
  ASSERT_TRUE(a->create_sensor_account("s3", "pw-s3-secret"));
  MqttClient s3("s3");
  ASSERT_EQ(s3.connect(mosquitto_->port(), "s3", "pw-s3-secret"), 0);
  ASSERT_TRUE(s3.subscribe(broker::control_topic("s3")));
  ASSERT_TRUE(s3.subscribe(broker::dashboard_command_topic("s3")));
  ASSERT_TRUE(s3.subscribe(broker::control_topic("s4")));  // SUBACK comes back, with a refusal code

  ASSERT_TRUE(a->ensure_server_account());
  MqttClient server("server-publisher");
  ASSERT_EQ(server.connect(mosquitto_->port(), config().username, config().password), 0);
  ASSERT_TRUE(server.publish(broker::control_topic("s4"), "not yours"));
  ASSERT_TRUE(server.publish(broker::dashboard_command_topic("s3"), "yours"));
  auto m = s3.next_message(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->topic, broker::dashboard_command_topic("s3"));
  EXPECT_FALSE(s3.next_message(300ms));
}

TEST_F(BrokerTest, DisabledAndDeletedSensorsCannotConnect) {
  auto a = admin();
  ASSERT_TRUE(a->create_sensor_account("s5", "pw-s5-secret"));
  EXPECT_EQ(MqttClient("s5").connect(mosquitto_->port(), "s5", "pw-s5-secret"), 0);
  ASSERT_TRUE(a->set_sensor_enabled("s5", false));
  EXPECT_NE(MqttClient("s5").connect(mosquitto_->port(), "s5", "pw-s5-secret"), 0);
  ASSERT_TRUE(a->set_sensor_enabled("s5", true));
  EXPECT_EQ(MqttClient("s5").connect(mosquitto_->port(), "s5", "pw-s5-secret"), 0);
  ASSERT_TRUE(a->delete_sensor_account("s5"));
  EXPECT_NE(MqttClient("s5").connect(mosquitto_->port(), "s5", "pw-s5-secret"), 0);
  EXPECT_TRUE(a->delete_sensor_account("s5")) << "deleting twice is success";
  // Recreating replaces the old account and its password.
  ASSERT_TRUE(a->create_sensor_account("s5", "new-password"));
  EXPECT_EQ(MqttClient("s5").connect(mosquitto_->port(), "s5", "new-password"), 0);
}

TEST_F(BrokerTest, AccountsSurviveABrokerRestart) {
  auto a = admin();
  ASSERT_TRUE(a->create_sensor_account("s6", "pw-s6-secret"));
  mosquitto_->stop();
  EXPECT_FALSE(a->ping()) << "ping must fail while the broker is down";
  mosquitto_->start();
  EXPECT_EQ(MqttClient("s6").connect(mosquitto_->port(), "s6", "pw-s6-secret"), 0);
}

TEST_F(BrokerTest, WrongAdminPasswordIsUnavailable) {
  auto c = config();
  c.admin_password = "wrong";
  auto a = broker::make_admin(c);
  ASSERT_TRUE(a);
  auto r = (*a)->ping();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
}

}  // namespace
}  // namespace honeyman::testing
