// store: durable state behind one interface, with an embedded SQLite implementation (default)
// and a PostgreSQL one (libpq). Callers never see SQL or a driver type.
//
// Contract shared by every implementation:
//  - every method is thread-safe; implementations keep their own connections;
//  - every method blocks: call it from a BlockingPool, never from a network thread;
//  - errors: Errc::not_found (no such row), Errc::conflict (uniqueness), Errc::unavailable
//    (database unreachable or busy beyond its timeout: retry later), Errc::internal (a bug);
//  - times are microsecond UTC; the store never reads the wall clock itself — callers pass
//    `now`, so tests control time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "domain/domain.hpp"

namespace honeyman::store {

struct StoreConfig {
  // sqlite:///relative/or//absolute/path.db, sqlite:///:memory: (tests), or postgresql://...
  std::string database_url = "sqlite:///./honeyman.db";
  int read_connections = 4;    // readers run in parallel with the single writer (WAL)
  int busy_timeout_ms = 5000;  // how long a statement waits for a lock before `unavailable`
  // PostgreSQL: connections in the pool (opened on demand; a call waits when all are busy).
  // Sized for STORE_THREADS blocking threads plus the ingest writer.
  int pool_size = 8;
};

// ---------------------------------------------------------------------------------------------
// Queries.
enum class ThreatSort {
  timestamp,
  severity,
  threat_score,
  threat_type,
  sensor_id,
  detector_type,
  created_at
};
std::optional<ThreatSort> parse_threat_sort(std::string_view s);

// Export pages are larger than list pages: fewer statements per exported row, and the page (a
// few MB of threats) is still small beside the server's other buffers.
inline constexpr int kMaxExportPageSize = 5000;

struct ThreatQuery {
  std::vector<std::string> sensor_ids, detector_types, threat_types;  // OR within, AND across
  std::vector<domain::Severity> severities;
  std::optional<Timestamp> start_time;  // inclusive
  std::optional<Timestamp> end_time;    // exclusive
  std::optional<bool> is_acknowledged;
  std::vector<domain::ThreatStatus> statuses;  // OR within (SPEC §7)
  // A username; the empty string selects threats assigned to nobody.
  std::optional<std::string> assignee;
  // Exports: only threats stored up to this insertion sequence number (latest_threat_seq() when
  // the export began), so rows stored meanwhile do not shift the keyset pages.
  std::optional<std::int64_t> max_seq;
  // False: ThreatPage::total is not computed (left 0): exports page with the cursor only, and
  // page_size may then be up to kMaxExportPageSize.
  bool with_total = true;
  ThreatSort sort_by = ThreatSort::timestamp;
  bool descending = true;
  int page = 1;        // offset paging: used only when `cursor` is empty
  int page_size = 50;  // 1..1000 (1..kMaxExportPageSize when !with_total)
  std::string cursor;  // opaque, from a previous ThreatPage::next_cursor; must match the sort
};

struct ThreatPage {
  std::vector<domain::Threat> threats;
  std::int64_t total = 0;
  // False when `total` is a lower bound: counting stopped at kTotalCountCap rows because the
  // filters are not answerable from the counters (time window, acknowledgement).
  bool total_is_exact = true;
  std::string next_cursor;  // empty on the last page
};
inline constexpr std::int64_t kTotalCountCap = 10'000;

struct SensorQuery {
  std::optional<bool> is_active;
  // is_online is derived from last_seen: online means last_seen >= online_since.
  std::optional<bool> is_online;
  Timestamp online_since;
  Timestamp now;  // for threats_last_24h
  int page = 1;
  int page_size = 50;
};

// A sensor whose derived online state changed since it was last announced (sweep_sensor_status).
struct SensorStatusChange {
  std::string sensor_id;
  bool is_online = false;
  std::optional<Timestamp> last_heartbeat;
};

struct SensorPage {
  std::vector<domain::Sensor> sensors;  // newest first (created_at desc)
  std::int64_t total = 0;
};

// ---------------------------------------------------------------------------------------------
// Analytics (SPEC §2 Analytics) and retention. Every analytics answer is an exact count over a
// half-open window [start, end), computed from the hourly rollups for the whole hours inside it
// and from the raw rows for the partial hours at its ends. Windows reaching further back than
// raw retention (DATA_RETENTION_DAYS) are exact only to the hour there: the raw rows of their
// partial edge hours are gone, the rollups of whole hours remain.
struct TimeWindow {
  Timestamp start;  // inclusive
  Timestamp end;    // exclusive
};

// Threat counts by severity. Indexed by domain::Severity (info = 0 .. critical = 4).
struct SeverityCounts {
  std::array<std::int64_t, 5> by_severity{};
  std::int64_t& operator[](domain::Severity s) { return by_severity[static_cast<int>(s)]; }
  std::int64_t operator[](domain::Severity s) const { return by_severity[static_cast<int>(s)]; }
  std::int64_t total() const;
  bool operator==(const SeverityCounts&) const = default;
};

// Trend buckets: UTC clock hours, UTC days, ISO weeks (Monday 00:00 UTC).
enum class TrendBucket { hour, day, week };
// Start of the bucket holding `t`. Shared by the stores and the API so bucket keys agree.
Timestamp trend_bucket_start(TrendBucket bucket, Timestamp t);
// The length of one bucket.
std::chrono::microseconds trend_bucket_length(TrendBucket bucket);

struct FleetOverview {
  std::int64_t total_sensors = 0, active_sensors = 0;
  std::int64_t online_sensors = 0;  // last_seen >= online_since
  // All time, from the all-time totals: raw-row retention does not reduce it (history).
  std::int64_t total_threats = 0;
  SeverityCounts last_24h;     // [now - 24 h, now]
  double score_sum_24h = 0;    // sum of threat_score over last_24h (for the average)
  std::int64_t last_7d = 0;    // [now - 7 d, now]
  std::int64_t last_hour = 0;  // [now - 1 h, now]
};

struct TrendQuery {
  TrendBucket bucket = TrendBucket::hour;
  TimeWindow window;
  std::optional<std::string> sensor_id;  // empty: the whole fleet
};
struct TrendPoint {
  Timestamp bucket_start;  // trend_bucket_start(); may lie before window.start (first bucket)
  SeverityCounts counts;   // threats of this bucket that fall inside the window
};

struct ThreatTypeCount {
  std::string threat_type;
  SeverityCounts counts;
};
struct ThreatTypeRanking {
  std::vector<ThreatTypeCount> top;  // by count desc, then threat_type asc; at most `limit`
  std::int64_t total = 0;            // every threat in the window (for percentages)
};

// One sensor's threats in a window, with the sensor's current name and place (empty when the
// sensor has since been deleted: its threats stay as history).
struct SensorThreatCount {
  std::string sensor_id;
  std::optional<std::string> name, city, country;
  std::optional<double> latitude, longitude;
  SeverityCounts counts;
};

// ---------------------------------------------------------------------------------------------
// Triage (SPEC §7).
// A change to threats by a person: PATCH /threats/{id} or POST /threats/bulk's `set`. Fields left
// unset are not changed.
struct ThreatChange {
  std::optional<domain::ThreatStatus> status;
  std::optional<std::optional<std::string>> assignee;  // inner nullopt: unassign
  std::optional<std::string> note;                     // recorded in the history
  bool empty() const { return !status && !assignee; }  // a note alone changes nothing
};

// One entry of a threat's history: who changed what, when ({field: [old, new]}, JSON values).
struct HistoryEntry {
  Timestamp at;
  std::string actor;  // username
  boost::json::object changes;
  std::optional<std::string> note;
};

// What POST /threats/bulk selects: explicit ids, or the list query's filters (its sort, paging,
// max_seq and with_total are ignored).
struct ThreatSelection {
  std::vector<std::string> ids;
  std::optional<ThreatQuery> filter;
};
struct BulkOutcome {
  std::int64_t matched = 0;  // threats selected
  std::int64_t changed = 0;  // of those, threats whose status or assignee changed
};

// ---------------------------------------------------------------------------------------------
// Audit log (SPEC §7): who changed what. Written by the change's own transaction when a store
// method takes one, so there is no change without its record and no record without its change.
struct AuditEntry {
  std::int64_t id = 0;  // assigned by the store; ascending in insertion order
  Timestamp at;
  std::string actor;  // username, "cli:<os user>", a sensor id, or the name a failed login gave
  std::string actor_role;   // admin|analyst|viewer|sensor|cli|anonymous
  std::string client_addr;  // empty for the CLI
  std::string action;       // e.g. "threat.update", "user.create", "auth.login_failed"
  std::string target_type;  // threat|user|sensor|onboarding_token|session|...
  std::string target_id;
  boost::json::object details;
};

// Who makes a change: the actor fields of its audit record.
struct Actor {
  std::string name;         // username, or "cli:<os user>"
  std::string role;         // admin|analyst|viewer|cli|sensor|anonymous
  std::string client_addr;  // empty for the CLI
};
inline AuditEntry audit_entry(const Actor& actor, Timestamp at, std::string action,
                              std::string target_type, std::string target_id,
                              boost::json::object details = {}) {
  AuditEntry e;
  e.at = at;
  e.actor = actor.name;
  e.actor_role = actor.role;
  e.client_addr = actor.client_addr;
  e.action = std::move(action);
  e.target_type = std::move(target_type);
  e.target_id = std::move(target_id);
  e.details = std::move(details);
  return e;
}

struct AuditQuery {
  std::optional<std::string> actor, action, target_type, target_id;
  std::optional<Timestamp> start_time;  // inclusive
  std::optional<Timestamp> end_time;    // exclusive
  std::string cursor;                   // opaque, from AuditPage::next_cursor
  int page_size = 50;                   // 1..1000
};
struct AuditPage {
  std::vector<AuditEntry> entries;  // newest first (id descending)
  std::string next_cursor;          // empty on the last page
};

// ---------------------------------------------------------------------------------------------
// Auth state.
// What an administrator changes about a user (change_user); columns left unset are not written.
// role, is_active and password_hash end the user's sessions; email and full_name do not.
struct UserChange {
  std::optional<domain::Role> role;
  std::optional<bool> is_active;
  std::optional<std::string> password_hash;
  std::optional<std::optional<std::string>> email, full_name;  // inner nullopt: clear
  bool ends_sessions() const { return role || is_active || password_hash; }
};

struct UserQuery {
  int page = 1;        // >= 1
  int page_size = 50;  // 1..100
};
struct UserPage {
  std::vector<domain::User> users;  // by username
  std::int64_t total = 0;
};

struct Session {   // a refresh-token family: everything descended from one login
  std::string id;  // UUID
  std::string user_id;
  Timestamp created_at;
  Timestamp expires_at;
};

enum class RotateOutcome {
  rotated,  // the presented token was live; it is now spent and the new one is live
  reused,   // the presented token was already spent: the whole family is now revoked
  invalid,  // unknown, expired, or its family is revoked
};
struct RotateResult {
  RotateOutcome outcome = RotateOutcome::invalid;
  std::string user_id;
  std::string session_id;
};

struct RevokedToken {
  std::string jti;
  Timestamp expires_at;  // can be forgotten after this
};

struct OnboardingToken {
  std::string token_hash;  // sha256_hex of the token; the token itself is never stored
  std::string sensor_name;
  std::optional<std::string> description;
  std::string created_by;  // user id
  Timestamp created_at, expires_at;
  std::optional<Timestamp> used_at;
  std::optional<std::string> used_by_sensor;
};

struct DeadLetter {
  std::int64_t id = 0;  // assigned by the store
  Timestamp received_at;
  std::string source;  // "mqtt", "http"
  std::string topic;   // MQTT topic or HTTP route
  std::string reason;
  std::string payload;  // raw bytes as received (truncated by the caller if huge)
};

// ---------------------------------------------------------------------------------------------
// Alerting and sensor commands (SPEC §8). Destinations and rules keep their kind-specific
// settings as JSON objects the alerting module validates (the store only keeps them); secrets are
// stored (HMAC keys must be usable) and never returned by the API.
struct AlertDestination {
  std::string id;  // UUID
  std::string name;
  std::string kind;            // webhook|slack|pagerduty|syslog
  boost::json::object config;  // url, secret, routing_key, host, port, transport, format
  Timestamp created_at, updated_at;
};

struct AlertRule {
  std::string id;  // UUID
  std::string name;
  bool enabled = true;
  // {match: {...}, threshold?: {...}, cooldown_seconds, destination_ids: [...]}
  boost::json::object definition;
  Timestamp created_at, updated_at;
};

struct Alert {
  std::string id;  // UUID v7 (time-ordered)
  std::string rule_id, rule_name;
  Timestamp fired_at;
  std::optional<std::string> sensor_id;  // per-sensor rules; none for fleet-wide ones
  std::vector<std::string> threat_ids;   // the threats that fired it (the last `count`, capped)
  std::int64_t count = 0;                // matching threats in the window that fired it
  std::string status = "firing";         // firing|acknowledged|resolved
  std::optional<std::string> acknowledged_by;
  std::optional<Timestamp> acknowledged_at;
  boost::json::object summary;  // the firing threat: severity, threat_type, detector_type, ...
};

struct AlertQuery {
  std::optional<std::string> status, rule_id, sensor_id;
  std::string cursor;  // opaque, from AlertPage::next_cursor
  int page_size = 50;  // 1..1000
};
struct AlertPage {
  std::vector<Alert> alerts;  // newest first
  std::string next_cursor;    // empty on the last page
};

// One alert's delivery to one destination: the outbox row. `body` is the exact request body,
// built once when the alert fired, so every retry sends the same bytes.
struct Delivery {
  std::string id;  // UUID: X-Honeyman-Delivery
  std::string alert_id, destination_id;
  std::string status = "pending";  // pending|delivered|failed
  int attempts = 0;
  Timestamp created_at, next_attempt_at;
  std::optional<Timestamp> delivered_at;
  std::string last_error;
  std::string body;
};
struct DeliveryQuery {
  std::optional<std::string> status, alert_id;
  std::string cursor;
  int page_size = 50;  // 1..1000
};
struct DeliveryPage {
  std::vector<Delivery> deliveries;  // newest first
  std::string next_cursor;
};
// What became of one delivery attempt (finish_delivery).
struct DeliveryOutcome {
  // release: not attempted (its destination was busy): the claim ends, attempts stay (pass
  // the delivery's last_error as `error` to keep it).
  enum Kind { delivered, retry, failed, release } kind = delivered;
  Timestamp at;               // when the attempt ended
  Timestamp next_attempt_at;  // retry, release: when to try again
  std::string error;          // retry/failed: why
};

struct SensorCommand {
  std::string id;  // UUID
  std::string sensor_id;
  std::string kind;     // command|rule_update
  std::string command;  // the command's name ("rule_update" for rule updates)
  boost::json::object args;
  std::string status = "sent";  // sent|delivered|succeeded|failed
  Timestamp issued_at;
  std::string issued_by;
  std::optional<Timestamp> updated_at;
  std::optional<std::string> message;  // the agent's answer
};

// ---------------------------------------------------------------------------------------------
// Schema migrations, as the CLI and the server's log name them.
struct MigrationInfo {
  int version = 0;
  std::string name;
};
// What migrate() reports around each migration it applies: once before (done == false) and once
// after (done == true, `took` set). Long migrations on big tables are then visible as they run.
struct MigrationStep {
  int version = 0;
  std::string_view name;
  bool done = false;
  std::chrono::microseconds took{0};
};
using MigrationProgress = std::function<void(const MigrationStep&)>;

// ---------------------------------------------------------------------------------------------
// What insert_threats wrote. inserted[i] says whether the i-th threat was inserted; false: the
// same id was already stored, or came earlier in the batch (nothing written, nothing counted).
struct InsertOutcome {
  std::vector<bool> inserted;
  std::size_t count = 0;  // threats inserted
};

class Store {
 public:
  virtual ~Store() = default;

