// MQTT ingest: what the decoder thread does with a message (ingest/detail/decode.hpp), then what
// the writer does with an accepted threat (its live-feed event, which other instances parse).
// Input: the topic, a newline, the payload (both wire formats, heartbeats, registrations).
#include <boost/json/serialize.hpp>

#include "bus/bus.hpp"
#include "fuzz/fuzz.hpp"
#include "fuzz/support.hpp"
#include "ingest/detail/decode.hpp"

namespace honeyman::fuzz {
namespace {

constexpr std::string_view kMqttTarget = "mqtt_payload";
// Small enough that the fuzzer reaches the size refusal too (the server's default is 256 KiB).
constexpr std::size_t kMqttMaxPayload = 64 * 1024;

void check_mqtt_threat(const domain::Threat& t, const std::string& sensor_id) {
  using support::check;
  check(t.sensor_id == sensor_id, kMqttTarget, "threat stored under another sensor than its topic");
  check(t.threat_score >= 0 && t.threat_score <= 1, kMqttTarget, "threat_score outside 0..1");
  check(t.timestamp <= support::kNow + domain::kMaxFutureSkew, kMqttTarget,
        "threat timestamp beyond the allowed skew");
  check(boost::json::serialize(t.raw_event).size() <= domain::kMaxRawEventBytes, kMqttTarget,
        "raw_event larger than its limit");
  auto api = boost::json::parse(boost::json::serialize(domain::to_json(t)));
  check(api.is_object(), kMqttTarget, "threat JSON does not parse back");
  // The writer publishes this event after the commit; other instances rebuild it from the frame.
  auto event = bus::threat_event(t, support::kNow);
  auto back = bus::parse_event(*event->frame);
  check(back.has_value(), kMqttTarget, "live-feed frame of a stored threat does not parse back");
  check((*back)->id == event->id && (*back)->sensor_id == event->sensor_id &&
            (*back)->severity == event->severity && (*back)->detector_type == event->detector_type,
        kMqttTarget, "live-feed frame parses back to another event");
}

void check_mqtt_decoded(const ingest::detail::Decoded& decoded, const broker::SensorTopic& from) {
  using support::check;
  if (const auto* refusal = std::get_if<ingest::detail::Refusal>(&decoded)) {
    check(!refusal->reason.empty(), kMqttTarget, "refusal without a reason");
  } else if (const auto* threats = std::get_if<std::vector<domain::Threat>>(&decoded)) {
    check(!threats->empty() && threats->size() <= domain::kMaxThreatsPerPayload, kMqttTarget,
          "threat count outside 1..1000");
    check(from.kind == broker::TopicKind::threats, kMqttTarget, "threats from another topic");
    for (const auto& t : *threats) check_mqtt_threat(t, from.sensor_id);
  } else if (const auto* hb = std::get_if<domain::Heartbeat>(&decoded)) {
    check(hb->sensor_id == from.sensor_id, kMqttTarget, "heartbeat of another sensor");
  } else if (const auto* reg = std::get_if<domain::Registration>(&decoded)) {
    check(reg->sensor_id == from.sensor_id, kMqttTarget, "registration of another sensor");
  }
}

}  // namespace

int mqtt_payload(const std::uint8_t* data, std::size_t size) {
  auto text = support::as_text(data, size);
  auto newline = text.find('\n');
  if (newline == std::string_view::npos) return 0;
  auto message = ingest::detail::capture_message(text.substr(0, newline), text.substr(newline + 1),
                                                 kMqttMaxPayload);
  auto routed = ingest::detail::route_message(message, kMqttMaxPayload);
  if (const auto* refusal = std::get_if<ingest::detail::Refusal>(&routed)) {
    support::check(!refusal->reason.empty(), kMqttTarget, "refusal without a reason");
    return 0;
  }
  const auto& from = std::get<broker::SensorTopic>(routed);
  support::check(is_valid_sensor_id(from.sensor_id), kMqttTarget, "routed an invalid sensor id");
  check_mqtt_decoded(ingest::detail::decode_payload(from, message.payload, support::kNow), from);
  return 0;
}

}  // namespace honeyman::fuzz
