// Bad threat input, one mutation of a valid sample per row: each row names the exact errors.
#include <limits>

#include "domain/domain_test_support.hpp"

namespace honeyman::domain {
namespace {
using namespace test_support;

// `value` is JSON text, or "<erase>" to remove the field.
struct Mutation {
  const char* field;
  std::string value;
  Strings expected;
};

std::string chars(std::size_t n) {
  return "\"" + std::string(n, 'x') + "\"";
}

void run(const char* sample, const std::vector<Mutation>& table) {
  for (const auto& m : table) {
    json::object p = wire_object(sample);
    if (m.value == "<erase>")
      p.erase(m.field);
    else
      p[m.field] = json::parse(m.value);
    EXPECT_EQ(errors_of(normalize_threat(p, context())), m.expected)
        << sample << ": " << m.field << " = " << m.value;
  }
}

const Strings kOk{"ok"};

TEST(CanonicalValidation, RequiredFields) {
  run("canonical-threat.json",
      {{"threat_type", "<erase>", {"body/threat_type:missing"}},
       {"detector_type", "<erase>", {"body/detector_type:missing"}},
       {"severity", "<erase>", {"body/severity:missing"}},
       {"threat_type", "null", {"body/threat_type:string_type"}},
       {"threat_type", R"("")", {"body/threat_type:string_too_short"}},
       {"detector_type", R"("")", {"body/detector_type:string_too_short"}}});
}

TEST(CanonicalValidation, WrongTypes) {
  run("canonical-threat.json",
      {{"threat_type", "123", {"body/threat_type:string_type"}},
       {"threat_score", "true", {"body/threat_score:float_type"}},
       {"threat_score", R"("0.5")", {"body/threat_score:float_type"}},
       {"confidence", "false", {"body/confidence:float_type"}},
       {"latitude", R"("36.1")", {"body/latitude:float_type"}},
       {"src_port", R"("22")", {"body/src_port:int_type"}},
       {"dst_port", "true", {"body/dst_port:int_type"}},
       {"dst_port", "22.5", {"body/dst_port:int_type"}},
       {"severity", "3", {"body/severity:enum"}},
       {"severity", R"("urgent")", {"body/severity:enum"}},
       {"raw_event", "[]", {"body/raw_event:dict_type"}},
       {"matched_rules", R"("rule")", {"body/matched_rules:list_type"}},
       {"matched_rules", "[1]", {"body/matched_rules/0:dict_type"}},
       {"mitre_tactics", R"(["TA0001", 7])", {"body/mitre_tactics/1:string_type"}},
       {"device_ip", "{}", {"body/device_ip:string_type"}}});
}

TEST(CanonicalValidation, Ranges) {
  run("canonical-threat.json",
      {{"threat_score", "0", kOk},
       {"threat_score", "1", kOk},
       {"threat_score", "1.01", {"body/threat_score:less_than_equal"}},
       {"threat_score", "-0.1", {"body/threat_score:greater_than_equal"}},
       {"threat_score", "2", {"body/threat_score:less_than_equal"}},
       {"confidence", "1.5", {"body/confidence:less_than_equal"}},
       {"latitude", "90", kOk},
       {"latitude", "90.0001", {"body/latitude:less_than_equal"}},
       {"latitude", "-91", {"body/latitude:greater_than_equal"}},
       {"longitude", "-180", kOk},
       {"longitude", "180.5", {"body/longitude:less_than_equal"}},
       {"longitude", "-181", {"body/longitude:greater_than_equal"}},
       {"src_port", "0", kOk},
       {"dst_port", "65535", kOk},
       {"dst_port", "65536", {"body/dst_port:less_than_equal"}},
       {"src_port", "-1", {"body/src_port:greater_than_equal"}},
       {"src_port", "18446744073709551615", {"body/src_port:less_than_equal"}}});
}

TEST(CanonicalValidation, Lengths) {
  run("canonical-threat.json",
      {{"threat_type", chars(64), kOk},
       {"threat_type", chars(65), {"body/threat_type:string_too_long"}},
       {"detector_type", chars(65), {"body/detector_type:string_too_long"}},
       {"device_name", chars(256), kOk},
       {"device_name", chars(257), {"body/device_name:string_too_long"}},
       {"src_host", chars(257), {"body/src_host:string_too_long"}},
       {"dst_host", chars(257), {"body/dst_host:string_too_long"}},
       {"city", chars(257), {"body/city:string_too_long"}},
       {"country", chars(257), {"body/country:string_too_long"}},
       {"device_mac", chars(65), {"body/device_mac:string_too_long"}},
       {"device_ip", chars(65), {"body/device_ip:string_too_long"}}});
  // 256 two-byte characters: limits count characters, not bytes.
  json::object p = wire_object("canonical-threat.json");
  std::string umlauts;
  for (int i = 0; i < 256; ++i) umlauts += "\xc3\xbc";
  p["city"] = umlauts;
  EXPECT_EQ(errors_of(normalize_threat(p, context())), kOk);
}

TEST(CanonicalValidation, ListSizes) {
  auto list = [](std::size_t n, const std::string& item) {
    std::string s = "[";
    for (std::size_t i = 0; i < n; ++i) s += (i ? "," : "") + item;
    return s + "]";
  };
  run("canonical-threat.json",
      {{"matched_rules", list(100, R"("r")"), kOk},
       {"matched_rules", list(101, R"("r")"), {"body/matched_rules:too_long"}},
       {"mitre_techniques", list(101, R"("T1")"), {"body/mitre_techniques:too_long"}},
       {"mitre_tactics", list(100, R"("TA1")"), kOk}});
}

TEST(CanonicalValidation, UnknownAndServerOwnedFieldsAreRefused) {
  run("canonical-threat.json",
      {{"colour", R"("red")", {"body/colour:extra_forbidden"}},
       {"id", R"("0190f3a0-0000-7000-8000-000000000000")", {"body/id:extra_forbidden"}},
       {"created_at", R"("2026-08-08T14:00:00Z")", {"body/created_at:extra_forbidden"}},
       {"is_acknowledged", "true", {"body/is_acknowledged:extra_forbidden"}},
       {"acknowledged_by", R"("mallory")", {"body/acknowledged_by:extra_forbidden"}}});
}

TEST(CanonicalValidation, Timestamps) {
  run("canonical-threat.json",
      {{"timestamp", R"("2026-08-09T15:00:00Z")", kOk},
       // Beyond the allowed skew: stored at the receipt time, not refused (clock_skew_test.cpp).
       {"timestamp", R"("2026-08-09T15:00:00.000001Z")", kOk},
       {"timestamp", R"("2027-01-01T00:00:00Z")", kOk},
       {"timestamp", R"("2026-08-08T16:00:00+02:00")", kOk},
       {"timestamp", R"("yesterday")", {"body/timestamp:datetime_parsing"}},
       {"timestamp", R"("2026-02-30T00:00:00")", {"body/timestamp:datetime_parsing"}},
       {"timestamp", "1786200000", {"body/timestamp:datetime_type"}}});
}

TEST(CanonicalValidation, SensorIds) {
  const Strings bad{"body/sensor_id:string_pattern_mismatch"};
  run("canonical-threat.json", {{"sensor_id", R"("pi#1")", bad},
                                {"sensor_id", R"("pi+1")", bad},
                                {"sensor_id", R"("honeyman/sensors")", bad},
                                {"sensor_id", R"("pi\u00001")", bad},
                                {"sensor_id", R"("pi\n1")", bad},
                                {"sensor_id", R"("pi 1")", bad},
                                {"sensor_id", R"("")", bad},
                                {"sensor_id", chars(65), bad},
                                {"sensor_id", chars(64), kOk},
                                {"sensor_id", R"("A.b_c-9")", kOk},
                                {"sensor_id", "42", {"body/sensor_id:string_type"}}});
}

TEST(CanonicalValidation, CollectsEveryErrorOfOneObject) {
  json::object p = wire_object("canonical-threat.json");
  p["threat_score"] = "high";
  p["latitude"] = 100;
  p["extra"] = 1;
  p.erase("severity");
  EXPECT_EQ(errors_of(normalize_threat(p, context())),
            (Strings{"body/extra:extra_forbidden", "body/severity:missing",
                     "body/threat_score:float_type", "body/latitude:less_than_equal"}));
}

TEST(CanonicalValidation, RefusesNonFiniteNumbers) {
  json::object p = wire_object("canonical-threat.json");
  p["longitude"] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(errors_of(normalize_threat(p, context())), Strings{"body/longitude:finite_number"});
  p["longitude"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(errors_of(normalize_threat(p, context())), Strings{"body/longitude:finite_number"});
}

TEST(CanonicalValidation, RefusesAnOversizedRawEvent) {
  json::object p = wire_object("canonical-threat.json");
  p["raw_event"] = json::object{{"blob", std::string(kMaxRawEventBytes, 'a')}};
  EXPECT_EQ(errors_of(normalize_threat(p, context())), Strings{"body/raw_event:value_error"});
  p["raw_event"] = json::object{{"blob", std::string(kMaxRawEventBytes - 20, 'a')}};
  EXPECT_EQ(errors_of(normalize_threat(p, context())), kOk);
}

TEST(AgentValidation, RequiredFields) {
  run("agent-threat.json", {{"timestamp", "<erase>", {"body/timestamp:missing"}},
                            {"source", "<erase>", {"body/source:missing"}},
                            {"threat_type", "<erase>", {"body/threat_type:missing"}},
                            {"threat_score", "<erase>", {"body/threat_score:missing"}},
                            {"risk_level", "<erase>", {"body/risk_level:missing"}},
                            {"message", "<erase>", kOk},
                            {"geolocation", "<erase>", kOk},
                            {"sensor_name", "<erase>", kOk}});
}

TEST(AgentValidation, WrongTypesAndValues) {
  run("agent-threat.json",
      {{"threat_score", "true", {"body/threat_score:float_type"}},
       {"threat_score", R"("0.8")", {"body/threat_score:float_type"}},
       {"threat_score", "1.2", {"body/threat_score:less_than_equal"}},
       {"risk_level", R"("severe")", {"body/risk_level:enum"}},
       {"risk_level", R"("CRITICAL")", kOk},
       {"source", R"("")", {"body/source:string_too_short"}},
       {"source", R"("Detector")", {"body/source:value_error"}},
       {"threats_detected", R"("x")", {"body/threats_detected:list_type"}},
       {"threats_detected", R"(["ok", 1])", {"body/threats_detected/1:string_type"}},
       {"raw_data", "[]", {"body/raw_data:dict_type"}},
       {"metadata", "1", {"body/metadata:dict_type"}},
       {"message", "5", {"body/message:string_type"}},
       {"sensor_name", "5", {"body/sensor_name:string_type"}},
       {"timestamp", R"("08/08/2026")", {"body/timestamp:datetime_parsing"}},
       {"city", chars(257), {"body/city:string_too_long"}}});
}

TEST(AgentValidation, Geolocation) {
  run("agent-threat.json",
      {{"geolocation", R"({"lat": 91, "lon": 0})", {"body/geolocation/lat:less_than_equal"}},
       {"geolocation", R"({"lat": 0, "lon": -180.1})", {"body/geolocation/lon:greater_than_equal"}},
       {"geolocation", R"({"lat": "1", "lon": 0})", {"body/geolocation/lat:float_type"}},
       {"geolocation", R"({"lat": 1})", {"body/geolocation:value_error"}},
       {"geolocation",
        R"({"lat": 1, "lon": 2, "accuracy": -1})",
        {"body/geolocation/accuracy:greater_than_equal"}},
       {"geolocation", R"("Las Vegas")", {"body/geolocation:dict_type"}},
       {"geolocation", "null", kOk}});
}

TEST(AgentValidation, CanonicalKeysAreUnknownInTheAgentFormat) {
  run("agent-threat.json", {{"detector_type", R"("ble")", {"body/detector_type:extra_forbidden"}},
                            {"latitude", "1", {"body/latitude:extra_forbidden"}},
                            {"id", R"("x")", {"body/id:extra_forbidden"}}});
}

TEST(AgentValidation, BadSensorIdsAndFutureTimestamps) {
  run("agent-threat.json",
      {{"sensor_id", R"("rpi#")", {"body/sensor_id:string_pattern_mismatch"}},
       {"sensor_id", R"("rpi/+")", {"body/sensor_id:string_pattern_mismatch"}},
       {"timestamp", R"("2026-08-10T00:00:00")", kOk}});  // skewed: see clock_skew_test.cpp
}

TEST(AgentValidation, RefusesAnOversizedRawEventIncludingTheMessage) {
  json::object p = wire_object("agent-threat.json");
  p["message"] = std::string(kMaxRawEventBytes, 'm');
  EXPECT_EQ(errors_of(normalize_threat(p, context())), Strings{"body/raw_data:value_error"});
}

}  // namespace
}  // namespace honeyman::domain
