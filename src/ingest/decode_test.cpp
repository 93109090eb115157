// The pure part of MQTT ingest: routing and decoding of every wire sample, and every reason a
// message is refused (the dead letters' texts).
#include "ingest/detail/decode.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace honeyman::ingest::detail {
namespace {

using broker::TopicKind;

const std::string kSampleSensor = "rpi5-defcon-01";  // the sensor the wire samples name
const Timestamp kReceived = *parse_timestamp("2026-08-08T15:00:00Z");
constexpr std::size_t kLimit = 256 * 1024;

std::string wire_text(const std::string& name) {
  std::ifstream in(std::string(HONEYMAN_WIRE_DIR) + "/" + name);
  EXPECT_TRUE(in) << "missing wire sample " << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

broker::SensorTopic from(TopicKind kind, const std::string& sensor = kSampleSensor) {
  return broker::SensorTopic{sensor, kind};
}

// The refusal reason, or "" when the payload was accepted.
std::string refusal_of(const Decoded& d) {
  auto* r = std::get_if<Refusal>(&d);
  return r ? r->reason : "";
}

std::vector<domain::Threat> threats_of(const Decoded& d) {
  auto* threats = std::get_if<std::vector<domain::Threat>>(&d);
  EXPECT_TRUE(threats) << refusal_of(d);
  return threats ? *threats : std::vector<domain::Threat>{};
}

std::string routed_refusal(const std::string& topic, std::size_t size = 10) {
  RawMessage m{topic, "{}", size};
  auto routed = route_message(m, kLimit);
  auto* r = std::get_if<Refusal>(&routed);
  return r ? r->reason : "";
}

TEST(IngestRouting, SensorTopicsNameSenderAndKind) {
  for (auto kind : broker::kTopicKinds) {
    auto routed =
        route_message(capture_message(broker::sensor_topic("s-1", kind), "{}", kLimit), kLimit);
    auto* to = std::get_if<broker::SensorTopic>(&routed);
    ASSERT_TRUE(to) << broker::to_string(kind);
    EXPECT_EQ(to->sensor_id, "s-1");
    EXPECT_EQ(to->kind, kind);
  }
}

TEST(IngestRouting, UnexpectedTopicsAreRefused) {
  for (std::string topic : {"honeyman/sensors/a b/threats", "honeyman/sensors/s1/bogus",
                            "honeyman/sensors/s1/threats/x", "honeyman/control/s1", "other"})
    EXPECT_EQ(routed_refusal(topic), "unexpected topic") << topic;
  EXPECT_EQ(routed_refusal("honeyman/sensors/" + std::string(65, 'x') + "/threats"),
            "unexpected topic");
}

TEST(IngestRouting, OversizedPayloadsAreRefusedAndKeptShort) {
  auto topic = broker::sensor_topic("s1", TopicKind::threats);
  auto big = capture_message(topic, std::string(300 * 1024, 'x'), kLimit);
  EXPECT_EQ(big.size, 300u * 1024);
  EXPECT_EQ(big.payload.size(), kOversizedKeptBytes);
  EXPECT_EQ(routed_refusal(topic, big.size), "payload too large: 307200 bytes (limit 262144)");
  auto at_limit = capture_message(topic, std::string(kLimit, 'x'), kLimit);
  EXPECT_EQ(at_limit.payload.size(), kLimit);
  EXPECT_EQ(routed_refusal(topic, at_limit.size), "") << "the limit itself is allowed";
}

TEST(IngestDecoding, AgentThreatSample) {
  auto threats = threats_of(
      decode_payload(from(TopicKind::threats), wire_text("agent-threat.json"), kReceived));
  ASSERT_EQ(threats.size(), 1u);
  const auto& t = threats[0];
  EXPECT_EQ(t.sensor_id, kSampleSensor);
  EXPECT_EQ(t.threat_type, "flipper_zero");
  EXPECT_EQ(t.detector_type, "ble");
  EXPECT_EQ(t.severity, domain::Severity::critical);
  EXPECT_EQ(format_timestamp(t.timestamp), "2026-08-08T14:03:27.512904Z");
  EXPECT_EQ(t.latitude, 36.1147);
  EXPECT_EQ(t.created_at, kReceived) << "the receipt time is the one passed in";
}

TEST(IngestDecoding, AgentThreatWithoutLocationSample) {
  auto threats = threats_of(decode_payload(from(TopicKind::threats),
                                           wire_text("agent-threat-nolocation.json"), kReceived));
  ASSERT_EQ(threats.size(), 1u);
  EXPECT_EQ(threats[0].threat_type, "rubber_ducky");
  EXPECT_FALSE(threats[0].latitude) << "the store fills it from the sensor";
}

TEST(IngestDecoding, CanonicalThreatSample) {
  auto threats = threats_of(
      decode_payload(from(TopicKind::threats), wire_text("canonical-threat.json"), kReceived));
  ASSERT_EQ(threats.size(), 1u);
  EXPECT_EQ(threats[0].threat_type, "wifi_evil_twin");
  EXPECT_EQ(threats[0].severity, domain::Severity::high);
  EXPECT_EQ(threats[0].device_mac, "02:11:22:33:44:55");
}

TEST(IngestDecoding, ArraysOfEitherFormatAreTakenWhole) {
  auto batch = boost::json::parse(wire_text("agent-http-batch.json")).at("data").as_array();
  batch.push_back(boost::json::parse(wire_text("canonical-threat.json")));
  auto threats =
      threats_of(decode_payload(from(TopicKind::threats), to_json_text(batch), kReceived));
  ASSERT_EQ(threats.size(), 2u);
  EXPECT_EQ(threats[0].threat_type, "ssh_brute_force");
  EXPECT_EQ(threats[1].threat_type, "wifi_evil_twin");
  EXPECT_NE(threats[0].id, threats[1].id);
  // One bad element refuses the whole array.
  batch.push_back(boost::json::object{{"threat_type", "x"}, {"severity", "apocalyptic"}});
  EXPECT_TRUE(refusal_of(decode_payload(from(TopicKind::threats), to_json_text(batch), kReceived))
                  .starts_with("invalid payload:"));
}

TEST(IngestDecoding, HttpBatchEnvelopeIsNotAnMqttPayload) {
  auto reason = refusal_of(
      decode_payload(from(TopicKind::threats), wire_text("agent-http-batch.json"), kReceived));
  EXPECT_TRUE(reason.starts_with("invalid payload:")) << reason;
}

TEST(IngestDecoding, HeartbeatSamples) {
  auto agent =
      decode_payload(from(TopicKind::heartbeat), wire_text("agent-heartbeat.json"), kReceived);
  auto* a = std::get_if<domain::Heartbeat>(&agent);
  ASSERT_TRUE(a) << refusal_of(agent);
  EXPECT_EQ(a->sensor_id, kSampleSensor) << "the topic names the sensor";
  EXPECT_EQ(format_timestamp(a->timestamp), "2026-08-08T14:06:00.000101Z");
  EXPECT_TRUE(a->is_online);

  auto canonical =
      decode_payload(from(TopicKind::heartbeat), wire_text("canonical-heartbeat.json"), kReceived);
  auto* c = std::get_if<domain::Heartbeat>(&canonical);
  ASSERT_TRUE(c) << refusal_of(canonical);
  EXPECT_EQ(c->latitude, 36.1147);
  EXPECT_EQ(c->enabled_detectors, (std::vector<std::string>{"ble", "usb", "network"}));
}

TEST(IngestDecoding, RegistrationSample) {
  auto decoded =
      decode_payload(from(TopicKind::status), wire_text("agent-registration.json"), kReceived);
  auto* r = std::get_if<domain::Registration>(&decoded);
  ASSERT_TRUE(r) << refusal_of(decoded);
  EXPECT_EQ(r->sensor_id, kSampleSensor);
  EXPECT_EQ(r->sensor_name, "DefCon-Portable");
  EXPECT_EQ(r->agent_version, "2.0.0");
}

// An agent's answer to a command (SPEC §8) on the status topic; anything malformed is refused
// with the field named.
TEST(IngestDecoding, CommandResults) {
  auto decode = [](std::string_view payload) {
    return decode_payload(from(TopicKind::status), payload, kReceived);
  };
  auto ok = decode(R"({"type":"command_result","command_id":"0193A5F2-7C1E-4D3A-9B2E-1F4C5D6E7F80",
                       "ok":true,"message":"restarted"})");
  auto* r = std::get_if<CommandResult>(&ok);
  ASSERT_TRUE(r) << refusal_of(ok);
  EXPECT_EQ(r->command_id, "0193a5f2-7c1e-4d3a-9b2e-1f4c5d6e7f80");
  EXPECT_EQ(r->status, "succeeded");
  EXPECT_EQ(r->message, "restarted");
  auto failed = decode(
      R"({"type":"command_result","command_id":"0193a5f2-7c1e-4d3a-9b2e-1f4c5d6e7f80","ok":false})");
  ASSERT_TRUE(std::get_if<CommandResult>(&failed));
  EXPECT_EQ(std::get<CommandResult>(failed).status, "failed");
  auto delivered = decode(
      R"({"type":"command_result","command_id":"0193a5f2-7c1e-4d3a-9b2e-1f4c5d6e7f80","status":"delivered"})");
  ASSERT_TRUE(std::get_if<CommandResult>(&delivered));
  EXPECT_EQ(std::get<CommandResult>(delivered).status, "delivered");
  EXPECT_NE(refusal_of(decode(R"({"type":"command_result","command_id":"x","ok":true})"))
                .find("command_id"),
            std::string::npos);
  EXPECT_NE(
      refusal_of(
          decode(
              R"({"type":"command_result","command_id":"0193a5f2-7c1e-4d3a-9b2e-1f4c5d6e7f80","ok":"yes"})"))
          .find("ok"),
      std::string::npos);
  EXPECT_NE(
      refusal_of(
          decode(
              R"({"type":"command_result","command_id":"0193a5f2-7c1e-4d3a-9b2e-1f4c5d6e7f80","status":"done"})"))
          .find("status"),
      std::string::npos);
  EXPECT_NE(
      refusal_of(
          decode(
              R"({"type":"command_result","command_id":"0193a5f2-7c1e-4d3a-9b2e-1f4c5d6e7f80","ok":true,"message":")" +
              std::string(2000, 'x') + R"("})"))
          .find("message"),
      std::string::npos);
}