  // Schema. migrate() applies pending compiled-in migrations in order, each in a transaction,
  // and returns the resulting version; safe to run concurrently from several processes.
  // `progress`, when set, hears of each migration this call applies (not of those another
  // process applied meanwhile).
  virtual Result<int> migrate(const MigrationProgress& progress) = 0;
  Result<int> migrate() { return migrate(MigrationProgress()); }
  virtual Result<int> schema_version() = 0;  // 0 before any migration
  // The migrations this binary knows, in version order; the last one's version is the newest
  // schema it can run on.
  virtual std::vector<MigrationInfo> known_migrations() const = 0;
  virtual Status ping() = 0;  // cheap round trip, for /ready
  // Periodic upkeep at time `now`, safe to call from several processes at once. PostgreSQL
  // creates the day partitions of `threats` ahead (yesterday .. now + 7 days); migrate() also
  // runs it. Stores with nothing to maintain (SQLite) return ok.
  virtual Status maintain(Timestamp now) {
    (void)now;
    return {};
  }

  // Audit records. Every method below that takes `audit` writes it (when not null) in the
  // transaction of its change, and not at all when the change fails; its `id` is ignored. The
  // threat changes add what they changed to its details ("changes", or "matched"/"changed").
  // record_audit writes a record with no change to go with it (a failed login).
  virtual Status record_audit(const AuditEntry& entry) = 0;
  // Newest first, keyset paging on the id. Errc::invalid_input for a bad cursor.
  virtual Result<AuditPage> query_audit(const AuditQuery& query) = 0;
  // Audit retention (AUDIT_RETENTION_DAYS), independent of threat retention: removes at most
  // `batch_limit` (>= 1) records older than `cutoff`, oldest first; returns how many.
  virtual Result<std::int64_t> delete_audit_before(Timestamp cutoff, int batch_limit) = 0;

