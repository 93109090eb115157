// domain: the product's values (threats, sensors, users, heartbeats), their validation, the
// normalisation of both wire formats (SPEC §5) into them, and their JSON form on the API.
// Pure functions only: no I/O, no clock reads (callers pass `now`), thread-safe.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

namespace honeyman::domain {

// ---------------------------------------------------------------------------------------------
// Enumerations and their wire names.
enum class Severity { info = 0, low = 1, medium = 2, high = 3, critical = 4 };  // ordered
std::string_view to_string(Severity s);
std::optional<Severity> parse_severity(std::string_view s);  // case-insensitive
inline constexpr Severity kAllSeverities[] = {Severity::critical, Severity::high, Severity::medium,
                                              Severity::low, Severity::info};

enum class Role { viewer = 0, analyst = 1, admin = 2 };  // ordered: admin > analyst > viewer
std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view s);

// The triage state of a threat (SPEC §7). `is_acknowledged` is exactly status != new.
enum class ThreatStatus {
  new_ = 0,
  acknowledged = 1,
  investigating = 2,
  resolved = 3,
  false_positive = 4
};
std::string_view to_string(ThreatStatus s);
std::optional<ThreatStatus> parse_threat_status(std::string_view s);  // exact wire names
inline constexpr ThreatStatus kAllThreatStatuses[] = {
    ThreatStatus::new_, ThreatStatus::acknowledged, ThreatStatus::investigating,
    ThreatStatus::resolved, ThreatStatus::false_positive};

// Sensor ids become MQTT topic levels and broker user names: [A-Za-z0-9._-]{1,64}. Defined in
// core, so that broker (which parses topics and does not link domain) applies the same rule.
using honeyman::is_valid_sensor_id;

// ---------------------------------------------------------------------------------------------
// Threat, as stored and served (SPEC §2 Threats).
struct Threat {
  std::string id;  // UUID v8 of the message it came in (see threat_id), assigned by the server
  Timestamp timestamp;
  std::string sensor_id;
  std::string threat_type;
  std::string detector_type;  // lower-case; usb|wifi|ble|network|airdrop or as given
  Severity severity = Severity::info;
  std::optional<std::string> device_name, device_mac, device_ip, src_host, dst_host;
  std::optional<int> src_port, dst_port;
  std::optional<double> latitude, longitude;
  std::optional<std::string> city, country;
  boost::json::array matched_rules;  // [{"name": ...}, ...]
  std::optional<double> confidence;  // 0..1
  double threat_score = 0.0;         // 0..1
  boost::json::object raw_event;
  std::vector<std::string> mitre_tactics, mitre_techniques;
  bool is_acknowledged = false;
  std::optional<Timestamp> acknowledged_at;
  std::optional<std::string> acknowledged_by;  // username
  std::optional<std::string> acknowledgement_notes;
  ThreatStatus status = ThreatStatus::new_;
  std::optional<std::string> assignee;  // username
  Timestamp created_at;
  Timestamp updated_at;  // the last triage change; created_at until then

  // Ingest only, never stored as columns (a threat read back has neither):
  // the timestamp is the receipt time, not the sensor's (none given, or beyond the clock-skew
  // policy), so a redelivery of the same message would get another one; stores find such a
  // threat's earlier copy by id alone.
  bool timestamp_from_receipt = false;
  // Sensor time minus receipt time, when it was beyond the clock-skew policy (the sensor's time
  // is then kept in raw_event.sensor_timestamp and counted in the sensor's record).
  std::optional<std::chrono::microseconds> clock_skew;
};

