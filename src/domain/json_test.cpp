// The API's JSON form: exact field sets and order, nulls, times, and no secrets.
#include "domain/domain_test_support.hpp"

namespace honeyman::domain {
namespace {
using namespace test_support;

Threat sample_threat() {
  auto t = normalize_threat(wire("canonical-threat.json"), context());
  EXPECT_TRUE(t);
  return t ? *t : Threat{};
}

TEST(ThreatJson, HasEveryFieldInSpecOrder) {
  const Strings expected{"id",
                         "timestamp",
                         "sensor_id",
                         "threat_type",
                         "detector_type",
                         "severity",
                         "device_name",
                         "device_mac",
                         "device_ip",
                         "src_host",
                         "src_port",
                         "dst_host",
                         "dst_port",
                         "latitude",
                         "longitude",
                         "city",
                         "country",
                         "matched_rules",
                         "confidence",
                         "threat_score",
                         "raw_event",
                         "mitre_tactics",
                         "mitre_techniques",
                         "is_acknowledged",
                         "acknowledged_at",
                         "acknowledged_by",
                         "acknowledgement_notes",
                         "status",
                         "assignee",
                         "created_at",
                         "updated_at"};
  EXPECT_EQ(keys_of(to_json(sample_threat())), expected);
}

TEST(ThreatJson, RendersValuesNullsAndTimes) {
  Threat t = sample_threat();
  json::object o = to_json(t);
  EXPECT_EQ(o.at("id"), json::value(t.id));
  EXPECT_EQ(o.at("timestamp"), "2026-08-08T14:08:45.000000Z");
  EXPECT_EQ(o.at("created_at"), "2026-08-08T15:00:00.000000Z");
  EXPECT_EQ(o.at("severity"), "high");
  EXPECT_EQ(o.at("device_name"), "FreeConferenceWiFi");
  EXPECT_TRUE(o.at("device_ip").is_null());
  EXPECT_TRUE(o.at("src_port").is_null());
  EXPECT_EQ(o.at("latitude"), 36.1147);
  EXPECT_EQ(o.at("confidence"), 0.9);
  EXPECT_EQ(o.at("threat_score"), 0.74);
  EXPECT_EQ(o.at("raw_event").at("ssid"), "FreeConferenceWiFi");
  EXPECT_EQ(to_json_text(o.at("mitre_tactics")), R"(["TA0006"])");
  EXPECT_EQ(o.at("is_acknowledged"), false);
  EXPECT_TRUE(o.at("acknowledged_at").is_null());
  EXPECT_TRUE(o.at("acknowledged_by").is_null());
}

TEST(ThreatJson, RendersAnAcknowledgement) {
  Threat t = sample_threat();
  t.is_acknowledged = true;
  t.acknowledged_at = at("2026-08-08T16:00:00.5Z");
  t.acknowledged_by = "alice";
  t.acknowledgement_notes = "known pentest";
  t.dst_port = 443;
  json::object o = to_json(t);
  EXPECT_EQ(o.at("is_acknowledged"), true);
  EXPECT_EQ(o.at("acknowledged_at"), "2026-08-08T16:00:00.500000Z");
  EXPECT_EQ(o.at("acknowledged_by"), "alice");
  EXPECT_EQ(o.at("acknowledgement_notes"), "known pentest");
  EXPECT_EQ(o.at("dst_port"), 443);
}

// The text form (exports) is the object form written by the one JSON writer, byte for byte:
// with every optional member unset, and with all of them set.
TEST(ThreatJson, TextFormIsTheObjectFormWritten) {
  Threat bare = sample_threat();
  Threat full = sample_threat();
  full.device_name = "Flipper \"Zero\"";
  full.device_mac = "aa:bb:cc:dd:ee:ff";
  full.device_ip = "10.0.0.7";
  full.src_host = "a.example";
  full.dst_host = "b.example";
  full.src_port = 0;
  full.dst_port = 65535;
  full.latitude = -33.8688;
  full.longitude = 1e-05;
  full.city = "Zürich";
  full.country = "CH";
  full.confidence = 0.82;
  full.threat_score = 1.0;
  full.matched_rules = boost::json::array{{{"name", "r1"}}, {{"name", "r2"}}};
  full.raw_event = {{"nested", {{"list", {1, 2.5, "x", nullptr, true}}}}, {"tab", "a\tb"}};
  full.mitre_tactics = {"TA0001"};
  full.mitre_techniques = {"T1200", "T1557.002"};
  full.is_acknowledged = true;
  full.acknowledged_at = full.created_at;
  full.acknowledged_by = "ana";
  full.acknowledgement_notes = "line\nbreak";
  full.status = ThreatStatus::false_positive;
  full.assignee = "ana";
  for (const auto* t : {&bare, &full}) {
    std::string text = "prefix:";
    append_json_text(text, *t);
    EXPECT_EQ(text, "prefix:" + to_json_text(to_json(*t)));
  }
}

TEST(ThreatJson, FeedFormIsCompact) {
  auto t = normalize_threat(wire("agent-threat.json"), context());
  ASSERT_TRUE(t);
  json::object o = to_feed_json(*t);
  EXPECT_EQ(keys_of(o),
            (Strings{"id", "timestamp", "sensor_id", "threat_type", "severity", "detector_type",
                     "threat_score", "device_name", "latitude", "longitude"}));
  EXPECT_EQ(o.at("detector_type"), "ble");
  EXPECT_EQ(o.at("severity"), "critical");
  EXPECT_EQ(o.at("device_name"), "FZ-Unleashed");
  EXPECT_EQ(o.at("longitude"), -115.1728);
  t->latitude.reset();
  t->device_name.reset();
  EXPECT_TRUE(to_feed_json(*t).at("latitude").is_null());
  EXPECT_TRUE(to_feed_json(*t).at("device_name").is_null());
}

Sensor sample_sensor() {
  Sensor s;
  s.id = "0190f3a0-0000-4000-8000-000000000001";
  s.sensor_id = "rpi5-defcon-01";
  s.name = "DefCon-Portable";
  s.enabled_detectors = {"ble", "usb"};
  s.capabilities = json::object{{"ble", true}};
  s.platform = "rpi5";
  s.total_threats_detected = 42;
  s.threats_last_24h = 7;
  s.created_at = at("2026-08-01T00:00:00Z");
  s.updated_at = at("2026-08-08T14:00:00Z");
  return s;
}

TEST(SensorJson, HasEveryFieldInSpecOrder) {
  const Strings expected{"id",
                         "sensor_id",
                         "name",
                         "description",
                         "is_active",
                         "is_online",
                         "last_heartbeat",
                         "latitude",
                         "longitude",
                         "location_method",
                         "location_accuracy",
                         "city",
                         "country",
                         "enabled_detectors",
                         "transport_protocol",
                         "capabilities",
                         "platform",
                         "architecture",
                         "agent_version",
                         "python_version",
                         "total_threats_detected",
                         "threats_last_24h",
                         "clock_skew_threats",
                         "last_clock_skew_seconds",
                         "created_at",
                         "updated_at",
                         "registered_at"};
  EXPECT_EQ(keys_of(to_json(sample_sensor(), kNow, std::chrono::seconds{60})), expected);
}

TEST(SensorJson, DerivesIsOnlineAndRendersValues) {
  Sensor s = sample_sensor();
  const std::chrono::seconds interval{60};
  EXPECT_EQ(to_json(s, kNow, interval).at("is_online"), false);
  s.last_seen = kNow - std::chrono::seconds{30};
  s.last_heartbeat = s.last_seen;
  json::object o = to_json(s, kNow, interval);
  EXPECT_EQ(o.at("is_online"), true);
  EXPECT_EQ(o.at("last_heartbeat"), "2026-08-08T14:59:30.000000Z");
  EXPECT_EQ(o.at("transport_protocol"), "mqtt");
  EXPECT_EQ(to_json_text(o.at("enabled_detectors")), R"(["ble","usb"])");
  EXPECT_EQ(o.at("capabilities").at("ble"), true);
  EXPECT_EQ(o.at("total_threats_detected"), 42);
  EXPECT_EQ(o.at("threats_last_24h"), 7);
  EXPECT_TRUE(o.at("description").is_null());
  EXPECT_TRUE(o.at("registered_at").is_null());
  EXPECT_EQ(to_json(s, kNow + std::chrono::minutes{5}, interval).at("is_online"), false);
}

TEST(SensorStatsJson, RendersCountsAsObjects) {
  SensorStats st;
  st.sensor_id = "pi-1";
  st.total_threats = 10;
  st.threats_last_24h = 3;
  st.threats_last_7d = 9;
  st.threats_by_severity = {{"critical", 1}, {"high", 2}, {"medium", 0}, {"low", 7}, {"info", 0}};
  st.threats_by_detector = {{"ble", 10}};
  st.most_common_threat_type = "flipper_zero";
  st.last_threat_timestamp = at("2026-08-08T14:00:00Z");
  json::object o = to_json(st);
  EXPECT_EQ(keys_of(o), (Strings{"sensor_id", "total_threats", "threats_last_24h",
                                 "threats_last_7d", "threats_by_severity", "threats_by_detector",
                                 "most_common_threat_type", "last_threat_timestamp"}));
  EXPECT_EQ(to_json_text(o.at("threats_by_severity")),
            R"({"critical":1,"high":2,"medium":0,"low":7,"info":0})");
  EXPECT_EQ(to_json_text(o.at("threats_by_detector")), R"({"ble":10})");
  EXPECT_EQ(o.at("last_threat_timestamp"), "2026-08-08T14:00:00.000000Z");
  st.most_common_threat_type.reset();
  st.last_threat_timestamp.reset();
  EXPECT_TRUE(to_json(st).at("most_common_threat_type").is_null());
  EXPECT_TRUE(to_json(st).at("last_threat_timestamp").is_null());
}

TEST(UserJson, HasThePublicFieldsAndNoSecrets) {
  User u;
  u.id = "0190f3a0-0000-4000-8000-000000000002";
  u.username = "alice";
  u.email = "alice@example.org";
  u.role = Role::analyst;
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  u.created_at = at("2026-08-01T00:00:00Z");
  u.tokens_valid_after = at("2026-08-02T00:00:00Z");
  json::object o = to_json(u);
  EXPECT_EQ(keys_of(o), (Strings{"id", "username", "email", "full_name", "role", "is_active",
                                 "is_verified", "created_at", "last_login"}));
  EXPECT_EQ(o.at("role"), "analyst");
  EXPECT_EQ(o.at("email"), "alice@example.org");
  EXPECT_TRUE(o.at("full_name").is_null());
  EXPECT_TRUE(o.at("last_login").is_null());
  std::string text = to_json_text(o);
  EXPECT_EQ(text.find("argon2"), std::string::npos);
  EXPECT_EQ(text.find("2026-08-02"), std::string::npos);
}

}  // namespace
}  // namespace honeyman::domain