  // Users. create_user: Errc::conflict when the username or email is taken.
  virtual Result<domain::User> create_user(const domain::User& user,
                                           const AuditEntry* audit = nullptr) = 0;
  virtual Result<domain::User> find_user_by_id(std::string_view id) = 0;
  virtual Result<domain::User> find_user_by_name(std::string_view username) = 0;
  virtual Result<std::vector<domain::User>> list_users() = 0;  // by username
  virtual Result<UserPage> list_users(const UserQuery& query) = 0;
  // An administrator's change, in one transaction: writes only the columns set in `change`;
  // when change.ends_sessions(), stamps tokens_valid_after = now and revokes every live session
  // of the user (revoked_at = now). No write of other columns (a login's last_login) can undo
  // it, and no session from before it survives it. Returns the user as stored after.
  // Errc::not_found for an unknown id; Errc::conflict when the username's email is taken, or
  // when the change would leave no active admin (demoting or disabling the last one).
  virtual Result<domain::User> change_user(std::string_view user_id, const UserChange& change,
                                           Timestamp now, const AuditEntry* audit = nullptr) = 0;
  // Removes the user and its sessions. Errc::not_found for an unknown id; Errc::conflict when it
  // is the last active admin.
  virtual Status delete_user(std::string_view user_id, const AuditEntry* audit = nullptr) = 0;
  // Users whose tokens_valid_after is > `since` (for instances to refresh their revocation view).
  virtual Result<std::vector<std::pair<std::string, Timestamp>>> users_invalidated_since(
      Timestamp since) = 0;

