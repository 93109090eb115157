// Schema migrations, compiled in. Append new versions; never edit one that has shipped.
//
// Conventions: times are INTEGER unix microseconds (UTC), severity INTEGER 0..4 as
// domain::Severity (so it sorts by gravity), booleans INTEGER 0/1, JSON as TEXT.
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::sqlite {
namespace {

constexpr const char* kAuth = R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  email TEXT UNIQUE,
  full_name TEXT,
  role TEXT NOT NULL,
  is_active INTEGER NOT NULL,
  is_verified INTEGER NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_login INTEGER,
  tokens_valid_after INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens(session_id);
CREATE TABLE revoked_tokens (
  jti TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens(expires_at);
)sql";

constexpr const char* kSensors = R"sql(
CREATE TABLE sensors (
  id TEXT PRIMARY KEY,
  sensor_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  description TEXT,
  is_active INTEGER NOT NULL DEFAULT 1,
  last_heartbeat INTEGER,
  last_seen INTEGER,
  latitude REAL,
  longitude REAL,
  location_method TEXT,
  location_accuracy REAL,
  city TEXT,
  country TEXT,
  enabled_detectors TEXT NOT NULL DEFAULT '[]',
  transport_protocol TEXT NOT NULL DEFAULT 'mqtt',
  capabilities TEXT NOT NULL DEFAULT '{}',
  platform TEXT,
  architecture TEXT,
  agent_version TEXT,
  python_version TEXT,
  total_threats_detected INTEGER NOT NULL DEFAULT 0,
  last_threat_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  registered_at INTEGER,
  api_key_hash TEXT UNIQUE
);
CREATE INDEX sensors_created_at ON sensors(created_at);
CREATE TABLE onboarding_tokens (
  token_hash TEXT PRIMARY KEY,
  sensor_name TEXT NOT NULL,
  description TEXT,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  used_by_sensor TEXT
);
)sql";

// Every index on `threats` is paid at ingest, so only the ones the queries need: time-ordered
// listing, per-sensor listing, per-severity listing. Each secondary index implicitly ends with
// `seq` (the rowid), which is exactly the tiebreak of every sort. The rollup tables answer all
// counts, so no index exists just for counting.
constexpr const char* kThreats = R"sql(
CREATE TABLE threats (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  timestamp INTEGER NOT NULL,
  sensor_id TEXT NOT NULL,
  threat_type TEXT NOT NULL,
  detector_type TEXT NOT NULL,
  severity INTEGER NOT NULL,
  device_name TEXT,
  device_mac TEXT,
  device_ip TEXT,
  src_host TEXT,
  src_port INTEGER,
  dst_host TEXT,
  dst_port INTEGER,
  latitude REAL,
  longitude REAL,
  city TEXT,
  country TEXT,
  matched_rules TEXT NOT NULL DEFAULT '[]',
  confidence REAL,
  threat_score REAL NOT NULL,
  raw_event TEXT NOT NULL DEFAULT '{}',
  mitre_tactics TEXT NOT NULL DEFAULT '[]',
  mitre_techniques TEXT NOT NULL DEFAULT '[]',
  is_acknowledged INTEGER NOT NULL DEFAULT 0,
  acknowledged_at INTEGER,
  acknowledged_by TEXT,
  acknowledgement_notes TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX threats_timestamp ON threats(timestamp);
CREATE INDEX threats_sensor_timestamp ON threats(sensor_id, timestamp);
CREATE INDEX threats_severity_timestamp ON threats(severity, timestamp);
CREATE TABLE threat_rollups_hourly (
  bucket INTEGER NOT NULL,
  sensor_id TEXT NOT NULL,
  detector_type TEXT NOT NULL,
  severity INTEGER NOT NULL,
  threat_type TEXT NOT NULL,
  count INTEGER NOT NULL,
  score_sum REAL NOT NULL,
  PRIMARY KEY (bucket, sensor_id, detector_type, severity, threat_type)
) WITHOUT ROWID;
CREATE INDEX threat_rollups_hourly_sensor_bucket ON threat_rollups_hourly(sensor_id, bucket);
CREATE TABLE threat_totals (
  sensor_id TEXT NOT NULL,
  detector_type TEXT NOT NULL,
  severity INTEGER NOT NULL,
  threat_type TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (sensor_id, detector_type, severity, threat_type)
) WITHOUT ROWID;
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  topic TEXT NOT NULL,
  reason TEXT NOT NULL,
  payload BLOB NOT NULL
);
CREATE INDEX dead_letters_received_at ON dead_letters(received_at);
)sql";

