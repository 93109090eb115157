// The API's JSON form of domain values (SPEC §2). Field order follows the spec so responses
// read the same as the old backend's.
#include "domain/domain.hpp"

namespace honeyman::domain {
namespace json = boost::json;

namespace {

template <class T>
json::value or_null(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

json::value time_or_null(const std::optional<Timestamp>& t) {
  if (!t) return nullptr;
  return json::value(format_timestamp(*t));
}

json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  out.reserve(items.size());
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

json::object count_object(const std::vector<std::pair<std::string, std::int64_t>>& counts) {
  json::object out;
  for (const auto& [key, count] : counts) out[key] = count;
  return out;
}

void add_sensor_location(const Sensor& s, json::object& o) {
  o["latitude"] = or_null(s.latitude);
  o["longitude"] = or_null(s.longitude);
  o["location_method"] = or_null(s.location_method);
  o["location_accuracy"] = or_null(s.location_accuracy);
  o["city"] = or_null(s.city);
  o["country"] = or_null(s.country);
}

void add_sensor_platform(const Sensor& s, json::object& o) {
  o["enabled_detectors"] = string_array(s.enabled_detectors);
  o["transport_protocol"] = s.transport_protocol;
  o["capabilities"] = s.capabilities;
  o["platform"] = or_null(s.platform);
  o["architecture"] = or_null(s.architecture);
  o["agent_version"] = or_null(s.agent_version);
  o["python_version"] = or_null(s.python_version);
}

// Optional members are null when unset, in both sinks.
struct ObjectSink {
  json::object& o;
  void text(std::string_view k, std::string_view v) { o[k] = v; }
  void maybe_text(std::string_view k, const std::optional<std::string>& v) { o[k] = or_null(v); }
  void time(std::string_view k, Timestamp t) { o[k] = format_timestamp(t); }
  void maybe_time(std::string_view k, const std::optional<Timestamp>& t) { o[k] = time_or_null(t); }
  void integer(std::string_view k, const std::optional<int>& v) { o[k] = or_null(v); }
  void number(std::string_view k, const std::optional<double>& v) { o[k] = or_null(v); }
  void boolean(std::string_view k, bool v) { o[k] = v; }
  void array(std::string_view k, const json::array& v) { o[k] = v; }
  void object(std::string_view k, const json::object& v) { o[k] = v; }
  void strings(std::string_view k, const std::vector<std::string>& v) {
    json::array items(o.storage());
    items.reserve(v.size());
    for (const auto& s : v) items.emplace_back(s);
    o[k] = std::move(items);
  }
};

struct TextSink {
  JsonObjectWriter& w;
  void text(std::string_view k, std::string_view v) { w.text(k, v); }
  void maybe_text(std::string_view k, const std::optional<std::string>& v) {
    v ? w.text(k, *v) : w.null(k);
  }
  void time(std::string_view k, Timestamp t) { w.text(k, format_timestamp(t)); }
  void maybe_time(std::string_view k, const std::optional<Timestamp>& t) {
    t ? time(k, *t) : w.null(k);
  }
  void integer(std::string_view k, const std::optional<int>& v) {
    v ? w.integer(k, *v) : w.null(k);
  }
  void number(std::string_view k, const std::optional<double>& v) {
    v ? w.number(k, *v) : w.null(k);
  }
  void boolean(std::string_view k, bool v) { w.boolean(k, v); }
  void array(std::string_view k, const json::array& v) { w.array(k, v); }
  void object(std::string_view k, const json::object& v) { w.object(k, v); }
  void strings(std::string_view k, const std::vector<std::string>& v) { w.strings(k, v); }
};

}  // namespace

json::object to_json(const Threat& t, json::storage_ptr storage) {
  json::object o(std::move(storage));
  o.reserve(31);  // every member: no rehash while filling
  ObjectSink sink{o};
  threat_members(t, sink);
  return o;
}

void append_json_text(std::string& out, const Threat& t) {
  JsonObjectWriter writer(out);
  TextSink sink{writer};
  threat_members(t, sink);
}

json::object to_feed_json(const Threat& t) {
  return json::object{{"id", t.id},
                      {"timestamp", format_timestamp(t.timestamp)},
                      {"sensor_id", t.sensor_id},
                      {"threat_type", t.threat_type},
                      {"severity", to_string(t.severity)},
                      {"detector_type", t.detector_type},
                      {"threat_score", t.threat_score},
                      {"device_name", or_null(t.device_name)},
                      {"latitude", or_null(t.latitude)},
                      {"longitude", or_null(t.longitude)}};
}

json::object to_json(const Sensor& s, Timestamp now, std::chrono::seconds heartbeat_interval) {
  json::object o;
  o["id"] = s.id;
  o["sensor_id"] = s.sensor_id;
  o["name"] = s.name;
  o["description"] = or_null(s.description);
  o["is_active"] = s.is_active;
  o["is_online"] = is_online(s, now, heartbeat_interval);
  o["last_heartbeat"] = time_or_null(s.last_heartbeat);
  add_sensor_location(s, o);
  add_sensor_platform(s, o);
  o["total_threats_detected"] = s.total_threats_detected;
  o["threats_last_24h"] = s.threats_last_24h;
  o["clock_skew_threats"] = s.clock_skew_threats;
  o["last_clock_skew_seconds"] = or_null(s.last_clock_skew_seconds);
  o["created_at"] = format_timestamp(s.created_at);
  o["updated_at"] = format_timestamp(s.updated_at);
  o["registered_at"] = time_or_null(s.registered_at);
  return o;
}

json::object to_json(const SensorStats& s) {
  return json::object{{"sensor_id", s.sensor_id},
                      {"total_threats", s.total_threats},
                      {"threats_last_24h", s.threats_last_24h},
                      {"threats_last_7d", s.threats_last_7d},
                      {"threats_by_severity", count_object(s.threats_by_severity)},
                      {"threats_by_detector", count_object(s.threats_by_detector)},
                      {"most_common_threat_type", or_null(s.most_common_threat_type)},
                      {"last_threat_timestamp", time_or_null(s.last_threat_timestamp)}};
}

json::object to_json(const User& u) {
  return json::object{{"id", u.id},
                      {"username", u.username},
                      {"email", or_null(u.email)},
                      {"full_name", or_null(u.full_name)},
                      {"role", to_string(u.role)},
                      {"is_active", u.is_active},
                      {"is_verified", u.is_verified},
                      {"created_at", format_timestamp(u.created_at)},
                      {"last_login", time_or_null(u.last_login)}};
}

}  // namespace honeyman::domain
