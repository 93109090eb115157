// Heartbeats (both shapes) and registration messages.
#include "domain/domain_test_support.hpp"

namespace honeyman::domain {
namespace {
using namespace test_support;

Result<Heartbeat> heartbeat(std::string_view text, std::optional<std::string> auth = kSensor) {
  return normalize_heartbeat(json::parse(text), context(std::move(auth)));
}

TEST(AgentHeartbeat, NormalisesTheSample) {
  auto hb = normalize_heartbeat(wire("agent-heartbeat.json"), context(kSensor));
  ASSERT_EQ(errors_of(hb), Strings{"ok"});
  EXPECT_EQ(hb->sensor_id, kSensor);
  EXPECT_EQ(format_timestamp(hb->timestamp), "2026-08-08T14:06:00.000101Z");
  EXPECT_TRUE(hb->is_online);
  ASSERT_TRUE(hb->enabled_detectors);
  EXPECT_EQ(*hb->enabled_detectors, (Strings{"ble", "usb"}));
  EXPECT_EQ(to_json_text(hb->system_info),
            R"({"cpu_percent":12.5,"memory_percent":41.2,"disk_percent":63.0,"uptime":86400.5})");
  EXPECT_FALSE(hb->latitude);
}

TEST(AgentHeartbeat, NeedsASensorIdFromSomewhere) {
  EXPECT_EQ(errors_of(normalize_heartbeat(wire("agent-heartbeat.json"), context())),
            Strings{"body/sensor_id:missing"});
  auto hb = heartbeat(R"({"sensor_id": "pi-2", "status": "online"})", std::nullopt);
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb->sensor_id, "pi-2");
}

TEST(AgentHeartbeat, OnlyRunningDetectorsAreEnabled) {
  auto hb = heartbeat(R"({"status": "offline", "detectors": {"ble": {"running": false},
                          "usb": {"running": true}, "wifi": {}}})");
  ASSERT_TRUE(hb);
  EXPECT_FALSE(hb->is_online);
  EXPECT_EQ(hb->enabled_detectors, (Strings{"usb"}));
  EXPECT_EQ(hb->timestamp, kNow);
}

TEST(AgentHeartbeat, WithoutDetectorsLeavesThemUnchanged) {
  auto hb = heartbeat(R"({"status": "online", "uptime": 5})");
  ASSERT_TRUE(hb);
  EXPECT_FALSE(hb->enabled_detectors);
  EXPECT_EQ(to_json_text(hb->system_info), R"({"uptime":5})");
}

TEST(AgentHeartbeat, RefusesBadFields) {
  EXPECT_EQ(errors_of(heartbeat(R"({"status": "sleeping"})")), Strings{"body/status:enum"});
  EXPECT_EQ(errors_of(heartbeat(R"({"status": true})")), Strings{"body/status:enum"});
  EXPECT_EQ(errors_of(heartbeat(R"({"metrics": {"cpu_percent": "high"}})")),
            Strings{"body/metrics/cpu_percent:float_type"});
  EXPECT_EQ(errors_of(heartbeat(R"({"metrics": {"disk_percent": 101}})")),
            Strings{"body/metrics/disk_percent:less_than_equal"});
  EXPECT_EQ(errors_of(heartbeat(R"({"metrics": [1]})")), Strings{"body/metrics:dict_type"});
  EXPECT_EQ(errors_of(heartbeat(R"({"uptime": -1})")), Strings{"body/uptime:greater_than_equal"});
  EXPECT_EQ(errors_of(heartbeat(R"({"detectors": {"ble": {"running": "yes"}}})")),
            Strings{"body/detectors/ble/running:bool_type"});
  EXPECT_EQ(errors_of(heartbeat(R"({"detectors": {"ble": true}})")),
            Strings{"body/detectors/ble:dict_type"});
  EXPECT_EQ(errors_of(heartbeat(R"({"status": "online", "is_online": true})")),
            Strings{"body/is_online:extra_forbidden"});
}

TEST(CanonicalHeartbeat, NormalisesTheSample) {
  auto hb = normalize_heartbeat(wire("canonical-heartbeat.json"), context());
  ASSERT_EQ(errors_of(hb), Strings{"ok"});
  EXPECT_EQ(hb->sensor_id, kSensor);
  EXPECT_EQ(format_timestamp(hb->timestamp), "2026-08-08T14:09:00.000000Z");
  EXPECT_TRUE(hb->is_online);
  EXPECT_EQ(hb->enabled_detectors, (Strings{"ble", "usb", "network"}));
  EXPECT_EQ(hb->system_info.at("cpu_percent"), 9.1);
  EXPECT_EQ(hb->latitude, 36.1147);
  EXPECT_EQ(hb->longitude, -115.1728);
  EXPECT_EQ(hb->location_method, "gps");
  EXPECT_EQ(hb->location_accuracy, 8.0);
}

