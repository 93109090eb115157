// What a message received over MQTT is, and what to do with it: pure functions (no I/O, no
// clock read; the receipt time is passed in), thread-safe. The refusal reasons are the dead
// letters' reason texts, which operators (and the integration tests) read.
//
// Two steps, because the known-sensor check needs the store and sits between them (so a
// message from an unknown sensor is refused before its payload is parsed):
//   route_message: topic → sender and kind (broker's topic grammar), size limit;
//   decode_payload: JSON parse, normalisation for the kind (domain), spoof check.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "broker/broker.hpp"
#include "core/core.hpp"
#include "domain/domain.hpp"

namespace honeyman::ingest::detail {

// Of an oversized payload only this much is kept (for its dead letter).
inline constexpr std::size_t kOversizedKeptBytes = 4096;

struct RawMessage {
  std::string topic;
  std::string payload;   // as received; truncated to kOversizedKeptBytes when oversized
  std::size_t size = 0;  // bytes received
};
// Copies what the decoder needs of a message, and no more than kOversizedKeptBytes of a payload
// over `max_payload_bytes`.
RawMessage capture_message(std::string_view topic, std::string_view payload,
                           std::size_t max_payload_bytes);

struct Refusal {
  std::string reason;
};

// The sender and kind of `m`, or why it is refused: "unexpected topic" (not a sensor topic of
// broker's grammar, e.g. an invalid sensor id), "payload too large: <n> bytes (limit <max>)".
std::variant<broker::SensorTopic, Refusal> route_message(const RawMessage& m,
                                                         std::size_t max_payload_bytes);

// What the payload of a message routed to `from` asks for: threats (all or nothing), a
// heartbeat or a registration, normalised with `from.sensor_id` as the authenticated sensor and
// `now` as the receipt time (created_at, default and skewed timestamps), the payload's bytes as
// what the threats' ids are made of (the same message redelivered gets the same ids) and
// `clock_skew` as the limits of the sensor's clock. Refused: "malformed JSON:
// ...", "spoofed sensor id: ..." (the payload names another sensor), "invalid payload: <field>:
// <why> [<type>]; ..." (at most five fields listed), or the normaliser's message.
// An agent's answer to a command (SPEC §8), on its status topic:
// {"type": "command_result", "command_id": <uuid>, "ok": bool, "message"?: string,
//  "status"?: "delivered"|"succeeded"|"failed"} (status, when given, wins over ok).
struct CommandResult {
  std::string command_id;
  std::string status;  // delivered|succeeded|failed
  std::optional<std::string> message;
};
using Decoded = std::variant<Refusal, std::vector<domain::Threat>, domain::Heartbeat,
                             domain::Registration, CommandResult>;
Decoded decode_payload(const broker::SensorTopic& from, std::string_view payload, Timestamp now,
                       const domain::ClockSkewPolicy& clock_skew = {});

// Reasons given after decoding: the sensor does not exist (known-sensor check, heartbeats and
// registrations the store did not apply), the store refused the threats at commit time.
std::string unknown_sensor_reason(std::string_view sensor_id);
std::string store_refusal_reason(std::string_view store_message);

}  // namespace honeyman::ingest::detail