  // Sessions and refresh tokens. Only hashes of refresh tokens are passed in.
  // A login's one write, atomic against change_user: when the user `session.user_id` is still
  // active and still has `password_hash` (the hash the password was verified against), sets
  // its last_login to session.created_at and creates the session with its first refresh token.
  // Returns the user as stored then (its current role). Errc::not_found: no such user;
  // Errc::forbidden: the user is inactive; Errc::unauthorized: the password changed since.
  virtual Result<domain::User> start_session(const Session& session, std::string_view refresh_hash,
                                             std::string_view password_hash,
                                             const AuditEntry* audit = nullptr) = 0;
  // Atomically spends `presented_hash` and makes `new_hash` live in the same family; a second
  // use of a spent token revokes the family (even under concurrent calls, exactly one rotates).
  virtual Result<RotateResult> rotate_refresh_token(std::string_view presented_hash,
                                                    std::string_view new_hash, Timestamp now) = 0;
  virtual Status revoke_session(std::string_view session_id, Timestamp now,
                                const AuditEntry* audit = nullptr) = 0;
  // Sessions revoked at or after `since`, with their revocation time (for instances to refuse
  // the sessions' access tokens). Reads the whole sessions table: poll with care.
  virtual Result<std::vector<std::pair<std::string, Timestamp>>> sessions_revoked_since(
      Timestamp since) = 0;
  virtual Status revoke_access_token(const RevokedToken& token) = 0;
  // Revoked access tokens not yet expired at `now`.
  virtual Result<std::vector<RevokedToken>> revoked_access_tokens(Timestamp now) = 0;

