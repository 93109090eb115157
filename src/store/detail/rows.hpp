// Row <-> domain value mapping shared by both stores: the column lists every SELECT uses, the
// readers that turn a row into a domain value, and the JSON text columns. The readers are
// templates over the store's row type (SQLite `Stmt`, PostgreSQL `Row`), which offer the same
// accessors: text, i64, f64, boolean, time and their opt_ forms.
#pragma once

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/domain.hpp"

namespace honeyman::store::detail {

// Threat columns in read_threat() order, followed by `seq` (column kThreatSeqColumn), which
// keyset cursors need. insert binds the same order without `seq`.
inline constexpr std::string_view kThreatColumns =
    "id, timestamp, sensor_id, threat_type, detector_type, severity, device_name, device_mac, "
    "device_ip, src_host, src_port, dst_host, dst_port, latitude, longitude, city, country, "
    "matched_rules, confidence, threat_score, raw_event, mitre_tactics, mitre_techniques, "
    "is_acknowledged, acknowledged_at, acknowledged_by, acknowledgement_notes, created_at, seq";
inline constexpr int kThreatSeqColumn = 28;

inline constexpr std::string_view kSensorColumns =
    "id, sensor_id, name, description, is_active, last_heartbeat, last_seen, latitude, "
    "longitude, location_method, location_accuracy, city, country, enabled_detectors, "
    "transport_protocol, capabilities, platform, architecture, agent_version, python_version, "
    "total_threats_detected, last_threat_at, created_at, updated_at, registered_at";

inline constexpr std::string_view kUserColumns =
    "id, username, email, full_name, role, is_active, is_verified, password_hash, created_at, "
    "last_login, tokens_valid_after";

// JSON text columns. Everything in them was written by us, so a parse failure (which would mean
// outside tampering) reads as empty rather than failing the whole row.
std::string json_text(const boost::json::value& v);
std::string json_text(const std::vector<std::string>& strings);
boost::json::array parse_json_array(std::string_view text);
boost::json::object parse_json_object(std::string_view text);
std::vector<std::string> parse_json_strings(std::string_view text);

template <class Row>
std::optional<int> opt_int(const Row& row, int col) {
  auto v = row.opt_i64(col);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

inline domain::Severity severity_of(std::int64_t v) {
  return static_cast<domain::Severity>(std::clamp<std::int64_t>(v, 0, 4));
}

template <class Row>
domain::Threat read_threat(const Row& row) {
  domain::Threat t;
  t.id = row.text(0);
  t.timestamp = row.time(1);
  t.sensor_id = row.text(2);
  t.threat_type = row.text(3);
  t.detector_type = row.text(4);
  t.severity = severity_of(row.i64(5));
  t.device_name = row.opt_text(6);
  t.device_mac = row.opt_text(7);
  t.device_ip = row.opt_text(8);
  t.src_host = row.opt_text(9);
  t.src_port = opt_int(row, 10);
  t.dst_host = row.opt_text(11);
  t.dst_port = opt_int(row, 12);
  t.latitude = row.opt_f64(13);
  t.longitude = row.opt_f64(14);
  t.city = row.opt_text(15);
  t.country = row.opt_text(16);
  t.matched_rules = parse_json_array(row.text(17));
  t.confidence = row.opt_f64(18);
  t.threat_score = row.f64(19);
  t.raw_event = parse_json_object(row.text(20));
  t.mitre_tactics = parse_json_strings(row.text(21));
  t.mitre_techniques = parse_json_strings(row.text(22));
  t.is_acknowledged = row.boolean(23);
  t.acknowledged_at = row.opt_time(24);
  t.acknowledged_by = row.opt_text(25);
  t.acknowledgement_notes = row.opt_text(26);
  t.created_at = row.time(27);
  return t;
}

// threats_last_24h is left 0.
template <class Row>
domain::Sensor read_sensor(const Row& row) {
  domain::Sensor s;
  s.id = row.text(0);
  s.sensor_id = row.text(1);
  s.name = row.text(2);
  s.description = row.opt_text(3);
  s.is_active = row.boolean(4);
  s.last_heartbeat = row.opt_time(5);
  s.last_seen = row.opt_time(6);
  s.latitude = row.opt_f64(7);
  s.longitude = row.opt_f64(8);
  s.location_method = row.opt_text(9);
  s.location_accuracy = row.opt_f64(10);
  s.city = row.opt_text(11);
  s.country = row.opt_text(12);
  s.enabled_detectors = parse_json_strings(row.text(13));
  s.transport_protocol = row.text(14);
  s.capabilities = parse_json_object(row.text(15));
  s.platform = row.opt_text(16);
  s.architecture = row.opt_text(17);
  s.agent_version = row.opt_text(18);
  s.python_version = row.opt_text(19);
  s.total_threats_detected = row.i64(20);
  s.last_threat_at = row.opt_time(21);
  s.created_at = row.time(22);
  s.updated_at = row.time(23);
  s.registered_at = row.opt_time(24);
  return s;
}

template <class Row>
domain::User read_user(const Row& row) {
  domain::User u;
  u.id = row.text(0);
  u.username = row.text(1);
  u.email = row.opt_text(2);
  u.full_name = row.opt_text(3);
  // Roles are written from domain::Role; an unknown text gets the least privilege.
  u.role = domain::parse_role(row.text(4)).value_or(domain::Role::viewer);
  u.is_active = row.boolean(5);
  u.is_verified = row.boolean(6);
  u.password_hash = row.text(7);
  u.created_at = row.time(8);
  u.last_login = row.opt_time(9);
  u.tokens_valid_after = row.time(10);
  return u;
}

}  // namespace honeyman::store::detail