// Fleet-wide hourly rollups: the per-sensor rollup summed over sensors (and detectors), so the
// dashboards' fleet queries read a handful of rows per hour instead of one per sensor × detector
// × severity × type: by severity (overview, trends, velocity: 5 rows an hour) and by threat type
// and severity (top threat types). Filled from the per-sensor rollup for existing databases.
// threat_totals.expired counts the rows retention removed: `count` stays the number of stored
// rows (the exact `total` of /threats), count + expired the all-time history (sensor stats).
// threat_totals_fleet is the all-time count by severity (history: retention leaves it alone), so
// the overview's total is 5 rows, not one per sensor × detector × severity × type.
constexpr const char* kFleetRollups = R"sql(
ALTER TABLE threat_totals ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;
CREATE TABLE threat_totals_fleet (
  severity INTEGER PRIMARY KEY,
  count INTEGER NOT NULL
);
INSERT INTO threat_totals_fleet (severity, count)
  SELECT severity, sum(count) FROM threat_totals GROUP BY severity;
CREATE TABLE threat_rollups_fleet_hourly (
  bucket INTEGER NOT NULL,
  severity INTEGER NOT NULL,
  count INTEGER NOT NULL,
  score_sum REAL NOT NULL,
  PRIMARY KEY (bucket, severity)
) WITHOUT ROWID;
CREATE TABLE threat_rollups_type_hourly (
  bucket INTEGER NOT NULL,
  threat_type TEXT NOT NULL,
  severity INTEGER NOT NULL,
  count INTEGER NOT NULL,
  score_sum REAL NOT NULL,
  PRIMARY KEY (bucket, threat_type, severity)
) WITHOUT ROWID;
INSERT INTO threat_rollups_fleet_hourly (bucket, severity, count, score_sum)
  SELECT bucket, severity, sum(count), sum(score_sum) FROM threat_rollups_hourly
  GROUP BY bucket, severity;
INSERT INTO threat_rollups_type_hourly (bucket, threat_type, severity, count, score_sum)
  SELECT bucket, threat_type, severity, sum(count), sum(score_sum) FROM threat_rollups_hourly
  GROUP BY bucket, threat_type, severity;
)sql";

// threat_totals_fleet.expired: the rows retention removed, by severity, so count - expired is
// the stored rows by severity and an unfiltered or severity-only /threats total reads 5 rows
// instead of summing one threat_totals row per sensor × detector × severity × type.
constexpr const char* kFleetExpired = R"sql(
ALTER TABLE threat_totals_fleet ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;
UPDATE threat_totals_fleet SET expired =
  (SELECT coalesce(sum(t.expired), 0) FROM threat_totals t WHERE t.severity = threat_totals_fleet.severity);
)sql";

// The online state last announced on the live feed: the liveness sweep flips it with one
// conditional UPDATE, so each change is announced once.
constexpr const char* kLiveness = R"sql(
ALTER TABLE sensors ADD COLUMN announced_online INTEGER NOT NULL DEFAULT 0;
)sql";

// The dashboard's usual page: a few sensors at some severities, newest first. The page query
// picks `seq`s from this index alone (covering) and reads just the page's rows from the table.
// It replaces (sensor_id, timestamp) rather than joining it: one more index cost a quarter of
// the ingest rate. Queries by sensor and time name every severity to seek it in time order.
constexpr const char* kSensorSeverityIndex = R"sql(
DROP INDEX threats_sensor_timestamp;
CREATE INDEX threats_sensor_severity_timestamp ON threats(sensor_id, severity, timestamp);
)sql";