  // Sensors. create_sensor: Errc::conflict when sensor_id exists. API keys are passed hashed.
  virtual Result<domain::Sensor> create_sensor(const domain::Sensor& sensor,
                                               std::string_view api_key_hash,
                                               const AuditEntry* audit = nullptr) = 0;
  virtual Result<domain::Sensor> find_sensor(std::string_view sensor_id, Timestamp now) = 0;
  virtual Result<SensorPage> list_sensors(const SensorQuery& query) = 0;
  virtual Result<domain::Sensor> update_sensor(std::string_view sensor_id,
                                               const domain::SensorUpdate& update, Timestamp now,
                                               const AuditEntry* audit = nullptr) = 0;
  // Removes the sensor and its API key; its threats and rollups stay as history.
  virtual Status delete_sensor(std::string_view sensor_id, const AuditEntry* audit = nullptr) = 0;
  // The sensor_id owning an (active) API key hash, or Errc::not_found.
  virtual Result<std::string> find_sensor_by_api_key(std::string_view api_key_hash) = 0;
  // Replaces the sensor's key (an empty hash leaves it with none).
  virtual Status set_sensor_api_key(std::string_view sensor_id, std::string_view api_key_hash,
                                    const AuditEntry* audit = nullptr) = 0;
  // Applies heartbeats in one transaction (last_heartbeat, last_seen, location, detectors).
  // Heartbeats of unknown sensors are skipped and their sensor ids returned.
  virtual Result<std::vector<std::string>> record_heartbeats(
      const std::vector<domain::Heartbeat>& heartbeats) = 0;
  virtual Status apply_registration(const domain::Registration& registration, Timestamp now) = 0;
  virtual Result<domain::SensorStats> sensor_stats(std::string_view sensor_id, Timestamp now) = 0;
  // Liveness sweep: every sensor whose state (online = last_seen >= online_since) differs from
  // the state last announced is switched, atomically, and returned. Under concurrent sweeps (any
  // number of instances) each change is returned by exactly one call.
  virtual Result<std::vector<SensorStatusChange>> sweep_sensor_status(Timestamp online_since) = 0;