TEST(CanonicalHeartbeat, DefaultsAndSensorIdRules) {
  auto hb = heartbeat(R"({"is_online": false})");
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb->timestamp, kNow);
  EXPECT_FALSE(hb->is_online);
  EXPECT_FALSE(hb->enabled_detectors);
  auto spoofed = normalize_heartbeat(wire("canonical-heartbeat.json"), context("pi-9"));
  ASSERT_FALSE(spoofed);
  EXPECT_EQ(spoofed.error().code, Errc::forbidden);
  EXPECT_EQ(errors_of(heartbeat(R"({"sensor_id": "a+b"})")),
            Strings{"body/sensor_id:string_pattern_mismatch"});
}

TEST(CanonicalHeartbeat, RefusesBadFields) {
  EXPECT_EQ(errors_of(heartbeat(R"({"timestamp": "2026-08-10T00:00:00Z"})")),
            Strings{"body/timestamp:value_error"});
  EXPECT_EQ(errors_of(heartbeat(R"({"timestamp": "soon"})")),
            Strings{"body/timestamp:datetime_parsing"});
  EXPECT_EQ(errors_of(heartbeat(R"({"is_online": 1})")), Strings{"body/is_online:bool_type"});
  EXPECT_EQ(errors_of(heartbeat(R"({"enabled_detectors": ["ble", 2]})")),
            Strings{"body/enabled_detectors/1:string_type"});
  EXPECT_EQ(errors_of(heartbeat(R"({"location": {"latitude": 100, "longitude": 0}})")),
            Strings{"body/location/latitude:less_than_equal"});
  EXPECT_EQ(errors_of(heartbeat(R"({"location": {"latitude": 1}})")),
            Strings{"body/location:value_error"});
  EXPECT_EQ(errors_of(heartbeat(R"({"location": {"lat": 1, "lon": 2}})")),
            (Strings{"body/location/lat:extra_forbidden", "body/location/lon:extra_forbidden"}));
  EXPECT_EQ(errors_of(heartbeat(R"({"system_info": "pi"})")),
            Strings{"body/system_info:dict_type"});
  EXPECT_EQ(errors_of(heartbeat(R"({"hostname": "pi"})")),
            Strings{"body/hostname:extra_forbidden"});
  EXPECT_EQ(errors_of(heartbeat("[]")), Strings{"body:dict_type"});
}

TEST(Registration, NormalisesTheSample) {
  auto reg = normalize_registration(wire("agent-registration.json"), context(kSensor));
  ASSERT_EQ(errors_of(reg), Strings{"ok"});
  EXPECT_EQ(reg->sensor_id, kSensor);
  EXPECT_EQ(reg->sensor_name, "DefCon-Portable");
  EXPECT_EQ(reg->platform, "rpi5");
  EXPECT_EQ(reg->agent_version, "2.0.0");
  EXPECT_EQ(reg->capabilities.at("ble"), true);
  EXPECT_EQ(reg->capabilities.at("wifi"), false);
}

TEST(Registration, AgentVersionWinsOverVersion) {
  auto reg = normalize_registration(
      json::parse(R"({"sensor_id": "pi-1", "version": "1.0", "agent_version": "2.1"})"), context());
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->agent_version, "2.1");
  EXPECT_TRUE(reg->capabilities.empty());
}

TEST(Registration, RefusesBadInput) {
  auto reg = [](std::string_view text) {
    return errors_of(normalize_registration(json::parse(text), context(kSensor)));
  };
  EXPECT_EQ(reg(R"({"type": "threats"})"), Strings{"body/type:literal_error"});
  EXPECT_EQ(reg(R"({"capabilities": ["ble"]})"), Strings{"body/capabilities:dict_type"});
  EXPECT_EQ(reg(R"({"platform": 5})"), Strings{"body/platform:string_type"});
  EXPECT_EQ(reg(R"({"sensor_name": )" + std::string("\"") + std::string(257, 'n') + "\"}"),
            Strings{"body/sensor_name:string_too_long"});
  EXPECT_EQ(reg(R"({"arch": "arm64"})"), Strings{"body/arch:extra_forbidden"});
  EXPECT_EQ(reg(R"({"sensor_id": "pi/#"})"), Strings{"body/sensor_id:string_pattern_mismatch"});
  EXPECT_EQ(errors_of(normalize_registration(wire("agent-registration.json"), context("pi-2"))),
            Strings{"<sensor_id 'rpi5-defcon-01' in the payload does not match the authenticated "
                    "sensor 'pi-2'>"});
  EXPECT_EQ(errors_of(normalize_registration(json::parse("{}"), context())),
            Strings{"body/sensor_id:missing"});
}

}  // namespace
}  // namespace honeyman::domain