// Clock skew (docs/DECISIONS.md, "Hardening (issue #11): ingest"): threats stored at their
// receipt time because the sensor's clock was beyond the policy, and the last skew seen.
constexpr const char* kClockSkew = R"sql(
ALTER TABLE sensors ADD COLUMN clock_skew_threats INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sensors ADD COLUMN last_clock_skew_seconds REAL;
)sql";

// The SOC workflow (SPEC §7). Threat status is INTEGER 0..4 as domain::ThreatStatus;
// is_acknowledged stays, kept equal to status != new by every write. updated_at stays NULL in
// the rows stored before (read as created_at) so this migration rewrites only acknowledged rows.
// (status, timestamp) serves `?status=x` newest first; assignees are few and mostly NULL, so
// their index leaves the NULLs out (`assignee = ?` implies NOT NULL; "unassigned" is most rows,
// which the timestamp index finds quickly). History rows carry their threat's id and timestamp
// and go with it (delete_threat, retention). The audit log has nothing to do with threats:
// retention of threats leaves it alone; its indexes end with the rowid `id`, the page order.
constexpr const char* kSocWorkflow = R"sql(
ALTER TABLE threats ADD COLUMN status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threats ADD COLUMN assignee TEXT;
ALTER TABLE threats ADD COLUMN updated_at INTEGER;
UPDATE threats SET status = 1 WHERE is_acknowledged;
CREATE INDEX threats_status_timestamp ON threats(status, timestamp);
CREATE INDEX threats_assignee_timestamp ON threats(assignee, timestamp)
  WHERE assignee IS NOT NULL;
CREATE TABLE threat_history (
  id INTEGER PRIMARY KEY,
  threat_id TEXT NOT NULL,
  threat_timestamp INTEGER NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  changes TEXT NOT NULL,
  note TEXT
);
CREATE INDEX threat_history_threat_id ON threat_history(threat_id);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  actor_role TEXT NOT NULL,
  client_addr TEXT NOT NULL,
  action TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor);
CREATE INDEX audit_log_action ON audit_log(action);
CREATE INDEX audit_log_target ON audit_log(target_type, target_id);
)sql";

// Alerting and sensor commands (SPEC §8): destinations and rules (their settings as JSON text,
// validated by the alerting module), fired alerts, the delivery outbox (a pending row is due at
// next_attempt_at and claimed by one instance until claimed_until), and the commands sent to
// sensors with the agents' answers. Small tables: no partitions.
constexpr const char* kAlerting = R"sql(
CREATE TABLE alert_destinations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  config TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE alert_rules (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  definition TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL,
  rule_name TEXT NOT NULL,
  fired_at INTEGER NOT NULL,
  sensor_id TEXT,
  threat_ids TEXT NOT NULL,
  count INTEGER NOT NULL,
  status TEXT NOT NULL,
  acknowledged_by TEXT,
  acknowledged_at INTEGER,
  summary TEXT NOT NULL
);
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_rule ON alerts (rule_id, id);
CREATE INDEX alerts_sensor ON alerts (sensor_id, id);
CREATE TABLE alert_deliveries (
  id TEXT PRIMARY KEY,
  alert_id TEXT NOT NULL,
  destination_id TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  claimed_by TEXT,
  claimed_until INTEGER,
  delivered_at INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_deliveries_status ON alert_deliveries (status, created_at);
CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id);
CREATE TABLE sensor_commands (
  id TEXT PRIMARY KEY,
  sensor_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  command TEXT NOT NULL,
  args TEXT NOT NULL,
  status TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  issued_by TEXT NOT NULL,
  updated_at INTEGER,
  message TEXT
);
CREATE INDEX sensor_commands_sensor ON sensor_commands (sensor_id, issued_at);
)sql";

