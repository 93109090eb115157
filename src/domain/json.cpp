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

void add_threat_origin(const Threat& t, json::object& o) {
  o["device_name"] = or_null(t.device_name);
  o["device_mac"] = or_null(t.device_mac);
  o["device_ip"] = or_null(t.device_ip);
  o["src_host"] = or_null(t.src_host);
  o["src_port"] = or_null(t.src_port);
  o["dst_host"] = or_null(t.dst_host);
  o["dst_port"] = or_null(t.dst_port);
  o["latitude"] = or_null(t.latitude);
  o["longitude"] = or_null(t.longitude);
  o["city"] = or_null(t.city);
  o["country"] = or_null(t.country);
}

void add_threat_evidence(const Threat& t, json::object& o) {
  o["matched_rules"] = t.matched_rules;
  o["confidence"] = or_null(t.confidence);
  o["threat_score"] = t.threat_score;
  o["raw_event"] = t.raw_event;
  o["mitre_tactics"] = string_array(t.mitre_tactics);
  o["mitre_techniques"] = string_array(t.mitre_techniques);
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

}  // namespace

json::object to_json(const Threat& t, json::storage_ptr storage) {
  json::object o(std::move(storage));
  o.reserve(35);  // every field below: no rehash while filling
  o["id"] = t.id;
  o["timestamp"] = format_timestamp(t.timestamp);
  o["sensor_id"] = t.sensor_id;
  o["threat_type"] = t.threat_type;
  o["detector_type"] = t.detector_type;
  o["severity"] = to_string(t.severity);
  add_threat_origin(t, o);
  add_threat_evidence(t, o);
  o["is_acknowledged"] = t.is_acknowledged;
  o["acknowledged_at"] = time_or_null(t.acknowledged_at);
  o["acknowledged_by"] = or_null(t.acknowledged_by);
  o["acknowledgement_notes"] = or_null(t.acknowledgement_notes);
  o["status"] = to_string(t.status);
  o["assignee"] = or_null(t.assignee);
  o["created_at"] = format_timestamp(t.created_at);
  o["updated_at"] = format_timestamp(t.updated_at);
  return o;
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