  // Threats. insert_threats stores the batch in one transaction: a threat without a location
  // takes its sensor's last known one; hourly rollups, the sensor's counters (clock-skew ones
  // too) and last_seen are updated in the same transaction. Idempotent per threat: a threat
  // whose id is already stored (the same message again: redelivery, a retried HTTP batch,
  // another instance) or appears earlier in the batch is skipped, and counts nowhere; the
  // outcome says which were inserted. Threats of unknown sensors fail the whole batch with
  // Errc::invalid_input (callers check sensors first). On success `threats` are as stored (a
  // skipped one as given: its stored copy may have another created_at, and another timestamp
  // when it was stamped at receipt); on failure nothing is stored and `threats` can be passed
  // again (the writer retries with the same vector instead of copying every threat per attempt).
  virtual Result<InsertOutcome> insert_threats(std::vector<domain::Threat>& threats) = 0;
  virtual Result<domain::Threat> find_threat(std::string_view id) = 0;
  // At most `limit` threats stored after the one with id `after_id` (or after nothing, when no
  // such threat is stored), in insertion order (`seq`), for the WebSocket replay.
  // Errc::invalid_input when `after_id` is not a UUID.
  virtual Result<std::vector<domain::Threat>> threats_after(std::string_view after_id,
                                                            int limit) = 0;
  virtual Result<ThreatPage> query_threats(const ThreatQuery& query) = 0;
  // The insertion sequence number of the newest stored threat (0 when none): ThreatQuery::max_seq.
  virtual Result<std::int64_t> latest_threat_seq() = 0;
  // Records the acknowledgement (by, at, notes) and sets status `acknowledged` when it is `new`
  // (a threat further along keeps its status); appends to the history. Errc::not_found.
  virtual Result<domain::Threat> acknowledge_threat(std::string_view id, std::string_view username,
                                                    std::optional<std::string> notes, Timestamp at,
                                                    const AuditEntry* audit = nullptr) = 0;
  // Applies `change` as `actor` at `at`: writes the fields that differ, keeps is_acknowledged ==
  // (status != new) (leaving `new` also records acknowledged_at/by when unset), stamps
  // updated_at, and appends one history entry with the fields that changed and the note (none
  // when nothing changed and there is no note). Errc::not_found for an unknown threat.
  virtual Result<domain::Threat> update_threat(std::string_view id, const ThreatChange& change,
                                               std::string_view actor, Timestamp at,
                                               const AuditEntry* audit = nullptr) = 0;
  // Oldest first. Errc::not_found for an unknown threat.
  virtual Result<std::vector<HistoryEntry>> threat_history(std::string_view id) = 0;
  // update_threat for every selected threat, in one transaction: threats not changed by it get
  // no history entry. Errc::invalid_input when the selection matches more than `max_rows`
  // threats (nothing is changed). Unknown ids are not matched.
  virtual Result<BulkOutcome> bulk_update_threats(const ThreatSelection& selection,
                                                  const ThreatChange& change,
                                                  std::string_view actor, Timestamp at,
                                                  std::int64_t max_rows,
                                                  const AuditEntry* audit = nullptr) = 0;
  // Deletes the threat (and its history) and takes it out of the rollups and counters in the
  // same transaction; its audit records stay.
  virtual Status delete_threat(std::string_view id, const AuditEntry* audit = nullptr) = 0;

