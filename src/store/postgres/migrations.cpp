// Schema migrations, compiled in. Append new versions; never edit one that has shipped.
//
// Text keys that are sorted or compared (sensor ids, usernames, detector and threat types) use
// COLLATE "C": byte order as in SQLite whatever the database's locale, and cheaper comparisons.
//
// Conventions (the same as the SQLite store, so cursors, rollup buckets and partition bounds
// are the same integer arithmetic on both): times are bigint unix microseconds (UTC), severity
// smallint 0..4 as domain::Severity (so it sorts by gravity), JSON as text (written and read
// only by us, never queried inside: `json`/`jsonb` would parse every value at ingest).
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

constexpr const char* kAuth = R"sql(
CREATE TABLE users (
  id text PRIMARY KEY,
  username text COLLATE "C" NOT NULL UNIQUE,
  email text UNIQUE,
  full_name text,
  role text NOT NULL,
  is_active boolean NOT NULL,
  is_verified boolean NOT NULL,
  password_hash text NOT NULL,
  created_at bigint NOT NULL,
  last_login bigint,
  tokens_valid_after bigint NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE TABLE refresh_tokens (
  token_hash text PRIMARY KEY,
  session_id text NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  expires_at bigint NOT NULL,
  used_at bigint
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens(session_id);
CREATE TABLE revoked_tokens (
  jti text PRIMARY KEY,
  expires_at bigint NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens(expires_at);
)sql";

// Sensors are updated by every batch (counters) and heartbeat: a fill factor below 100 leaves
// room on each page so those updates stay HOT (no new index entries).
constexpr const char* kSensors = R"sql(
CREATE TABLE sensors (
  id text PRIMARY KEY,
  sensor_id text COLLATE "C" NOT NULL UNIQUE,
  name text NOT NULL,
  description text,
  is_active boolean NOT NULL DEFAULT true,
  last_heartbeat bigint,
  last_seen bigint,
  latitude double precision,
  longitude double precision,
  location_method text,
  location_accuracy double precision,
  city text,
  country text,
  enabled_detectors text NOT NULL DEFAULT '[]',
  transport_protocol text NOT NULL DEFAULT 'mqtt',
  capabilities text NOT NULL DEFAULT '{}',
  platform text,
  architecture text,
  agent_version text,
  python_version text,
  total_threats_detected bigint NOT NULL DEFAULT 0,
  last_threat_at bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  registered_at bigint,
  api_key_hash text UNIQUE
) WITH (fillfactor = 70);
CREATE INDEX sensors_created_at ON sensors(created_at);
CREATE TABLE onboarding_tokens (
  token_hash text PRIMARY KEY,
  sensor_name text NOT NULL,
  description text,
  created_by text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at bigint,
  used_by_sensor text
);
)sql";

// `threats` is partitioned by day on `timestamp` (partitions are created ahead by
// ensure_partitions; the default partition takes stragglers far in the past or future).
// The primary key must include the partition key; with `id` first it also serves lookups by id
// (one index probe per partition). `seq` is the insertion order (blocks reserved per batch from
// threats_seq), the final tiebreak of every sort, as SQLite's rowid is. Every index is paid at
// ingest, so only those the listing needs: time order, per sensor, per severity; ties within a
// timestamp are ordered by an incremental sort on `seq`. The rollups answer every count.
constexpr const char* kThreats = R"sql(
CREATE SEQUENCE threats_seq INCREMENT BY 1048576;
CREATE TABLE threats (
  id uuid NOT NULL,
  seq bigint NOT NULL,
  timestamp bigint NOT NULL,
  sensor_id text COLLATE "C" NOT NULL,
  threat_type text COLLATE "C" NOT NULL,
  detector_type text COLLATE "C" NOT NULL,
  severity smallint NOT NULL,
  device_name text,
  device_mac text,
  device_ip text,
  src_host text,
  src_port integer,
  dst_host text,
  dst_port integer,
  latitude double precision,
  longitude double precision,
  city text,
  country text,
  matched_rules text NOT NULL DEFAULT '[]',
  confidence double precision,
  threat_score double precision NOT NULL,
  raw_event text NOT NULL DEFAULT '{}',
  mitre_tactics text NOT NULL DEFAULT '[]',
  mitre_techniques text NOT NULL DEFAULT '[]',
  is_acknowledged boolean NOT NULL DEFAULT false,
  acknowledged_at bigint,
  acknowledged_by text,
  acknowledgement_notes text,
  created_at bigint NOT NULL,
  PRIMARY KEY (id, timestamp)
) PARTITION BY RANGE (timestamp);
CREATE TABLE threats_default PARTITION OF threats DEFAULT;
CREATE INDEX threats_timestamp ON threats (timestamp);
CREATE INDEX threats_sensor_timestamp ON threats (sensor_id, timestamp);
CREATE INDEX threats_severity_timestamp ON threats (severity, timestamp);
CREATE TABLE threat_rollups_hourly (
  bucket bigint NOT NULL,
  sensor_id text COLLATE "C" NOT NULL,
  detector_type text COLLATE "C" NOT NULL,
  severity smallint NOT NULL,
  threat_type text COLLATE "C" NOT NULL,
  count bigint NOT NULL,
  score_sum double precision NOT NULL,
  PRIMARY KEY (bucket, sensor_id, detector_type, severity, threat_type)
) WITH (fillfactor = 70);
CREATE INDEX threat_rollups_hourly_sensor_bucket ON threat_rollups_hourly(sensor_id, bucket);
CREATE TABLE threat_totals (
  sensor_id text COLLATE "C" NOT NULL,
  detector_type text COLLATE "C" NOT NULL,
  severity smallint NOT NULL,
  threat_type text COLLATE "C" NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (sensor_id, detector_type, severity, threat_type)
) WITH (fillfactor = 70);
CREATE TABLE dead_letters (
  id bigserial PRIMARY KEY,
  received_at bigint NOT NULL,
  source text NOT NULL,
  topic text NOT NULL,
  reason text NOT NULL,
  payload bytea NOT NULL
);
CREATE INDEX dead_letters_received_at ON dead_letters(received_at);
)sql";

