#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

class SensorsTest : public StoreTest {
 protected:
  domain::Sensor find(const std::string& id, Timestamp now = kT0) {
    auto s = store().find_sensor(id, now);
    EXPECT_TRUE(s) << id << ": " << (s ? "" : s.error().message);
    return s ? *s : domain::Sensor{};
  }
};

void expect_same_sensor(const domain::Sensor& a, const domain::Sensor& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.sensor_id, b.sensor_id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.is_active, b.is_active);
  EXPECT_EQ(a.last_heartbeat, b.last_heartbeat);
  EXPECT_EQ(a.last_seen, b.last_seen);
  EXPECT_EQ(a.latitude, b.latitude);
  EXPECT_EQ(a.longitude, b.longitude);
  EXPECT_EQ(a.location_accuracy, b.location_accuracy);
  EXPECT_EQ(a.location_method, b.location_method);
  EXPECT_EQ(a.city, b.city);
  EXPECT_EQ(a.country, b.country);
  EXPECT_EQ(a.enabled_detectors, b.enabled_detectors);
  EXPECT_EQ(a.transport_protocol, b.transport_protocol);
  EXPECT_EQ(a.capabilities, b.capabilities);
  EXPECT_EQ(a.platform, b.platform);
  EXPECT_EQ(a.architecture, b.architecture);
  EXPECT_EQ(a.agent_version, b.agent_version);
  EXPECT_EQ(a.python_version, b.python_version);
  EXPECT_EQ(a.total_threats_detected, b.total_threats_detected);
  EXPECT_EQ(a.last_threat_at, b.last_threat_at);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.registered_at, b.registered_at);
}

TEST_P(SensorsTest, CreateAndFindRoundTripEveryField) {
  auto s = make_sensor("sensor-a");
  s.last_heartbeat = s.last_seen = kT0 + 1s;
  s.last_threat_at = kT0 + 2s;
  s.total_threats_detected = 0;
  auto created = store().create_sensor(s, "key-hash-a");
  ASSERT_TRUE(created) << created.error().message;
  expect_same_sensor(*created, s);
  expect_same_sensor(find("sensor-a"), s);
  EXPECT_EQ(code_of(store().find_sensor("sensor-b", kT0)), Errc::not_found);
}

TEST_P(SensorsTest, NullableFieldsRoundTripAsNull) {
  domain::Sensor bare;
  bare.id = uuid_v4();
  bare.sensor_id = "bare";
  bare.name = "Bare";
  bare.created_at = bare.updated_at = kT0;
  ASSERT_TRUE(store().create_sensor(bare, ""));
  expect_same_sensor(find("bare"), bare);
}

TEST_P(SensorsTest, DuplicateSensorIdConflicts) {
  ASSERT_TRUE(store().create_sensor(make_sensor("sensor-a"), ""));
  EXPECT_EQ(code_of(store().create_sensor(make_sensor("sensor-a"), "")), Errc::conflict);
}

TEST_P(SensorsTest, ApiKeysFindOnlyActiveSensors) {
  ASSERT_TRUE(store().create_sensor(make_sensor("sensor-a"), "hash-a"));
  ASSERT_TRUE(store().create_sensor(make_sensor("sensor-b"), ""));  // no key: NULL, no clash
  ASSERT_TRUE(store().create_sensor(make_sensor("sensor-c"), ""));
  EXPECT_EQ(store().find_sensor_by_api_key("hash-a").value(), "sensor-a");
  EXPECT_EQ(code_of(store().find_sensor_by_api_key("hash-x")), Errc::not_found);
  EXPECT_EQ(code_of(store().find_sensor_by_api_key("")), Errc::not_found);

  ASSERT_TRUE(store().set_sensor_api_key("sensor-a", "hash-a2"));
  EXPECT_EQ(code_of(store().find_sensor_by_api_key("hash-a")), Errc::not_found);
  EXPECT_EQ(store().find_sensor_by_api_key("hash-a2").value(), "sensor-a");
  EXPECT_EQ(code_of(store().set_sensor_api_key("ghost", "hash-g")), Errc::not_found);

  domain::SensorUpdate disable;
  disable.is_active = false;
  ASSERT_TRUE(store().update_sensor("sensor-a", disable, kT0 + 1min));
  EXPECT_EQ(code_of(store().find_sensor_by_api_key("hash-a2")), Errc::not_found);

  ASSERT_TRUE(store().set_sensor_api_key("sensor-b", "hash-b"));
  ASSERT_TRUE(store().set_sensor_api_key("sensor-b", ""));
  EXPECT_EQ(code_of(store().find_sensor_by_api_key("hash-b")), Errc::not_found);
}

TEST_P(SensorsTest, UpdateChangesOnlyPresentFields) {
  auto s = make_sensor("sensor-a");
  ASSERT_TRUE(store().create_sensor(s, ""));
  domain::SensorUpdate u;
  u.name = "Renamed";
  u.description = std::optional<std::string>();  // explicit null clears
  u.latitude = 48.85;
  u.longitude = 2.35;
  u.enabled_detectors = std::vector<std::string>{"wifi"};
  auto updated = store().update_sensor("sensor-a", u, kT0 + 1h);
  ASSERT_TRUE(updated) << updated.error().message;
  s.name = "Renamed";
  s.description.reset();
  s.latitude = 48.85;
  s.longitude = 2.35;
  s.enabled_detectors = {"wifi"};
  s.updated_at = kT0 + 1h;
  expect_same_sensor(*updated, s);
  expect_same_sensor(find("sensor-a"), s);
  EXPECT_EQ(code_of(store().update_sensor("ghost", u, kT0)), Errc::not_found);
}