  // Analytics. Read-only; each call reads one consistent snapshot. See TimeWindow for exactness.
  // Sensor counts, all-time total, and the last hour / 24 h / 7 d ending at `now` (inclusive).
  virtual Result<FleetOverview> fleet_overview(Timestamp now, Timestamp online_since) = 0;
  // Counts per bucket, ascending, only buckets holding at least one threat (the API zero-fills).
  virtual Result<std::vector<TrendPoint>> threat_trend(const TrendQuery& query) = 0;
  // The `limit` (>= 1) most frequent threat types in the window, and the window's total.
  virtual Result<ThreatTypeRanking> top_threat_types(const TimeWindow& window, int limit) = 0;
  // Every sensor with at least one threat in the window (counting only `severities`, all when
  // empty), by count desc then sensor_id asc.
  virtual Result<std::vector<SensorThreatCount>> sensor_threat_counts(
      const TimeWindow& window, const std::vector<domain::Severity>& severities) = 0;

  // Retention. delete_threats_before removes at most `batch_limit` (>= 1) threats with
  // timestamp < cutoff, oldest first, in one transaction, and returns how many it removed; call
  // it until it returns 0 (implementations that drop whole partitions may remove more at once).
  // Rollups and all-time figures (sensor total_threats_detected, sensor stats breakdowns,
  // FleetOverview::total_threats) are NOT reduced: they keep counting history. ThreatPage::total
  // does drop with the rows, so it stays the number of threats a client can page through.
  virtual Result<std::int64_t> delete_threats_before(Timestamp cutoff, int batch_limit) = 0;
  // Removes at most `batch_limit` hourly rollup rows of hours that ended at or before `cutoff`
  // (bucket + 1 h <= cutoff), returning how many; all-time totals stay. Both: a batch_limit
  // below 1 is Errc::invalid_input.
  virtual Result<std::int64_t> delete_rollups_before(Timestamp cutoff, int batch_limit) = 0;

  // Onboarding tokens (hashed). consume_onboarding_token marks the token used, atomically and
  // only once: Errc::unauthorized when unknown, expired or already used.
  virtual Status create_onboarding_token(const OnboardingToken& token,
                                         const AuditEntry* audit = nullptr) = 0;
  virtual Result<OnboardingToken> find_onboarding_token(std::string_view token_hash) = 0;
  virtual Result<OnboardingToken> consume_onboarding_token(std::string_view token_hash,
                                                           std::string_view sensor_id,
                                                           Timestamp now,
                                                           const AuditEntry* audit = nullptr) = 0;

  // Alert destinations and rules (admin CRUD). create_*: Errc::conflict when the id exists;
  // update_* replaces name, kind/enabled, config/definition and updated_at; Errc::not_found.
  virtual Status create_destination(const AlertDestination& d,
                                    const AuditEntry* audit = nullptr) = 0;
  virtual Result<std::vector<AlertDestination>> list_destinations() = 0;  // by name
  virtual Result<AlertDestination> find_destination(std::string_view id) = 0;
  virtual Status update_destination(const AlertDestination& d,
                                    const AuditEntry* audit = nullptr) = 0;
  virtual Status delete_destination(std::string_view id, const AuditEntry* audit = nullptr) = 0;
  virtual Status create_rule(const AlertRule& r, const AuditEntry* audit = nullptr) = 0;
  virtual Result<std::vector<AlertRule>> list_rules() = 0;  // by name
  virtual Result<AlertRule> find_rule(std::string_view id) = 0;
  virtual Status update_rule(const AlertRule& r, const AuditEntry* audit = nullptr) = 0;
  virtual Status delete_rule(std::string_view id, const AuditEntry* audit = nullptr) = 0;