TEST(IngestDecoding, MalformedJsonIsRefused) {
  auto reason = refusal_of(
      decode_payload(from(TopicKind::threats), R"({"threat_type": "broken")", kReceived));
  EXPECT_TRUE(reason.starts_with("malformed JSON: ")) << reason;
  EXPECT_TRUE(refusal_of(decode_payload(from(TopicKind::heartbeat), "", kReceived))
                  .starts_with("malformed JSON: "));
}

TEST(IngestDecoding, InvalidFieldsAreNamed) {
  auto reason = refusal_of(decode_payload(
      from(TopicKind::threats, "s1"),
      R"({"threat_type": "t", "detector_type": "usb", "severity": "low", "threat_score": "very high"})",
      kReceived));
  EXPECT_TRUE(reason.starts_with("invalid payload: payload/threat_score: ")) << reason;
  reason = refusal_of(decode_payload(
      from(TopicKind::threats, "s1"),
      R"({"threat_type": "t", "detector_type": "usb", "severity": "apocalyptic"})", kReceived));
  EXPECT_NE(reason.find("payload/severity"), std::string::npos) << reason;
  EXPECT_FALSE(
      refusal_of(decode_payload(from(TopicKind::heartbeat, "s1"), "[1, 2, 3]", kReceived)).empty());
}