// How far a sensor's clock may be from the receipt time before its time is not believed:
// Raspberry Pis often run without a real-time clock (1970 after boot, or a stale saved time).
// Beyond it the threat is stamped with its receipt time and the sensor's time kept in raw_event.
// A time before kEarliestSensorTime is never believed (an unset clock: the product is younger).
struct ClockSkewPolicy {
  std::chrono::seconds max_future{24 * 3600};  // MAX_CLOCK_SKEW_SECONDS
  std::chrono::seconds max_past{0};            // MAX_CLOCK_SKEW_PAST_SECONDS; 0: no limit
};
inline constexpr Timestamp kEarliestSensorTime{std::chrono::seconds(1'577'836'800)};  // 2020-01-01

// Where a threat came from; decides which sensor id is authoritative, and the threat's id.
struct IngestContext {
  // The sensor the transport authenticated (MQTT topic, X-API-Key). When set, a payload that
  // names a different sensor is refused (Errc::forbidden) and a payload with none gets this one.
  std::optional<std::string> authenticated_sensor_id;
  Timestamp now;  // receipt time: default timestamp, created_at, skew check
  // The message's bytes as received (MQTT payload, HTTP body; not owned): with the sensor id and
  // the threat's place in the message they make its id (threat_id), so the same message stores
  // one row however often it arrives. Empty: each threat gets a fresh UUID v7 of `now`.
  std::string_view message;
  ClockSkewPolicy clock_skew;
};

// The id of the `index`-th threat (0-based) of a message from `sensor_id`, given the message's
// SHA-256 (`message_digest`, hex: sha256_hex of its bytes, computed once per message however many
// threats it holds): UUID version 8 (RFC 9562 §5.8) laid out as a v7: 48 bits of `sensor_time` in
// Unix milliseconds (the time the payload states, before any clock-skew correction; zero when it
// states none), then 74 bits of SHA-256(sensor_id NUL index NUL message_digest). The same message
// always gives the same id, and ids of a sensor's threats mostly ascend, so inserts append to the
// id index instead of landing all over it (random ids cost SQLite ~40 % of its insert rate).
std::string threat_id(std::string_view sensor_id, std::string_view message_digest,
                      std::size_t index, std::optional<Timestamp> sensor_time);

// Limits applied to every incoming threat.
inline constexpr std::size_t kMaxThreatsPerPayload = 1000;
inline constexpr std::size_t kMaxRawEventBytes = 64 * 1024;
// Heartbeats later than this after their receipt are refused (threats follow ClockSkewPolicy).
inline constexpr auto kMaxFutureSkew = std::chrono::hours(24);

// Normalises one threat in either wire format (canonical or field agent, detected by its keys)
// into a Threat with its id (threat_id of ctx.message's digest, index 0) and its time under
// ctx.clock_skew. Errors: Errc::invalid_input with FieldError locations relative
// to `loc_prefix` (e.g. {"body"} or {"body", "3"}); Errc::forbidden for a spoofed sensor id.
Result<Threat> normalize_threat(const boost::json::value& payload, const IngestContext& ctx,
                                const std::vector<std::string>& loc_prefix = {"body"});
// A single object or an array (1..kMaxThreatsPerPayload) of them; all or nothing. The i-th
// threat of an array gets threat_id(sensor, digest of ctx.message, i, its stated time).
Result<std::vector<Threat>> normalize_threats(const boost::json::value& payload,
                                              const IngestContext& ctx,
                                              const std::vector<std::string>& loc_prefix = {
                                                  "body"});

// ---------------------------------------------------------------------------------------------
// Heartbeat (agent or canonical shape) and registration message.
struct Heartbeat {
  std::string sensor_id;
  Timestamp timestamp;
  bool is_online = true;
  std::optional<double> latitude, longitude, location_accuracy;
  std::optional<std::string> location_method;
  std::optional<std::vector<std::string>> enabled_detectors;  // agent: detectors that run
  boost::json::object system_info;                            // agent `metrics`, uptime, ...
};
Result<Heartbeat> normalize_heartbeat(const boost::json::value& payload, const IngestContext& ctx,
                                      const std::vector<std::string>& loc_prefix = {"body"});

struct Registration {
  std::string sensor_id;
  std::optional<std::string> sensor_name, platform, agent_version;
  boost::json::object capabilities;
};
Result<Registration> normalize_registration(const boost::json::value& payload,
                                            const IngestContext& ctx,
                                            const std::vector<std::string>& loc_prefix = {"body"});

// ---------------------------------------------------------------------------------------------
// Sensor (SPEC §2 Sensors).
struct Sensor {
  std::string id;  // UUID
  std::string sensor_id;
  std::string name;
  std::optional<std::string> description;
  bool is_active = true;
  std::optional<Timestamp> last_heartbeat;
  std::optional<Timestamp> last_seen;  // latest heartbeat or threat: drives is_online
  std::optional<double> latitude, longitude, location_accuracy;
  std::optional<std::string> location_method, city, country;
  std::vector<std::string> enabled_detectors;
  std::string transport_protocol = "mqtt";
  boost::json::object capabilities;
  std::optional<std::string> platform, architecture, agent_version, python_version;
  std::int64_t total_threats_detected = 0;
  std::int64_t threats_last_24h = 0;  // filled by the store from rollups when read
  std::optional<Timestamp> last_threat_at;
  Timestamp created_at, updated_at;
  std::optional<Timestamp> registered_at;
  // Threats stored at their receipt time because the sensor's clock was beyond ClockSkewPolicy,
  // and the skew of the last one (sensor minus receipt time, whole seconds).
  std::int64_t clock_skew_threats = 0;
  std::optional<double> last_clock_skew_seconds;
};

// Online = seen (heartbeat or threat) within three heartbeat intervals.
bool is_online(const Sensor& s, Timestamp now, std::chrono::seconds heartbeat_interval);

// PUT /sensors/{id}: only the fields present are changed. The outer optional says "present";
// for nullable fields the inner one carries an explicit JSON null (clear the value).
struct SensorUpdate {
  std::optional<std::string> name;
  std::optional<std::optional<std::string>> description, city, country;
  std::optional<bool> is_active;
  std::optional<std::optional<double>> latitude, longitude;
  std::optional<std::vector<std::string>> enabled_detectors;
  bool empty() const;
};
// Unknown fields, wrong types and out-of-range values are Errc::invalid_input.
Result<SensorUpdate> parse_sensor_update(const boost::json::value& body);

struct SensorStats {
  std::string sensor_id;
  std::int64_t total_threats = 0, threats_last_24h = 0, threats_last_7d = 0;
  std::vector<std::pair<std::string, std::int64_t>> threats_by_severity;  // every severity
  std::vector<std::pair<std::string, std::int64_t>> threats_by_detector;
  std::optional<std::string> most_common_threat_type;
  std::optional<Timestamp> last_threat_timestamp;
};

// ---------------------------------------------------------------------------------------------
// Users.
struct User {
  std::string id;  // UUID
  std::string username;
  std::optional<std::string> email, full_name;
  Role role = Role::viewer;
  bool is_active = true;
  bool is_verified = false;
  std::string password_hash;  // argon2id string; never serialised
  Timestamp created_at;
  std::optional<Timestamp> last_login;
  // Tokens issued before this instant are void (set on disable, role change, password change).
  Timestamp tokens_valid_after;
};

// Usernames: [A-Za-z0-9._@-]{1,64}.
bool is_valid_username(std::string_view name);

// ---------------------------------------------------------------------------------------------
// JSON as served by the API. Times use format_timestamp(); secrets never appear.
// `storage`: where the object's memory comes from (a per-response arena when building a page).
boost::json::object to_json(const Threat& t, boost::json::storage_ptr storage = {});
// The same object as JSON text (core::to_json_text's), appended to `out` without building it:
// exports and pages write millions.
void append_json_text(std::string& out, const Threat& t);
// A Threat's members in the API's order, handed to `out` one by one: the one member list behind
// to_json, append_json_text and the CSV export's columns. A Sink has text, maybe_text, time,
// maybe_time, integer, number (both optional values), boolean, array, object and strings, each
// taking the member's name first.
template <class Sink>
void threat_members(const Threat& t, Sink& out) {
  out.text("id", t.id);
  out.time("timestamp", t.timestamp);
  out.text("sensor_id", t.sensor_id);
  out.text("threat_type", t.threat_type);
  out.text("detector_type", t.detector_type);
  out.text("severity", to_string(t.severity));
  out.maybe_text("device_name", t.device_name);
  out.maybe_text("device_mac", t.device_mac);
  out.maybe_text("device_ip", t.device_ip);
  out.maybe_text("src_host", t.src_host);
  out.integer("src_port", t.src_port);
  out.maybe_text("dst_host", t.dst_host);
  out.integer("dst_port", t.dst_port);
  out.number("latitude", t.latitude);
  out.number("longitude", t.longitude);
  out.maybe_text("city", t.city);
  out.maybe_text("country", t.country);
  out.array("matched_rules", t.matched_rules);
  out.number("confidence", t.confidence);
  out.number("threat_score", std::optional<double>(t.threat_score));
  out.object("raw_event", t.raw_event);
  out.strings("mitre_tactics", t.mitre_tactics);
  out.strings("mitre_techniques", t.mitre_techniques);
  out.boolean("is_acknowledged", t.is_acknowledged);
  out.maybe_time("acknowledged_at", t.acknowledged_at);
  out.maybe_text("acknowledged_by", t.acknowledged_by);
  out.maybe_text("acknowledgement_notes", t.acknowledgement_notes);
  out.text("status", to_string(t.status));
  out.maybe_text("assignee", t.assignee);
  out.time("created_at", t.created_at);
  out.time("updated_at", t.updated_at);
}

// The compact form pushed on the live feed (SPEC §2 WebSocket "threat" data).
boost::json::object to_feed_json(const Threat& t);
boost::json::object to_json(const Sensor& s, Timestamp now,
                            std::chrono::seconds heartbeat_interval);
boost::json::object to_json(const SensorStats& s);
boost::json::object to_json(const User& u);

}  // namespace honeyman::domain