// The same tables as SQLite's migration 4 (see there and docs/DECISIONS.md): fleet-wide hourly
// rollups by severity and by threat type × severity, kept in the ingest transaction so fleet
// dashboards read a handful of rows an hour; threat_totals.expired counts the rows retention
// removed (`count` stays the stored rows, the exact /threats total; count + expired is history);
// threat_totals_fleet is the all-time count by severity, which retention leaves alone. Filled
// from the per-sensor rollup and totals for existing databases. The fleet rows are rewritten by
// every batch: a fill factor below 100 keeps those updates HOT.
constexpr const char* kFleetRollups = R"sql(
ALTER TABLE threat_totals ADD COLUMN expired bigint NOT NULL DEFAULT 0;
CREATE TABLE threat_totals_fleet (
  severity smallint PRIMARY KEY,
  count bigint NOT NULL
) WITH (fillfactor = 50);
INSERT INTO threat_totals_fleet (severity, count)
  SELECT severity, sum(count) FROM threat_totals GROUP BY severity;
CREATE TABLE threat_rollups_fleet_hourly (
  bucket bigint NOT NULL,
  severity smallint NOT NULL,
  count bigint NOT NULL,
  score_sum double precision NOT NULL,
  PRIMARY KEY (bucket, severity)
) WITH (fillfactor = 70);
CREATE TABLE threat_rollups_type_hourly (
  bucket bigint NOT NULL,
  threat_type text COLLATE "C" NOT NULL,
  severity smallint NOT NULL,
  count bigint NOT NULL,
  score_sum double precision NOT NULL,
  PRIMARY KEY (bucket, threat_type, severity)
) WITH (fillfactor = 70);
INSERT INTO threat_rollups_fleet_hourly (bucket, severity, count, score_sum)
  SELECT bucket, severity, sum(count), sum(score_sum) FROM threat_rollups_hourly
  GROUP BY bucket, severity;
INSERT INTO threat_rollups_type_hourly (bucket, threat_type, severity, count, score_sum)
  SELECT bucket, threat_type, severity, sum(count), sum(score_sum) FROM threat_rollups_hourly
  GROUP BY bucket, threat_type, severity;
)sql";

