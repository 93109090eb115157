// Normalisation of the threat wire samples and of threat arrays.
#include <algorithm>

#include "domain/domain_test_support.hpp"

namespace honeyman::domain {
namespace {
using namespace test_support;

bool is_uuid_v7(const std::string& id) {
  return normalize_uuid(id) == id && id[14] == '7';
}

TEST(AgentThreat, NormalisesTheBleSample) {
  auto t = normalize_threat(wire("agent-threat.json"), context(kSensor));
  ASSERT_EQ(errors_of(t), Strings{"ok"});
  EXPECT_TRUE(is_uuid_v7(t->id)) << t->id;
  EXPECT_EQ(t->created_at, kNow);
  EXPECT_EQ(format_timestamp(t->timestamp), "2026-08-08T14:03:27.512904Z");
  EXPECT_EQ(t->sensor_id, kSensor);
  EXPECT_EQ(t->threat_type, "flipper_zero");
  EXPECT_EQ(t->detector_type, "ble");
  EXPECT_EQ(t->severity, Severity::critical);
  EXPECT_DOUBLE_EQ(t->threat_score, 0.82);
  EXPECT_EQ(t->latitude, 36.1147);
  EXPECT_EQ(t->longitude, -115.1728);
  EXPECT_EQ(t->city, "Las Vegas");
  EXPECT_EQ(t->country, "US");
  EXPECT_EQ(to_json_text(t->matched_rules),
            R"([{"name":"Flipper Zero BLE Detection"},{"name":"BLE Spam Burst"}])");
  EXPECT_FALSE(t->confidence);
  EXPECT_FALSE(t->is_acknowledged);
}

TEST(AgentThreat, KeepsRawDataMessageMetadataAndGeolocationInRawEvent) {
  auto t = normalize_threat(wire("agent-threat.json"), context(kSensor));
  ASSERT_TRUE(t);
  const json::object& raw = t->raw_event;
  for (const char* key : {"device_name", "mac_address", "rssi", "service_uuid", "manufacturer_id"})
    EXPECT_TRUE(raw.contains(key)) << key;
  EXPECT_EQ(raw.at("rssi"), -58);
  EXPECT_EQ(raw.at("message"),
            "Flipper Zero BLE Detection: device 'FZ-Unleashed' advertising fff0");
  EXPECT_EQ(to_json_text(raw.at("metadata")),
            R"({"detector_version":"2.0.0","event_count":1432,"threat_count":17})");
  EXPECT_EQ(raw.at("geolocation").at("accuracy"), 35.0);
  EXPECT_EQ(raw.at("geolocation").at("source"), "wifi");
}

TEST(AgentThreat, LiftsDeviceFieldsFromRawData) {
  auto t = normalize_threat(wire("agent-threat.json"), context(kSensor));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->device_name, "FZ-Unleashed");
  EXPECT_EQ(t->device_mac, "80:E1:26:3A:11:9C");
  EXPECT_FALSE(t->src_host);
  EXPECT_FALSE(t->dst_port);
}

TEST(AgentThreat, NormalisesTheUsbSampleWithoutLocation) {
  auto t = normalize_threat(wire("agent-threat-nolocation.json"), context());
  ASSERT_EQ(errors_of(t), Strings{"ok"});
  EXPECT_EQ(t->detector_type, "usb");
  EXPECT_EQ(t->severity, Severity::low);
  EXPECT_EQ(t->threat_type, "rubber_ducky");
  EXPECT_FALSE(t->latitude);
  EXPECT_FALSE(t->longitude);
  EXPECT_FALSE(t->city);
  EXPECT_FALSE(t->raw_event.contains("geolocation"));
  EXPECT_EQ(t->raw_event.at("keystroke_rate"), 950);
  EXPECT_EQ(t->raw_event.at("metadata").at("event_count"), 12);
  EXPECT_FALSE(t->device_name);
}

TEST(AgentThreat, NormalisesTheHttpBatchItems) {
  json::value batch = wire("agent-http-batch.json");
  auto threats = normalize_threats(batch.at("data"), context(kSensor), {"body", "data"});
  ASSERT_EQ(errors_of(threats), Strings{"ok"});
  ASSERT_EQ(threats->size(), 1u);
  const Threat& t = threats->front();
  EXPECT_EQ(t.detector_type, "network");
  EXPECT_EQ(t.severity, Severity::high);
  EXPECT_EQ(t.threat_type, "ssh_brute_force");
  EXPECT_EQ(t.src_host, "10.0.0.23");
  EXPECT_EQ(t.dst_port, 22);
  EXPECT_EQ(t.raw_event.at("attempts"), 48);
  EXPECT_EQ(to_json_text(t.matched_rules), R"([{"name":"SSH Brute Force"}])");
}

TEST(AgentThreat, MapsDetectorClassNames) {
  const std::pair<const char*, const char*> cases[] = {
      {"BleDetector", "ble"},         {"UsbDetector", "usb"},
      {"WifiDetector", "wifi"},       {"NetworkDetector", "network"},
      {"AirDropDetector", "airdrop"}, {"AirdropDetector", "airdrop"},
      {"ZigbeeDetector", "zigbee"},   {"LoRa", "lora"}};
  for (auto [source, detector] : cases) {
    json::object p = wire_object("agent-threat-nolocation.json");
    p["source"] = source;
    auto t = normalize_threat(p, context());
    ASSERT_TRUE(t) << source;
    EXPECT_EQ(t->detector_type, detector) << source;
  }
}

TEST(CanonicalThreat, NormalisesTheSample) {
  auto t = normalize_threat(wire("canonical-threat.json"), context(kSensor));
  ASSERT_EQ(errors_of(t), Strings{"ok"});
  EXPECT_EQ(format_timestamp(t->timestamp), "2026-08-08T14:08:45.000000Z");
  EXPECT_EQ(t->threat_type, "wifi_evil_twin");
  EXPECT_EQ(t->detector_type, "wifi");
  EXPECT_EQ(t->severity, Severity::high);
  EXPECT_EQ(t->device_name, "FreeConferenceWiFi");
  EXPECT_EQ(t->device_mac, "02:11:22:33:44:55");
  EXPECT_EQ(t->latitude, 36.1147);
  EXPECT_EQ(t->longitude, -115.1728);
  EXPECT_EQ(t->confidence, 0.9);
  EXPECT_DOUBLE_EQ(t->threat_score, 0.74);
  EXPECT_EQ(t->matched_rules.at(0).at("rule_id"), "wifi_evil_twin_001");
  EXPECT_EQ(t->raw_event.at("channel"), 6);
  EXPECT_EQ(t->mitre_tactics, Strings{"TA0006"});
  EXPECT_EQ(t->mitre_techniques, Strings{"T1557"});
  EXPECT_FALSE(t->src_port);
}

TEST(CanonicalThreat, AppliesDefaultsAndCaseRules) {
  json::value p = json::parse(R"({"threat_type": "t", "detector_type": "BLE", "severity": "HIGH",
                                  "matched_rules": ["Rule A", {"name": "Rule B"}]})");
  auto t = normalize_threat(p, context(kSensor));
  ASSERT_EQ(errors_of(t), Strings{"ok"});
  EXPECT_EQ(t->timestamp, kNow);
  EXPECT_EQ(t->threat_score, 0.0);
  EXPECT_EQ(t->detector_type, "ble");
  EXPECT_EQ(t->severity, Severity::high);
  EXPECT_EQ(to_json_text(t->matched_rules), R"([{"name":"Rule A"},{"name":"Rule B"}])");
}

