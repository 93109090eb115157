// Row <-> domain value mapping shared by both stores: the column lists every SELECT and INSERT
// uses, and for each domain value the list of its fields in column order, which both reads a
// row into the value and binds the value's fields as parameters. One list per table, so a column
// added to one side cannot be forgotten on the other.
//
// Reads are templates over the store's row type (SQLite `Stmt`, PostgreSQL `Row`), which offer
// the same accessors (text, i64, f64, boolean, time and their opt_ forms); they inline to one
// accessor call per column.
#pragma once

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "domain/domain.hpp"

namespace honeyman::store::detail {

// Threat columns in threat_fields() order, followed by `seq` (column kThreatSeqColumn), which
// keyset cursors need. updated_at is NULL in rows stored before it existed (the migration that
// added it rewrote no rows): read as created_at then.
inline constexpr std::string_view kThreatColumns =
    "id, timestamp, sensor_id, threat_type, detector_type, severity, device_name, device_mac, "
    "device_ip, src_host, src_port, dst_host, dst_port, latitude, longitude, city, country, "
    "matched_rules, confidence, threat_score, raw_event, mitre_tactics, mitre_techniques, "
    "is_acknowledged, acknowledged_at, acknowledged_by, acknowledgement_notes, status, assignee, "
    "coalesce(updated_at, created_at), created_at, seq";
// The same columns as inserts write them (PostgreSQL's COPY with `seq` last).
inline constexpr std::string_view kThreatInsertColumns =
    "id, timestamp, sensor_id, threat_type, detector_type, severity, device_name, device_mac, "
    "device_ip, src_host, src_port, dst_host, dst_port, latitude, longitude, city, country, "
    "matched_rules, confidence, threat_score, raw_event, mitre_tactics, mitre_techniques, "
    "is_acknowledged, acknowledged_at, acknowledged_by, acknowledgement_notes, status, assignee, "
    "updated_at, created_at, seq";
inline constexpr int kThreatSeqColumn = 31;

inline constexpr std::string_view kSensorColumns =
    "id, sensor_id, name, description, is_active, last_heartbeat, last_seen, latitude, "
    "longitude, location_method, location_accuracy, city, country, enabled_detectors, "
    "transport_protocol, capabilities, platform, architecture, agent_version, python_version, "
    "total_threats_detected, last_threat_at, created_at, updated_at, registered_at, "
    "clock_skew_threats, last_clock_skew_seconds";

inline constexpr std::string_view kUserColumns =
    "id, username, email, full_name, role, is_active, is_verified, password_hash, created_at, "
    "last_login, tokens_valid_after";

// The fields of a value in its columns' order; `T` is the value type or its const form.
template <class T>
auto threat_fields(T& t) {
  return std::tie(t.id, t.timestamp, t.sensor_id, t.threat_type, t.detector_type, t.severity,
                  t.device_name, t.device_mac, t.device_ip, t.src_host, t.src_port, t.dst_host,
                  t.dst_port, t.latitude, t.longitude, t.city, t.country, t.matched_rules,
                  t.confidence, t.threat_score, t.raw_event, t.mitre_tactics, t.mitre_techniques,
                  t.is_acknowledged, t.acknowledged_at, t.acknowledged_by, t.acknowledgement_notes,
                  t.status, t.assignee, t.updated_at, t.created_at);
}
// Without threats_last_24h, which is counted, not stored.
template <class T>
auto sensor_fields(T& s) {
  return std::tie(s.id, s.sensor_id, s.name, s.description, s.is_active, s.last_heartbeat,
                  s.last_seen, s.latitude, s.longitude, s.location_method, s.location_accuracy,
                  s.city, s.country, s.enabled_detectors, s.transport_protocol, s.capabilities,
                  s.platform, s.architecture, s.agent_version, s.python_version,
                  s.total_threats_detected, s.last_threat_at, s.created_at, s.updated_at,
                  s.registered_at, s.clock_skew_threats, s.last_clock_skew_seconds);
}
template <class T>
auto user_fields(T& u) {
  return std::tie(u.id, u.username, u.email, u.full_name, u.role, u.is_active, u.is_verified,
                  u.password_hash, u.created_at, u.last_login, u.tokens_valid_after);
}

// JSON text columns. Everything in them was written by us, so a parse failure (which would mean
// outside tampering) reads as empty rather than failing the whole row.
std::string json_text(const boost::json::value& v);
std::string json_text(const std::vector<std::string>& strings);
boost::json::array parse_json_array(std::string_view text);
boost::json::object parse_json_object(std::string_view text);
std::vector<std::string> parse_json_strings(std::string_view text);

inline domain::Severity severity_of(std::int64_t v) {
  return static_cast<domain::Severity>(std::clamp<std::int64_t>(v, 0, 4));
}
inline domain::ThreatStatus status_of_code(std::int64_t v) {
  return static_cast<domain::ThreatStatus>(std::clamp<std::int64_t>(v, 0, 4));
}

// One column into one field, by the field's type.
template <class Row, class T>
void read_field(const Row& row, int col, T& f) {
  if constexpr (std::is_same_v<T, std::string>)
    f = row.text(col);
  else if constexpr (std::is_same_v<T, std::optional<std::string>>)
    f = row.opt_text(col);
  else if constexpr (std::is_same_v<T, Timestamp>)
    f = row.time(col);
  else if constexpr (std::is_same_v<T, std::optional<Timestamp>>)
    f = row.opt_time(col);
  else if constexpr (std::is_same_v<T, double>)
    f = row.f64(col);
  else if constexpr (std::is_same_v<T, std::optional<double>>)
    f = row.opt_f64(col);
  else if constexpr (std::is_same_v<T, std::int64_t>)
    f = row.i64(col);
  else if constexpr (std::is_same_v<T, std::optional<int>>)
    f = row.is_null(col) ? std::nullopt : std::optional<int>(static_cast<int>(row.i64(col)));
  else if constexpr (std::is_same_v<T, bool>)
    f = row.boolean(col);
  else if constexpr (std::is_same_v<T, domain::Severity>)
    f = severity_of(row.i64(col));
  else if constexpr (std::is_same_v<T, domain::ThreatStatus>)
    f = status_of_code(row.i64(col));
  else if constexpr (std::is_same_v<T, domain::Role>)  // an unknown text: least privilege
    f = domain::parse_role(row.text(col)).value_or(domain::Role::viewer);
  else if constexpr (std::is_same_v<T, boost::json::array>)
    f = parse_json_array(row.text(col));
  else if constexpr (std::is_same_v<T, boost::json::object>)
    f = parse_json_object(row.text(col));
  else if constexpr (std::is_same_v<T, std::vector<std::string>>)
    f = parse_json_strings(row.text(col));
  else
    static_assert(sizeof(T) == 0, "no column type for this field");
}

// Columns 0, 1, ... of `row` into `fields` (a std::tie of them).
template <class Row, class Fields>
void read_fields(const Row& row, Fields fields) {
  std::apply(
      [&](auto&... f) {
        int col = 0;
        (read_field(row, col++, f), ...);
      },
      fields);
}

// A field as a statement parameter: as it is, or in its stored form (JSON as text, severity as
// its number, status as its number, role as its name).
template <class T>
const T& stored(const T& field) {
  return field;
}
inline int stored(domain::Severity s) {
  return static_cast<int>(s);
}
inline int stored(domain::ThreatStatus s) {
  return static_cast<int>(s);
}
inline std::string_view stored(domain::Role r) {
  return domain::to_string(r);
}
inline std::string stored(const boost::json::array& a) {
  return json_text(a);
}
inline std::string stored(const boost::json::object& o) {
  return json_text(o);
}
inline std::string stored(const std::vector<std::string>& strings) {
  return json_text(strings);
}

// fn(stored(field)...) over `fields`: binds a value's fields in column order.
template <class Fields, class Fn>
decltype(auto) with_stored(Fields fields, Fn&& fn) {
  return std::apply([&](const auto&... f) -> decltype(auto) { return fn(stored(f)...); }, fields);
}

// Readers, as objects so they can be handed to fetch_one / fetch_all.
inline constexpr auto read_threat = [](const auto& row) {
  domain::Threat t;
  read_fields(row, threat_fields(t));
  return t;
};
// threats_last_24h is left 0.
inline constexpr auto read_sensor = [](const auto& row) {
  domain::Sensor s;
  read_fields(row, sensor_fields(s));
  return s;
};
inline constexpr auto read_user = [](const auto& row) {
  domain::User u;
  read_fields(row, user_fields(u));
  return u;
};

}  // namespace honeyman::store::detail