// As SQLite's migration 5: rows retention removed, by severity (count - expired is stored).
constexpr const char* kFleetExpired = R"sql(
ALTER TABLE threat_totals_fleet ADD COLUMN expired bigint NOT NULL DEFAULT 0;
UPDATE threat_totals_fleet f SET expired = e.n
  FROM (SELECT severity, sum(expired)::bigint AS n FROM threat_totals GROUP BY severity) e
  WHERE f.severity = e.severity;
)sql";

// The online state last announced on the live feed: the liveness sweep flips it with one
// conditional UPDATE, so each change is announced once whatever the number of instances.
constexpr const char* kLiveness = R"sql(
ALTER TABLE sensors ADD COLUMN announced_online boolean NOT NULL DEFAULT false;
)sql";

// Clock skew (docs/DECISIONS.md, "Hardening (issue #11): ingest"): threats stored at their
// receipt time because the sensor's clock was beyond the policy, and the last skew seen.
// Threat ids are made of their message (not time-ordered), so the live feed's replay reads in
// `seq` order: a BRIN index finds the newest rows of each partition (they are appended in seq
// order) for almost nothing at ingest, where a b-tree would cost every insert.
constexpr const char* kClockSkewAndSeq = R"sql(
ALTER TABLE sensors ADD COLUMN clock_skew_threats bigint NOT NULL DEFAULT 0,
  ADD COLUMN last_clock_skew_seconds double precision;
CREATE INDEX threats_seq_brin ON threats USING brin (seq);
)sql";

// The SOC workflow (SPEC §7), as SQLite's migration 9 (see there). ADD COLUMN with a constant
// default (or none) is a catalog change on every partition; only acknowledged rows are
// rewritten. Indexes created on the partitioned parent are created on each partition, present
// and future (ensure_partitions attaches tables made LIKE the parent: ATTACH builds them).
// History rows carry their threat's timestamp: retention, which drops whole day partitions of
// `threats`, deletes the history of those days by that column (threat_history_threat_timestamp),
// and the history of rows it deletes one by one by their ids. History is written only by people
// triaging (a small fraction of the threats), so it needs no partitions of its own. JSON is text,
// as everywhere in this schema; the bulk change builds it with json functions.
constexpr const char* kSocWorkflow = R"sql(
ALTER TABLE threats ADD COLUMN status smallint NOT NULL DEFAULT 0,
  ADD COLUMN assignee text COLLATE "C",
  ADD COLUMN updated_at bigint;
UPDATE threats SET status = 1 WHERE is_acknowledged;
CREATE INDEX threats_status_timestamp ON threats (status, timestamp);
CREATE INDEX threats_assignee_timestamp ON threats (assignee, timestamp)
  WHERE assignee IS NOT NULL;
CREATE TABLE threat_history (
  id bigserial PRIMARY KEY,
  threat_id uuid NOT NULL,
  threat_timestamp bigint NOT NULL,
  at bigint NOT NULL,
  actor text NOT NULL,
  changes text NOT NULL,
  note text
);
CREATE INDEX threat_history_threat_id ON threat_history (threat_id);
CREATE INDEX threat_history_threat_timestamp ON threat_history (threat_timestamp);
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at bigint NOT NULL,
  actor text COLLATE "C" NOT NULL,
  actor_role text NOT NULL,
  client_addr text NOT NULL,
  action text COLLATE "C" NOT NULL,
  target_type text COLLATE "C" NOT NULL,
  target_id text COLLATE "C" NOT NULL,
  details text NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id);
)sql";

