#include "ingest/detail/decode.hpp"

#include <boost/json/parse.hpp>

namespace honeyman::ingest::detail {
namespace {

constexpr std::size_t kFieldsListed = 5;

// A dead letter's reason for a normalisation error.
std::string describe_refusal(const Error& e) {
  if (e.code == Errc::forbidden) return "spoofed sensor id: " + e.message;
  if (e.fields.empty()) return e.message;
  std::string out = "invalid payload:";
  std::size_t shown = 0;
  for (const auto& f : e.fields) {
    if (shown++ == kFieldsListed) {
      out += " (and " + std::to_string(e.fields.size() - kFieldsListed) + " more)";
      break;
    }
    std::string loc;
    for (const auto& part : f.loc) loc += (loc.empty() ? "" : "/") + part;
    out += " " + loc + ": " + f.msg + " [" + f.type + "];";
  }
  return out;
}

template <class T>
Decoded decoded_or_refusal(Result<T> r) {
  if (!r) return Refusal{describe_refusal(r.error())};
  return Decoded(std::move(*r));
}

}  // namespace

RawMessage capture_message(std::string_view topic, std::string_view payload,
                           std::size_t max_payload_bytes) {
  RawMessage m;
  m.topic = topic;
  m.size = payload.size();
  m.payload = payload.size() > max_payload_bytes ? payload.substr(0, kOversizedKeptBytes) : payload;
  return m;
}

std::variant<broker::SensorTopic, Refusal> route_message(const RawMessage& m,
                                                         std::size_t max_payload_bytes) {
  auto from = broker::parse_sensor_topic(m.topic);
  if (!from) return Refusal{"unexpected topic"};
  if (m.size > max_payload_bytes)
    return Refusal{"payload too large: " + std::to_string(m.size) + " bytes (limit " +
                   std::to_string(max_payload_bytes) + ")"};
  return std::move(*from);
}

namespace {
constexpr std::size_t kMaxResultMessage = 1024;

Decoded decode_command_result(const boost::json::object& o) {
  auto text = [&](std::string_view key) -> std::optional<std::string> {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  CommandResult r;
  auto id = text("command_id");
  auto normalized = id ? normalize_uuid(*id) : std::nullopt;
  if (!normalized) return Refusal{"invalid payload: command_id: a UUID is required [value_error]"};
  r.command_id = *normalized;
  if (auto status = text("status")) {
    if (*status != "delivered" && *status != "succeeded" && *status != "failed")
      return Refusal{"invalid payload: status: delivered, succeeded or failed [enum]"};
    r.status = *status;
  } else if (const auto* ok = o.if_contains("ok"); ok && ok->is_bool()) {
    r.status = ok->get_bool() ? "succeeded" : "failed";
  } else {
    return Refusal{"invalid payload: ok: a boolean (or a status) is required [bool_type]"};
  }
  if (o.contains("message")) {
    r.message = text("message");
    if (!r.message || r.message->size() > kMaxResultMessage)
      return Refusal{"invalid payload: message: a string of at most 1024 bytes [string_type]"};
  }
  return r;
}
}  // namespace

Decoded decode_payload(const broker::SensorTopic& from, std::string_view payload, Timestamp now,
                       const domain::ClockSkewPolicy& clock_skew) {
  boost::system::error_code ec;
  auto value = boost::json::parse(payload, ec);
  if (ec) return Refusal{"malformed JSON: " + ec.message()};
  domain::IngestContext ctx;
  ctx.authenticated_sensor_id = from.sensor_id;
  ctx.now = now;
  ctx.message = payload;
  ctx.clock_skew = clock_skew;
  const std::vector<std::string> loc{"payload"};
  switch (from.kind) {
    case broker::TopicKind::threats:
      return decoded_or_refusal(domain::normalize_threats(value, ctx, loc));
    case broker::TopicKind::heartbeat:
      return decoded_or_refusal(domain::normalize_heartbeat(value, ctx, loc));
    case broker::TopicKind::status:
      if (const auto* o = value.if_object();
          o && o->contains("type") && o->at("type") == "command_result")
        return decode_command_result(*o);
      return decoded_or_refusal(domain::normalize_registration(value, ctx, loc));
  }
  return Refusal{"unexpected topic"};  // unreachable: every kind is handled above
}

std::string unknown_sensor_reason(std::string_view sensor_id) {
  return "unknown sensor '" + std::string(sensor_id) + "'";
}

std::string store_refusal_reason(std::string_view store_message) {
  return "refused by the store: " + std::string(store_message);
}

}  // namespace honeyman::ingest::detail