// Rollups at more than one resolution (docs/DECISIONS.md, "Analytics without the cache"): fleet
// by minute, hour and day; type (× severity) by hour and day; sensor × severity by hour. A window
// reads the whole days inside it, then whole hours and (fleet) whole minutes at its ends, and raw
// rows only for the partial minutes (fleet) or hours, so a 90-day overview reads ~200 rows where it
// read ~11,000 and the fleet's raw rows at a window's edges are a minute's, not an hour's. The
// per-sensor rollup keeps sensor × severity only: detector and type were never read per hour
// (the all-time threat_totals keep them), and they made it about one row per threat. The minute
// rollup is filled from the stored raw rows (rows past retention have none, as before: such
// windows are exact to the hour there), the others from the hourly rollups they replace or sum.
constexpr const char* kRollupLevels = R"sql(
CREATE TABLE threat_rollups_sensor_hourly (
  bucket INTEGER NOT NULL,
  sensor_id TEXT NOT NULL,
  severity INTEGER NOT NULL,
  count INTEGER NOT NULL,
  score_sum REAL NOT NULL,
  PRIMARY KEY (bucket, sensor_id, severity)
) WITHOUT ROWID;
CREATE INDEX threat_rollups_sensor_hourly_sensor ON threat_rollups_sensor_hourly (sensor_id, bucket);
INSERT INTO threat_rollups_sensor_hourly (bucket, sensor_id, severity, count, score_sum)
  SELECT bucket, sensor_id, severity, sum(count), sum(score_sum) FROM threat_rollups_hourly
  GROUP BY 1, 2, 3;
DROP TABLE threat_rollups_hourly;
CREATE TABLE threat_rollups_fleet_minutely (
  bucket INTEGER NOT NULL,
  severity INTEGER NOT NULL,
  count INTEGER NOT NULL,
  score_sum REAL NOT NULL,
  PRIMARY KEY (bucket, severity)
) WITHOUT ROWID;
CREATE TABLE threat_rollups_fleet_daily (
  bucket INTEGER NOT NULL,
  severity INTEGER NOT NULL,
  count INTEGER NOT NULL,
  score_sum REAL NOT NULL,
  PRIMARY KEY (bucket, severity)
) WITHOUT ROWID;
CREATE TABLE threat_rollups_type_daily (
  bucket INTEGER NOT NULL,
  threat_type TEXT NOT NULL,
  severity INTEGER NOT NULL,
  count INTEGER NOT NULL,
  score_sum REAL NOT NULL,
  PRIMARY KEY (bucket, threat_type, severity)
) WITHOUT ROWID;
INSERT INTO threat_rollups_fleet_minutely (bucket, severity, count, score_sum)
  SELECT timestamp - ((timestamp % 60000000) + 60000000) % 60000000, severity, count(*), sum(threat_score) FROM threats
  GROUP BY 1, 2;
INSERT INTO threat_rollups_fleet_daily (bucket, severity, count, score_sum)
  SELECT bucket - ((bucket % 86400000000) + 86400000000) % 86400000000, severity, sum(count), sum(score_sum)
  FROM threat_rollups_fleet_hourly GROUP BY 1, 2;
INSERT INTO threat_rollups_type_daily (bucket, threat_type, severity, count, score_sum)
  SELECT bucket - ((bucket % 86400000000) + 86400000000) % 86400000000, threat_type, severity, sum(count), sum(score_sum)
  FROM threat_rollups_type_hourly GROUP BY 1, 2, 3;
)sql";

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1, "users, sessions, refresh and revoked tokens", kAuth},
      {2, "sensors and onboarding tokens", kSensors},
      {3, "threats, rollups, totals and dead letters", kThreats},
      {4, "fleet-wide hourly rollups, expired totals", kFleetRollups},
      {5, "expired fleet totals by severity", kFleetExpired},
      {6, "sensors: announced online state (liveness sweep)", kLiveness},
      {7, "threats: sensor index by severity for filtered pages", kSensorSeverityIndex},
      {8, "sensors: clock-skew counters", kClockSkew},
      {9, "threats: status, assignee, history; audit log", kSocWorkflow},
      {10, "alerting: destinations, rules, alerts, delivery outbox; sensor commands", kAlerting},
      {11,
       "fleet rollups by minute and day, type rollups by day; per-sensor rollup by sensor × "
       "severity",
       kRollupLevels},
  };
  return all;
}

}  // namespace honeyman::store::sqlite
