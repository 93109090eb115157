// Row <-> domain value mapping for the PostgreSQL store: the column lists every SELECT uses, the
// readers that turn a row into a domain value, and the JSON text columns.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "domain/domain.hpp"
#include "store/postgres/detail/pg.hpp"

namespace honeyman::store::pg {

// Threat columns in read_threat() order, followed by `seq` (column kThreatSeqColumn), which
// keyset cursors need.
inline constexpr std::string_view kThreatColumns =
    "id, timestamp, sensor_id, threat_type, detector_type, severity, device_name, device_mac, "
    "device_ip, src_host, src_port, dst_host, dst_port, latitude, longitude, city, country, "
    "matched_rules, confidence, threat_score, raw_event, mitre_tactics, mitre_techniques, "
    "is_acknowledged, acknowledged_at, acknowledged_by, acknowledgement_notes, created_at, seq";
inline constexpr int kThreatSeqColumn = 28;
domain::Threat read_threat(const Row& row);

inline constexpr std::string_view kSensorColumns =
    "id, sensor_id, name, description, is_active, last_heartbeat, last_seen, latitude, "
    "longitude, location_method, location_accuracy, city, country, enabled_detectors, "
    "transport_protocol, capabilities, platform, architecture, agent_version, python_version, "
    "total_threats_detected, last_threat_at, created_at, updated_at, registered_at";
domain::Sensor read_sensor(const Row& row);  // threats_last_24h is left 0

inline constexpr std::string_view kUserColumns =
    "id, username, email, full_name, role, is_active, is_verified, password_hash, created_at, "
    "last_login, tokens_valid_after";
domain::User read_user(const Row& row);

// JSON text columns. Everything in them was written by us, so a parse failure (which would mean
// outside tampering) reads as empty rather than failing the whole row.
std::string json_text(const boost::json::value& v);
std::string json_text(const std::vector<std::string>& strings);
boost::json::array parse_json_array(std::string_view text);
boost::json::object parse_json_object(std::string_view text);
std::vector<std::string> parse_json_strings(std::string_view text);

// "$first::type, $first+1::type, ..." for `n` parameters.
std::string placeholders(int first, int n, std::string_view type);

}  // namespace honeyman::store::pg