// Alerting and sensor commands (SPEC §8): destinations and rules (their settings as JSON text,
// validated by the alerting module), fired alerts, the delivery outbox (a pending row is due at
// next_attempt_at and claimed by one instance until claimed_until), and the commands sent to
// sensors with the agents' answers. Small tables: no partitions.
constexpr const char* kAlerting = R"sql(
CREATE TABLE alert_destinations (
  id text COLLATE "C" PRIMARY KEY,
  name text COLLATE "C" NOT NULL,
  kind text COLLATE "C" NOT NULL,
  config text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE TABLE alert_rules (
  id text COLLATE "C" PRIMARY KEY,
  name text COLLATE "C" NOT NULL,
  enabled boolean NOT NULL,
  definition text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE TABLE alerts (
  id text COLLATE "C" PRIMARY KEY,
  rule_id text COLLATE "C" NOT NULL,
  rule_name text COLLATE "C" NOT NULL,
  fired_at bigint NOT NULL,
  sensor_id text COLLATE "C",
  threat_ids text COLLATE "C" NOT NULL,
  count bigint NOT NULL,
  status text COLLATE "C" NOT NULL,
  acknowledged_by text COLLATE "C",
  acknowledged_at bigint,
  summary text COLLATE "C" NOT NULL
);
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_rule ON alerts (rule_id, id);
CREATE INDEX alerts_sensor ON alerts (sensor_id, id);
CREATE TABLE alert_deliveries (
  id text COLLATE "C" PRIMARY KEY,
  alert_id text COLLATE "C" NOT NULL,
  destination_id text COLLATE "C" NOT NULL,
  status text COLLATE "C" NOT NULL,
  attempts bigint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  next_attempt_at bigint NOT NULL,
  claimed_by text COLLATE "C",
  claimed_until bigint,
  delivered_at bigint,
  last_error text COLLATE "C" NOT NULL DEFAULT '',
  body text COLLATE "C" NOT NULL
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_deliveries_status ON alert_deliveries (status, created_at);
CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id);
CREATE TABLE sensor_commands (
  id text COLLATE "C" PRIMARY KEY,
  sensor_id text COLLATE "C" NOT NULL,
  kind text COLLATE "C" NOT NULL,
  command text COLLATE "C" NOT NULL,
  args text COLLATE "C" NOT NULL,
  status text COLLATE "C" NOT NULL,
  issued_at bigint NOT NULL,
  issued_by text COLLATE "C" NOT NULL,
  updated_at bigint,
  message text COLLATE "C"
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
  bucket bigint NOT NULL,
  sensor_id text COLLATE "C" NOT NULL,
  severity smallint NOT NULL,
  count bigint NOT NULL,
  score_sum double precision NOT NULL,
  PRIMARY KEY (bucket, sensor_id, severity)
) WITH (fillfactor = 70);
CREATE INDEX threat_rollups_sensor_hourly_sensor ON threat_rollups_sensor_hourly (sensor_id, bucket);
INSERT INTO threat_rollups_sensor_hourly (bucket, sensor_id, severity, count, score_sum)
  SELECT bucket, sensor_id, severity, sum(count), sum(score_sum) FROM threat_rollups_hourly
  GROUP BY 1, 2, 3;
DROP TABLE threat_rollups_hourly;
CREATE TABLE threat_rollups_fleet_minutely (
  bucket bigint NOT NULL,
  severity smallint NOT NULL,
  count bigint NOT NULL,
  score_sum double precision NOT NULL,
  PRIMARY KEY (bucket, severity)
) WITH (fillfactor = 70);
CREATE TABLE threat_rollups_fleet_daily (
  bucket bigint NOT NULL,
  severity smallint NOT NULL,
  count bigint NOT NULL,
  score_sum double precision NOT NULL,
  PRIMARY KEY (bucket, severity)
) WITH (fillfactor = 70);
CREATE TABLE threat_rollups_type_daily (
  bucket bigint NOT NULL,
  threat_type text COLLATE "C" NOT NULL,
  severity smallint NOT NULL,
  count bigint NOT NULL,
  score_sum double precision NOT NULL,
  PRIMARY KEY (bucket, threat_type, severity)
) WITH (fillfactor = 70);
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
      {3, "threats (partitioned by day), rollups, totals and dead letters", kThreats},
      {4, "fleet-wide hourly rollups, expired totals", kFleetRollups},
      {5, "expired fleet totals by severity", kFleetExpired},
      {6, "sensors: announced online state (liveness sweep)", kLiveness},
      {7, "sensors: clock-skew counters; threats: BRIN on seq (replay)", kClockSkewAndSeq},
      {8, "threats: status, assignee, history; audit log", kSocWorkflow},
      {9, "alerting: destinations, rules, alerts, delivery outbox; sensor commands", kAlerting},
      {10,
       "fleet rollups by minute and day, type rollups by day; per-sensor rollup by sensor × "
       "severity",
       kRollupLevels},
  };
  return all;
}

}  // namespace honeyman::store::pg
