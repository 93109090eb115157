#include <boost/json.hpp>

#include "bus/bus.hpp"

namespace honeyman::bus {
namespace json = boost::json;

namespace {

std::string string_at(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

EventPtr threat_event(const domain::Threat& t, Timestamp committed_at) {
  // The one feed serialiser (domain), so the live feed and the API cannot drift apart.
  json::object frame{{"type", "threat"},
                     {"data", domain::to_feed_json(t)},
                     {"timestamp", format_timestamp(committed_at)}};
  auto event = std::make_shared<Event>();
  event->kind = EventKind::threat;
  event->id = t.id;
  event->sensor_id = t.sensor_id;
  event->severity = std::string(domain::to_string(t.severity));
  event->detector_type = t.detector_type;
  event->committed_at = committed_at;
  event->frame = std::make_shared<const std::string>(to_json_text(frame));
  return event;
}

EventPtr sensor_status_event(std::string_view sensor_id, bool is_online,
                             std::optional<Timestamp> last_heartbeat, Timestamp at) {
  json::object data{
      {"sensor_id", sensor_id},
      {"is_online", is_online},
      {"last_heartbeat",
       last_heartbeat ? json::value(format_timestamp(*last_heartbeat)) : json::value(nullptr)}};
  json::object frame{
      {"type", "sensor_status"}, {"data", std::move(data)}, {"timestamp", format_timestamp(at)}};
  auto event = std::make_shared<Event>();
  event->kind = EventKind::sensor_status;
  event->sensor_id = std::string(sensor_id);
  event->frame = std::make_shared<const std::string>(to_json_text(frame));
  return event;
}

EventPtr threat_update_event(const domain::Threat& t, std::string_view updated_by, Timestamp at) {
  json::object data{{"id", t.id},
                    {"sensor_id", t.sensor_id},
                    {"severity", domain::to_string(t.severity)},
                    {"detector_type", t.detector_type},
                    {"status", domain::to_string(t.status)},
                    {"assignee", t.assignee ? json::value(*t.assignee) : json::value(nullptr)},
                    {"is_acknowledged", t.is_acknowledged},
                    {"updated_at", format_timestamp(t.updated_at)},
                    {"updated_by", updated_by}};
  json::object frame{
      {"type", "threat_update"}, {"data", std::move(data)}, {"timestamp", format_timestamp(at)}};
  auto event = std::make_shared<Event>();
  event->kind = EventKind::threat_update;
  event->id = t.id;
  event->sensor_id = t.sensor_id;
  event->severity = std::string(domain::to_string(t.severity));
  event->detector_type = t.detector_type;
  event->frame = std::make_shared<const std::string>(to_json_text(frame));
  return event;
}

EventPtr bulk_update_event(json::object summary, std::string_view updated_by, Timestamp at) {
  summary["bulk"] = true;
  summary["updated_by"] = updated_by;
  json::object frame{
      {"type", "threat_update"}, {"data", std::move(summary)}, {"timestamp", format_timestamp(at)}};
  auto event = std::make_shared<Event>();
  event->kind = EventKind::threat_update;
  event->frame = std::make_shared<const std::string>(to_json_text(frame));
  return event;
}

EventPtr alert_event(json::object alert, Timestamp at) {
  json::object frame{
      {"type", "alert"}, {"data", std::move(alert)}, {"timestamp", format_timestamp(at)}};
  auto event = std::make_shared<Event>();
  event->kind = EventKind::alert;
  event->frame = std::make_shared<const std::string>(to_json_text(frame));
  return event;
}

Result<EventPtr> parse_event(std::string frame) {
  boost::system::error_code ec;
  auto parsed = json::parse(frame, ec);
  if (ec || !parsed.is_object())
    return make_error(Errc::invalid_input, "event is not a JSON object");
  const auto& o = parsed.as_object();
  auto type = string_at(o, "type");
  auto* data = o.if_contains("data");
  if (!data || !data->is_object()) return make_error(Errc::invalid_input, "event without data");
  const auto& d = data->as_object();
  auto event = std::make_shared<Event>();
  if (type == "threat") {
    event->kind = EventKind::threat;
    event->id = string_at(d, "id");
    event->severity = string_at(d, "severity");
    event->detector_type = string_at(d, "detector_type");
    event->committed_at = parse_timestamp(string_at(o, "timestamp"));
  } else if (type == "sensor_status") {
    event->kind = EventKind::sensor_status;
  } else if (type == "threat_update") {
    event->kind = EventKind::threat_update;
    event->id = string_at(d, "id");
    event->severity = string_at(d, "severity");
    event->detector_type = string_at(d, "detector_type");
  } else if (type == "alert") {
    event->kind = EventKind::alert;
    event->frame = std::make_shared<const std::string>(std::move(frame));
    return EventPtr(std::move(event));
  } else {
    return make_error(Errc::invalid_input, "unknown event type");
  }
  event->sensor_id = string_at(d, "sensor_id");
  event->frame = std::make_shared<const std::string>(std::move(frame));
  return EventPtr(std::move(event));
}

}  // namespace honeyman::bus