TEST_P(SensorsTest, DeleteRemovesSensorAndKeyButKeepsThreats) {
  ASSERT_TRUE(store().create_sensor(make_sensor("sensor-a"), "hash-a"));
  auto stored = insert(store(), {make_threat({})});
  ASSERT_EQ(stored.size(), 1u);
  ASSERT_TRUE(store().delete_sensor("sensor-a"));
  EXPECT_EQ(code_of(store().find_sensor("sensor-a", kT0)), Errc::not_found);
  EXPECT_EQ(code_of(store().find_sensor_by_api_key("hash-a")), Errc::not_found);
  EXPECT_EQ(code_of(store().delete_sensor("sensor-a")), Errc::not_found);
  EXPECT_EQ(code_of(store().find_threat(stored[0].id)), Errc::ok);
}

TEST_P(SensorsTest, HeartbeatsUpdateKnownSensorsAndReturnUnknownOnes) {
  add_sensors(store(), {"sensor-a", "sensor-b"});
  domain::Heartbeat a{.sensor_id = "sensor-a", .timestamp = kT0 + 10s};
  a.latitude = 40.0;
  a.longitude = -3.7;
  a.location_method = "gps";
  a.location_accuracy = 4.0;
  a.enabled_detectors = std::vector<std::string>{"usb", "wifi", "ble"};
  domain::Heartbeat older{.sensor_id = "sensor-a", .timestamp = kT0 + 5s};  // delayed, no place
  domain::Heartbeat b{.sensor_id = "sensor-b", .timestamp = kT0 + 7s};
  domain::Heartbeat ghost{.sensor_id = "ghost", .timestamp = kT0};
  auto unknown = store().record_heartbeats({a, older, ghost, b});
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_EQ(*unknown, std::vector<std::string>{"ghost"});

  auto sa = find("sensor-a");
  EXPECT_EQ(sa.last_heartbeat, kT0 + 10s);  // never moves backwards
  EXPECT_EQ(sa.last_seen, kT0 + 10s);
  EXPECT_EQ(sa.latitude, 40.0);
  EXPECT_EQ(sa.longitude, -3.7);
  EXPECT_EQ(sa.location_method, "gps");
  EXPECT_EQ(sa.location_accuracy, 4.0);
  EXPECT_EQ(sa.enabled_detectors, (std::vector<std::string>{"usb", "wifi", "ble"}));
  auto sb = find("sensor-b");
  EXPECT_EQ(sb.last_heartbeat, kT0 + 7s);
  EXPECT_EQ(sb.latitude, 52.52);  // absent location leaves the stored one
  EXPECT_EQ(sb.enabled_detectors, (std::vector<std::string>{"usb", "ble"}));
}

TEST_P(SensorsTest, OfflineHeartbeatMarksTheSensorOffline) {
  add_sensors(store(), {"sensor-a"});
  domain::Heartbeat online{.sensor_id = "sensor-a", .timestamp = kT0 + 10s};
  domain::Heartbeat stale_offline{
      .sensor_id = "sensor-a", .timestamp = kT0 + 5s, .is_online = false};
  ASSERT_TRUE(store().record_heartbeats({online, stale_offline}));
  EXPECT_EQ(find("sensor-a").last_seen, kT0 + 10s);  // an older "offline" changes nothing
  domain::Heartbeat offline{.sensor_id = "sensor-a", .timestamp = kT0 + 20s, .is_online = false};
  ASSERT_TRUE(store().record_heartbeats({offline}));
  auto s = find("sensor-a");
  EXPECT_EQ(s.last_heartbeat, kT0 + 20s);
  EXPECT_EQ(s.last_seen, std::nullopt);
}

TEST_P(SensorsTest, RegistrationUpdatesPlatformCapabilitiesAndVersion) {
  auto s = make_sensor("sensor-a");
  s.registered_at.reset();
  ASSERT_TRUE(store().create_sensor(s, ""));
  domain::Registration r{.sensor_id = "sensor-a",
                         .sensor_name = "Ignored",
                         .platform = "rpi5",
                         .agent_version = "3.0.0",
                         .capabilities = boost::json::object{{"airdrop", true}}};
  ASSERT_TRUE(store().apply_registration(r, kT0 + 1h));
  auto after = find("sensor-a");
  EXPECT_EQ(after.platform, "rpi5");
  EXPECT_EQ(after.agent_version, "3.0.0");
  EXPECT_EQ(after.capabilities, (boost::json::object{{"airdrop", true}}));
  EXPECT_EQ(after.name, s.name);
  EXPECT_EQ(after.registered_at, kT0 + 1h);
  ASSERT_TRUE(store().apply_registration(domain::Registration{.sensor_id = "sensor-a"}, kT0 + 2h));
  after = find("sensor-a");
  EXPECT_EQ(after.registered_at, kT0 + 1h);  // first registration kept
  EXPECT_EQ(after.platform, "rpi5");         // absent fields kept
  EXPECT_EQ(after.capabilities, (boost::json::object{{"airdrop", true}}));
  EXPECT_EQ(code_of(store().apply_registration(domain::Registration{.sensor_id = "ghost"}, kT0)),
            Errc::not_found);
}

HONEYMAN_STORE_SUITE(SensorsTest);

}  // namespace
}  // namespace honeyman::store::testing