  // Alerts. insert_alerts writes the alerts and their deliveries (the outbox) in one
  // transaction: all or none.
  struct NewAlert {
    Alert alert;
    std::vector<Delivery> deliveries;
  };
  virtual Status insert_alerts(const std::vector<NewAlert>& alerts) = 0;
  Status insert_alert(const Alert& alert, const std::vector<Delivery>& deliveries) {
    return insert_alerts({NewAlert{alert, deliveries}});
  }
  virtual Result<AlertPage> query_alerts(const AlertQuery& query) = 0;
  virtual Result<Alert> find_alert(std::string_view id) = 0;
  // Sets status `acknowledged` (by, at) unless it is already further along. Errc::not_found.
  virtual Result<Alert> acknowledge_alert(std::string_view id, std::string_view username,
                                          Timestamp at, const AuditEntry* audit = nullptr) = 0;

  // The outbox. claim_deliveries takes at most `limit` pending deliveries that are due
  // (next_attempt_at <= now) and not claimed by a live lease, oldest due first, and claims them
  // for `owner` until `lease_until`, atomically: concurrent callers (any number of instances)
  // never get the same row while its lease lives. finish_delivery records an attempt's outcome
  // (attempts + 1, lease released) only while `owner` still holds the claim; Errc::conflict
  // when it does not (the lease ran out and another owner took it).
  virtual Result<std::vector<Delivery>> claim_deliveries(std::string_view owner, Timestamp now,
                                                         Timestamp lease_until, int limit) = 0;
  virtual Status finish_delivery(std::string_view id, std::string_view owner,
                                 const DeliveryOutcome& outcome) = 0;
  virtual Result<DeliveryPage> query_deliveries(const DeliveryQuery& query) = 0;

  // Sensor commands: the history of what was sent to a sensor, newest first.
  virtual Status insert_command(const SensorCommand& command,
                                const AuditEntry* audit = nullptr) = 0;
  virtual Result<std::vector<SensorCommand>> list_commands(std::string_view sensor_id,
                                                           int limit) = 0;
  // An agent's answer: only the sensor the command was sent to can change it. Errc::not_found
  // for an unknown id or another sensor's command.
  virtual Status set_command_result(std::string_view id, std::string_view sensor_id,
                                    std::string_view status, std::optional<std::string> message,
                                    Timestamp at) = 0;

  // Dead letters: every rejected message, with its reason.
  virtual Status insert_dead_letters(const std::vector<DeadLetter>& letters) = 0;
  virtual Result<std::vector<DeadLetter>> list_dead_letters(int limit) = 0;  // newest first
};

// Opens the store named by config.database_url. Errc::invalid_input for an unsupported URL,
// Errc::unavailable when the database cannot be opened.
Result<std::unique_ptr<Store>> open_store(const StoreConfig& config);
// The file a sqlite:// DATABASE_URL names; nullopt for in-memory databases, other schemes and
// malformed URLs (open_store says what is wrong with those).
std::optional<std::string> sqlite_file(std::string_view database_url);
// Whether DATABASE_URL names a PostgreSQL database (postgresql://, postgres://, postgresql+x://).
bool is_postgres_url(std::string_view database_url);

// ---------------------------------------------------------------------------------------------
// Backups (backup.cpp; docs/DEPLOYMENT.md "Backup and restore").
struct BackupReport {
  std::uint64_t bytes = 0;              // size of the copy
  int schema_version = 0;               // of the data copied
  std::optional<std::int64_t> threats;  // rows in the copy, when known (SQLite)
};
// How far a copy is, 0..1 (SQLite reports as pages are copied; PostgreSQL at the end only).
using CopyProgress = std::function<void(double)>;
// A consistent copy of the database `database_url` names, written to `destination`: SQLite
// through its online backup API inside one read snapshot (the server goes on writing meanwhile),
// as a self-contained database file; PostgreSQL through `pg_dump --format=custom` (a snapshot by
// design). The copy appears under its name only when complete (written as DEST.partial, synced,
// renamed); an existing `destination` is an error.
Result<BackupReport> backup_database(std::string_view database_url, const std::string& destination,
                                     const CopyProgress& progress);
// Restores a copy made by backup_database into the database `database_url` names (created when
// missing). Errc::conflict when that database already has a schema, unless `replace` (SQLite
// only; stop every server using it first): PostgreSQL restores into an empty database.
// Errc::invalid_input for a copy whose schema is newer than this binary knows or that is not a
// backup.
Result<BackupReport> restore_database(std::string_view database_url, const std::string& source,
                                      bool replace, const CopyProgress& progress);

}  // namespace honeyman::store