TEST(CanonicalThreat, AcceptsNullForOptionalFields) {
  json::object p = wire_object("canonical-threat.json");
  for (const char* key : {"device_name", "latitude", "src_port", "confidence", "raw_event"})
    p[key] = nullptr;
  auto t = normalize_threat(p, context());
  ASSERT_EQ(errors_of(t), Strings{"ok"});
  EXPECT_FALSE(t->device_name);
  EXPECT_FALSE(t->latitude);
  EXPECT_TRUE(t->raw_event.empty());
}

TEST(Threat, WithoutMessageBytesEachCallGetsAFreshId) {
  auto a = normalize_threat(wire("canonical-threat.json"), context());
  auto b = normalize_threat(wire("canonical-threat.json"), context());
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->id, b->id);
}

TEST(ThreatSensorId, IsTakenFromTheContextWhenAbsent) {
  json::object p = wire_object("agent-threat.json");
  p.erase("sensor_id");
  auto t = normalize_threat(p, context("pi-7"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->sensor_id, "pi-7");
}

TEST(ThreatSensorId, IsRequiredWithoutAnAuthenticatedSensor) {
  json::object p = wire_object("canonical-threat.json");
  p.erase("sensor_id");
  EXPECT_EQ(errors_of(normalize_threat(p, context())), Strings{"body/sensor_id:missing"});
}

TEST(ThreatSensorId, ASpoofedIdIsForbidden) {
  for (const char* sample : {"agent-threat.json", "canonical-threat.json"}) {
    auto t = normalize_threat(wire(sample), context("other-sensor"));
    ASSERT_FALSE(t) << sample;
    EXPECT_EQ(t.error().code, Errc::forbidden);
    EXPECT_EQ(t.error().message,
              "sensor_id 'rpi5-defcon-01' in the payload does not match the authenticated "
              "sensor 'other-sensor'");
  }
}

TEST(ThreatSensorId, ASpoofedIdOutranksFieldErrors) {
  json::object p = wire_object("canonical-threat.json");
  p["threat_score"] = 7;
  auto t = normalize_threat(p, context("other-sensor"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::forbidden);
}

TEST(ThreatFormat, AnAgentOnlyKeySelectsTheAgentFormat) {
  json::object p = wire_object("canonical-threat.json");
  p["source"] = "WifiDetector";
  auto errors = errors_of(normalize_threat(p, context()));
  EXPECT_NE(std::find(errors.begin(), errors.end(), "body/detector_type:extra_forbidden"),
            errors.end());
  EXPECT_NE(std::find(errors.begin(), errors.end(), "body/risk_level:missing"), errors.end());
}

TEST(ThreatFormat, RefusesANonObject) {
  EXPECT_EQ(errors_of(normalize_threat(json::parse("[1]"), context())), Strings{"body:dict_type"});
  EXPECT_EQ(errors_of(normalize_threat(json::parse("\"x\""), context())),
            Strings{"body:dict_type"});
}

TEST(ThreatArray, NormalisesEveryItemInOrder) {
  json::array items{wire("agent-threat.json"), wire("canonical-threat.json")};
  auto threats = normalize_threats(items, context(kSensor));
  ASSERT_EQ(errors_of(threats), Strings{"ok"});
  ASSERT_EQ(threats->size(), 2u);
  EXPECT_EQ((*threats)[0].detector_type, "ble");
  EXPECT_EQ((*threats)[1].detector_type, "wifi");
  EXPECT_NE((*threats)[0].id, (*threats)[1].id);
}

TEST(ThreatArray, ASingleObjectGivesOneThreat) {
  auto threats = normalize_threats(wire("canonical-threat.json"), context());
  ASSERT_TRUE(threats);
  EXPECT_EQ(threats->size(), 1u);
}

TEST(ThreatArray, ReportsErrorsOfAllItemsWithTheirIndex) {
  json::object bad_score = wire_object("canonical-threat.json");
  bad_score["threat_score"] = 2;
  json::object bad_port = wire_object("agent-threat.json");
  bad_port["risk_level"] = "severe";
  json::array items{wire("canonical-threat.json"), bad_score, bad_port, 5};
  EXPECT_EQ(errors_of(normalize_threats(items, context(), {"body", "data"})),
            (Strings{"body/data/1/threat_score:less_than_equal", "body/data/2/risk_level:enum",
                     "body/data/3:dict_type"}));
}

TEST(ThreatArray, ASpoofedItemWinsOverInvalidOnes) {
  json::object bad = wire_object("canonical-threat.json");
  bad["latitude"] = 300;
  json::object spoofed = wire_object("canonical-threat.json");
  spoofed["sensor_id"] = "someone-else";
  auto threats = normalize_threats(json::array{bad, spoofed}, context(kSensor));
  ASSERT_FALSE(threats);
  EXPECT_EQ(threats.error().code, Errc::forbidden);
}

TEST(ThreatArray, RefusesAnEmptyArray) {
  EXPECT_EQ(errors_of(normalize_threats(json::array{}, context())), Strings{"body:too_short"});
}

TEST(ThreatArray, AcceptsTheMaximumAndRefusesOneMore) {
  json::array items(kMaxThreatsPerPayload, wire("canonical-threat.json"));
  auto full = normalize_threats(items, context());
  ASSERT_EQ(errors_of(full), Strings{"ok"});
  EXPECT_EQ(full->size(), kMaxThreatsPerPayload);
  items.push_back(wire("canonical-threat.json"));
  EXPECT_EQ(errors_of(normalize_threats(items, context())), Strings{"body:too_long"});
}

TEST(ThreatArray, RefusesAScalar) {
  EXPECT_EQ(errors_of(normalize_threats(json::value(3), context())), Strings{"body:dict_type"});
}

}  // namespace
}  // namespace honeyman::domain
