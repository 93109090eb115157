#include "service/service_test_support.hpp"

namespace honeyman::service::test_support {

class SensorServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    if (HasFatalFailure()) return;
    auth::AuthConfig config;
    config.secret_key = "test-secret-key";
    auth_ = std::make_unique<auth::AuthService>(config, *store_, clock_);
  }

  SensorService service(broker::Admin* admin) {
    return SensorService(*store_, clock_, kHeartbeat, admin, auth_.get());
  }

  static domain::SensorUpdate active(bool on) {
    domain::SensorUpdate u;
    u.is_active = on;
    return u;
  }

  bool is_active(const std::string& sensor_id) {
    auto s = store_->find_sensor(sensor_id, clock_.now());
    EXPECT_TRUE(s);
    return s && s->is_active;
  }

  // The sensor this instance accepts `api_key` for, or "" when it refuses it.
  std::string authenticated(const std::string& api_key) {
    auto owner = auth_->authenticate_api_key(api_key);
    return owner ? *owner : std::string();
  }

  static constexpr std::chrono::seconds kHeartbeat{60};
  std::unique_ptr<auth::AuthService> auth_;
};

TEST_F(SensorServiceTest, DeactivationDisablesTheBrokerAccountFirst) {
  plant_sensor("rpi-01");
  // At each broker call the row still holds the state from before the change.
  admin_.on_call = [&](const std::string& call) {
    EXPECT_EQ(is_active("rpi-01"), call.starts_with("disable")) << call;
  };
  auto sensors = service(&admin_);
  auto updated = sensors.update("rpi-01", active(false), kBy);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_FALSE(updated->is_active);
  EXPECT_FALSE(is_active("rpi-01"));
  ASSERT_TRUE(sensors.update("rpi-01", active(true), kBy));
  EXPECT_EQ(admin_.calls, (std::vector<std::string>{"disable rpi-01", "enable rpi-01"}));
}

TEST_F(SensorServiceTest, BrokerFailureLeavesTheSensorUnchanged) {
  plant_sensor("rpi-01");
  admin_.fail = true;
  auto failed = service(&admin_).update("rpi-01", active(false), kBy);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::unavailable);
  EXPECT_EQ(failed.error().message,
            "cannot update the sensor's broker account: broker unreachable");
  EXPECT_TRUE(is_active("rpi-01"));
}

TEST_F(SensorServiceTest, UpdatesWithoutIsActiveLeaveTheBrokerAlone) {
  plant_sensor("rpi-01");
  domain::SensorUpdate rename;
  rename.name = "Hall";
  auto updated = service(&admin_).update("rpi-01", rename, kBy);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->name, "Hall");
  EXPECT_TRUE(admin_.calls.empty());
}

TEST_F(SensorServiceTest, UnknownSensorsAreNotFoundWithoutBrokerCalls) {
  auto sensors = service(&admin_);
  auto update = sensors.update("ghost", active(false), kBy);
  ASSERT_FALSE(update);
  EXPECT_EQ(update.error().code, Errc::not_found);
  auto removed = sensors.remove("ghost", kBy);
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, Errc::not_found);
  EXPECT_TRUE(admin_.calls.empty());
  EXPECT_EQ(service(nullptr).remove("ghost", kBy).error().code, Errc::not_found);
}

TEST_F(SensorServiceTest, RemoveDeletesTheBrokerAccountFirst) {
  plant_sensor("rpi-01");
  auto sensors = service(&admin_);
  admin_.fail = true;
  auto failed = sensors.remove("rpi-01", kBy);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::unavailable);
  EXPECT_TRUE(sensor_exists("rpi-01"));  // nothing deleted: the call can be retried

  admin_.fail = false;
  admin_.on_call = [&](const std::string&) { EXPECT_TRUE(sensor_exists("rpi-01")); };
  ASSERT_TRUE(sensors.remove("rpi-01", kBy));
  EXPECT_FALSE(sensor_exists("rpi-01"));
  EXPECT_EQ(admin_.calls, (std::vector<std::string>{"delete rpi-01", "delete rpi-01"}));
}

// The instance's API-key cache would otherwise accept the key for its cache time.
TEST_F(SensorServiceTest, DeactivatedAndRemovedSensorsKeysStopAtOnce) {
  plant_sensor("rpi-01", "key-1");
  plant_sensor("rpi-02", "key-2");
  ASSERT_TRUE(auth_->authenticate_api_key("key-1"));
  ASSERT_TRUE(auth_->authenticate_api_key("key-2"));
  auto sensors = service(&admin_);
  ASSERT_TRUE(sensors.update("rpi-01", active(false), kBy));
  ASSERT_TRUE(sensors.remove("rpi-02", kBy));
  EXPECT_FALSE(auth_->cached_api_key("key-1"));
  EXPECT_FALSE(auth_->cached_api_key("key-2"));
  EXPECT_FALSE(auth_->authenticate_api_key("key-1"));
  EXPECT_FALSE(auth_->authenticate_api_key("key-2"));
}

TEST_F(SensorServiceTest, AddGivesAnHttpSensorWithAKey) {
  auto sensors = service(nullptr);
  auto added = sensors.add({"rpi-01", "Lobby", std::nullopt}, kBy);
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(added->sensor.transport_protocol, "http");
  EXPECT_EQ(added->sensor.name, "Lobby");
  EXPECT_EQ(authenticated(added->api_key), "rpi-01");
  auto again = sensors.add({"rpi-01", "Other", std::nullopt}, kBy);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
  for (NewSensor bad : {NewSensor{"bad/id", "x", {}}, NewSensor{"ok", "", {}},
                        NewSensor{"ok", std::string(129, 'n'), {}}}) {
    auto refused = sensors.add(bad, kBy);
    ASSERT_FALSE(refused) << bad.sensor_id << " " << bad.name;
    EXPECT_EQ(refused.error().code, Errc::invalid_input);
  }
  EXPECT_FALSE(sensor_exists("ok"));
}

TEST_F(SensorServiceTest, RevokedKeysStopAndReplacementsWork) {
  plant_sensor("rpi-01", "old-key");
  ASSERT_TRUE(auth_->authenticate_api_key("old-key"));
  auto sensors = service(nullptr);
  auto replacement = sensors.revoke_key("rpi-01", true, kBy);
  ASSERT_TRUE(replacement) << replacement.error().message;
  EXPECT_FALSE(auth_->authenticate_api_key("old-key"));
  EXPECT_EQ(authenticated(*replacement), "rpi-01");
  auto none = sensors.revoke_key("rpi-01", false, kBy);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(auth_->authenticate_api_key(*replacement));
  EXPECT_EQ(sensors.revoke_key("ghost", false, kBy).error().code, Errc::not_found);
}

TEST_F(SensorServiceTest, HeartbeatsOfKnownSensorsMakeThemOnline) {
  plant_sensor("rpi-01");
  auto sensors = service(nullptr);
  domain::Heartbeat hb;
  hb.sensor_id = "rpi-01";
  hb.timestamp = clock_.now();
  hb.is_online = true;
  ASSERT_TRUE(sensors.record_heartbeat(hb));
  SensorFilter online;
  online.is_online = true;
  EXPECT_EQ(sensors.list(online).value().total, 1);
  clock_.advance(3 * kHeartbeat + std::chrono::seconds(1));
  EXPECT_EQ(sensors.list(online).value().total, 0);
  EXPECT_EQ(sensors.list({}).value().total, 1);

  hb.sensor_id = "ghost";
  auto unknown = sensors.record_heartbeat(hb);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  EXPECT_EQ(unknown.error().message, "Sensor not found");
}

}  // namespace honeyman::service::test_support