TEST(IngestDecoding, AtMostFiveFieldErrorsAreListed) {
  boost::json::array many;
  for (int i = 0; i < 8; ++i) many.push_back(boost::json::object{{"threat_score", "x"}});
  auto reason =
      refusal_of(decode_payload(from(TopicKind::threats, "s1"), to_json_text(many), kReceived));
  ASSERT_TRUE(reason.starts_with("invalid payload:")) << reason;
  EXPECT_NE(reason.find(" more)"), std::string::npos) << reason;
  EXPECT_EQ(std::count(reason.begin(), reason.end(), ';'), 5) << reason;
}

TEST(IngestDecoding, PayloadNamingAnotherSensorIsSpoofed) {
  auto threat = boost::json::parse(wire_text("canonical-threat.json")).as_object();
  auto reason = refusal_of(
      decode_payload(from(TopicKind::threats, "other-sensor"), to_json_text(threat), kReceived));
  EXPECT_TRUE(reason.starts_with("spoofed sensor id: ")) << reason;
  reason = refusal_of(decode_payload(from(TopicKind::heartbeat, "other-sensor"),
                                     wire_text("canonical-heartbeat.json"), kReceived));
  EXPECT_TRUE(reason.starts_with("spoofed sensor id: ")) << reason;
  threat.erase("sensor_id");
  auto threats = threats_of(
      decode_payload(from(TopicKind::threats, "other-sensor"), to_json_text(threat), kReceived));
  ASSERT_EQ(threats.size(), 1u);
  EXPECT_EQ(threats[0].sensor_id, "other-sensor") << "no sensor named: the topic's";
}

TEST(IngestDecoding, PayloadOfAnotherKindIsRefused) {
  EXPECT_FALSE(refusal_of(decode_payload(from(TopicKind::heartbeat), wire_text("agent-threat.json"),
                                         kReceived))
                   .empty());
  EXPECT_FALSE(refusal_of(decode_payload(from(TopicKind::threats),
                                         wire_text("agent-heartbeat.json"), kReceived))
                   .empty());
  EXPECT_FALSE(refusal_of(decode_payload(from(TopicKind::status),
                                         wire_text("canonical-threat.json"), kReceived))
                   .empty());
}

TEST(IngestDecoding, ReasonsGivenAfterDecoding) {
  EXPECT_EQ(unknown_sensor_reason("ghost"), "unknown sensor 'ghost'");
  EXPECT_EQ(store_refusal_reason("Sensor not found"), "refused by the store: Sensor not found");
}

}  // namespace
}  // namespace honeyman::ingest::detail
