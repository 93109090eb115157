// Writing threats: batched insert (COPY) with rollups and counters in the same transaction,
// delete, acknowledge.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <tuple>

#include "store/detail/batch_sums.hpp"
#include "store/postgres/detail/rows.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

using detail::BatchSums;
using detail::fill_place;
using detail::FleetKey;
using detail::Place;
using detail::RollupKey;
using detail::RollupSum;
using detail::SensorSum;
using detail::sum_batch;
using detail::total_key;
using detail::TotalKey;
using detail::TypeKey;

// seq values come in blocks of this many per nextval (the sequence's increment).
constexpr std::int64_t kSeqBlock = 1'048'576;

const std::string kCopyThreats =
    "COPY threats (id, seq, timestamp, sensor_id, threat_type, detector_type, severity, "
    "device_name, device_mac, device_ip, src_host, src_port, dst_host, dst_port, latitude, "
    "longitude, city, country, matched_rules, confidence, threat_score, raw_event, "
    "mitre_tactics, mitre_techniques, is_acknowledged, acknowledged_at, acknowledged_by, "
    "acknowledgement_notes, created_at) FROM STDIN";

const std::string kAddRollups =
    "INSERT INTO threat_rollups_hourly AS r (bucket, sensor_id, detector_type, severity, "
    "threat_type, count, score_sum) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], "
    "$4::smallint[], $5::text[], $6::bigint[], $7::float8[]) ON CONFLICT (bucket, sensor_id, "
    "detector_type, severity, threat_type) DO UPDATE SET count = r.count + excluded.count, "
    "score_sum = r.score_sum + excluded.score_sum";

const std::string kAddFleetRollups =
    "INSERT INTO threat_rollups_fleet_hourly AS r (bucket, severity, count, score_sum) "
    "SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::float8[]) "
    "ON CONFLICT (bucket, severity) DO UPDATE SET count = r.count + excluded.count, "
    "score_sum = r.score_sum + excluded.score_sum";

const std::string kAddTypeRollups =
    "INSERT INTO threat_rollups_type_hourly AS r (bucket, threat_type, severity, count, "
    "score_sum) SELECT * FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::bigint[], "
    "$5::float8[]) ON CONFLICT (bucket, threat_type, severity) DO UPDATE SET "
    "count = r.count + excluded.count, score_sum = r.score_sum + excluded.score_sum";

const std::string kAddFleetTotals =
    "INSERT INTO threat_totals_fleet AS t (severity, count) "
    "SELECT * FROM unnest($1::smallint[], $2::bigint[]) "
    "ON CONFLICT (severity) DO UPDATE SET count = t.count + excluded.count";

const std::string kAddTotals =
    "INSERT INTO threat_totals AS t (sensor_id, detector_type, severity, threat_type, count) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::text[], $5::bigint[]) "
    "ON CONFLICT (sensor_id, detector_type, severity, threat_type) DO UPDATE SET "
    "count = t.count + excluded.count";

const std::string kAddSensorCounts =
    "UPDATE sensors s SET total_threats_detected = s.total_threats_detected + d.n,"
    " last_threat_at = greatest(coalesce(s.last_threat_at, d.last_threat), d.last_threat),"
    " last_seen = greatest(coalesce(s.last_seen, d.last_seen), d.last_seen)"
    " FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])"
    " AS d(sensor_id, n, last_threat, last_seen) WHERE s.sensor_id = d.sensor_id";

// Locks the batch's sensor rows in sensor_id order and reads their locations. Every writer that
// touches a sensor's counters or rollups locks its row first, in this order, so concurrent
// batches queue instead of deadlocking. Errc::invalid_input names an unknown sensor.
Result<std::map<std::string, Place>> lock_sensors(Connection& conn, const BatchSums& sums) {
  std::vector<std::string> ids;
  for (const auto& [id, sum] : sums.sensors) ids.push_back(id);
  auto rows = conn.run(
      "SELECT sensor_id, latitude, longitude, city, country FROM sensors "
      "WHERE sensor_id = ANY($1::text[]) ORDER BY sensor_id FOR NO KEY UPDATE",
      Params(text_array(ids)), "insert threats");
  if (!rows) return rows.error();
  std::map<std::string, Place> places;
  for (int i = 0; i < rows->size(); ++i) {
    auto row = (*rows)[i];
    places[row.text(0)] = {row.opt_f64(1), row.opt_f64(2), row.opt_text(3), row.opt_text(4)};
  }
  for (const auto& id : ids)
    if (!places.contains(id)) return make_error(Errc::invalid_input, "unknown sensor '" + id + "'");
  return places;
}

// The first seq of each block of kSeqBlock rows.
Result<std::vector<std::int64_t>> reserve_seqs(Connection& conn, std::size_t n) {
  auto blocks = static_cast<std::int64_t>((n + kSeqBlock - 1) / kSeqBlock);
  auto rows = conn.run("SELECT nextval('threats_seq') FROM generate_series(1, $1::bigint)",
                       Params(blocks), "insert threats");
  if (!rows) return rows.error();
  return collect(*rows, [](const Row& row) { return row.i64(0); });
}

// ---------------------------------------------------------------------------------------------
// COPY text format: tab-separated, \N for NULL, backslash escapes for the four special bytes.
// PostgreSQL text cannot hold NUL: a "\u0000" that JSON let through is dropped rather than
// failing the whole batch (and with it other sensors' threats).
class CopyWriter {
 public:
  std::string& data() { return out_; }
  void end_row() { out_.back() = '\n'; }
  void null() { out_ += "\\N\t"; }
  void text(std::string_view s) {
    for (char c : s) {
      switch (c) {
        case '\\':
          out_ += "\\\\";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\0':
          break;
        default:
          out_ += c;
      }
    }
    out_ += '\t';
  }
  void integer(std::int64_t v) { number(v); }
  void real(double v) { number(v); }
  void boolean(bool v) { out_ += v ? "t\t" : "f\t"; }
  void time(Timestamp t) { number(to_unix_micros(t)); }
  template <class T>
  void opt(const std::optional<T>& v, void (CopyWriter::*write)(T)) {
    if (v)
      (this->*write)(*v);
    else
      null();
  }
  void opt_text(const std::optional<std::string>& v) {
    if (v)
      text(*v);
    else
      null();
  }

 private:
  template <class N>
  void number(N v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, end);
    out_ += '\t';
  }
  std::string out_;
};

void write_threat(CopyWriter& w, const domain::Threat& t, std::int64_t seq) {
  w.text(t.id);
  w.integer(seq);
  w.time(t.timestamp);
  w.text(t.sensor_id);
  w.text(t.threat_type);
  w.text(t.detector_type);
  w.integer(static_cast<int>(t.severity));
  w.opt_text(t.device_name);
  w.opt_text(t.device_mac);
  w.opt_text(t.device_ip);
  w.opt_text(t.src_host);
  if (t.src_port)
    w.integer(*t.src_port);
  else
    w.null();
  w.opt_text(t.dst_host);
  if (t.dst_port)
    w.integer(*t.dst_port);
  else
    w.null();
  w.opt(t.latitude, &CopyWriter::real);
  w.opt(t.longitude, &CopyWriter::real);
  w.opt_text(t.city);
  w.opt_text(t.country);
  w.text(json_text(t.matched_rules));
  w.opt(t.confidence, &CopyWriter::real);
  w.real(t.threat_score);
  w.text(json_text(t.raw_event));
  w.text(json_text(t.mitre_tactics));
  w.text(json_text(t.mitre_techniques));
  w.boolean(t.is_acknowledged);
  w.opt(t.acknowledged_at, &CopyWriter::time);
  w.opt_text(t.acknowledged_by);
  w.opt_text(t.acknowledgement_notes);
  w.time(t.created_at);
  w.end_row();
}

Status copy_rows(Connection& conn, const std::vector<domain::Threat>& threats) {
  auto blocks = reserve_seqs(conn, threats.size());
  if (!blocks) return blocks.error();
  CopyWriter w;
  w.data().reserve(threats.size() * 700);
  for (std::size_t i = 0; i < threats.size(); ++i)
    write_threat(w, threats[i],
                 (*blocks)[i / kSeqBlock] + static_cast<std::int64_t>(i % kSeqBlock));
  auto s = conn.copy_in(kCopyThreats, w.data(), "insert threats");
  if (!s && s.error().code == Errc::conflict)
    return make_error(Errc::conflict, "a threat of the batch already exists");
  return s;
}

// Adds (or, with negative deltas, removes) counts in the rollup and totals rows, one statement
// each for the whole batch.
Status add_rollups(Connection& conn, const std::map<RollupKey, RollupSum>& rollups) {
  std::vector<std::int64_t> buckets, severities, counts;
  std::vector<std::string> sensors, detectors, types;
  std::vector<double> scores;
  for (const auto& [key, sum] : rollups) {
    const auto& [sensor, detector, severity, type] = key.second;
    buckets.push_back(key.first);
    sensors.push_back(sensor);
    detectors.push_back(detector);
    severities.push_back(severity);
    types.push_back(type);
    counts.push_back(sum.count);
    scores.push_back(sum.score_sum);
  }
  auto r = conn.run(
      kAddRollups,
      Params(int_array(buckets), text_array(sensors), text_array(detectors), int_array(severities),
             text_array(types), int_array(counts), float_array(scores)),
      "update threat rollups");
  if (!r) return r.error();
  return {};
}

Status add_fleet_rollups(Connection& conn, const std::map<FleetKey, RollupSum>& fleet) {
  std::vector<std::int64_t> buckets, severities, counts;
  std::vector<double> scores;
  for (const auto& [key, sum] : fleet) {
    buckets.push_back(key.first);
    severities.push_back(key.second);
    counts.push_back(sum.count);
    scores.push_back(sum.score_sum);
  }
  auto r = conn.run(
      kAddFleetRollups,
      Params(int_array(buckets), int_array(severities), int_array(counts), float_array(scores)),
      "update fleet rollups");
  if (!r) return r.error();
  return {};
}

Status add_type_rollups(Connection& conn, const std::map<TypeKey, RollupSum>& types) {
  std::vector<std::int64_t> buckets, severities, counts;
  std::vector<std::string> names;
  std::vector<double> scores;
  for (const auto& [key, sum] : types) {
    const auto& [bucket, type, severity] = key;
    buckets.push_back(bucket);
    names.push_back(type);
    severities.push_back(severity);
    counts.push_back(sum.count);
    scores.push_back(sum.score_sum);
  }
  auto r = conn.run(kAddTypeRollups,
                    Params(int_array(buckets), text_array(names), int_array(severities),
                           int_array(counts), float_array(scores)),
                    "update fleet rollups");
  if (!r) return r.error();
  return {};
}

// The all-time count by severity follows every change of threat_totals' stored rows (insert,
// delete); retention moves rows to `expired` there and leaves this one alone.
Status add_fleet_totals(Connection& conn, const std::map<TotalKey, std::int64_t>& totals) {
  std::map<std::int64_t, std::int64_t> by_severity;
  for (const auto& [key, count] : totals) by_severity[std::get<2>(key)] += count;
  std::vector<std::int64_t> severities, counts;
  for (const auto& [severity, count] : by_severity) {
    severities.push_back(severity);
    counts.push_back(count);
  }
  auto r = conn.run(kAddFleetTotals, Params(int_array(severities), int_array(counts)),
                    "update threat totals");
  if (!r) return r.error();
  return {};
}

Status add_totals(Connection& conn, const std::map<TotalKey, std::int64_t>& totals) {
  std::vector<std::int64_t> severities, counts;
  std::vector<std::string> sensors, detectors, types;
  for (const auto& [key, count] : totals) {
    const auto& [sensor, detector, severity, type] = key;
    sensors.push_back(sensor);
    detectors.push_back(detector);
    severities.push_back(severity);
    types.push_back(type);
    counts.push_back(count);
  }
  auto r = conn.run(kAddTotals,
                    Params(text_array(sensors), text_array(detectors), int_array(severities),
                           text_array(types), int_array(counts)),
                    "update threat totals");
  if (!r) return r.error();
  return {};
}

Status add_sensor_counts(Connection& conn, const std::map<std::string, SensorSum>& sensors) {
  std::vector<std::string> ids;
  std::vector<std::int64_t> counts, last_threats, last_seens;
  for (const auto& [id, sum] : sensors) {
    ids.push_back(id);
    counts.push_back(sum.count);
    last_threats.push_back(sum.last_threat);
    last_seens.push_back(sum.last_seen);
  }
  auto r = conn.run(
      kAddSensorCounts,
      Params(text_array(ids), int_array(counts), int_array(last_threats), int_array(last_seens)),
      "update sensor counters");
  if (!r) return r.error();
  return {};
}

Status store_batch(Connection& conn, std::vector<domain::Threat>& threats) {
  auto sums = sum_batch(threats);
  auto places = lock_sensors(conn, sums);
  if (!places) return places.error();
  for (auto& t : threats) fill_place(t, (*places)[t.sensor_id]);
  if (auto s = copy_rows(conn, threats); !s) return s;
  if (auto s = add_rollups(conn, sums.rollups); !s) return s;
  if (auto s = add_totals(conn, sums.totals); !s) return s;
  if (auto s = add_sensor_counts(conn, sums.sensors); !s) return s;
  // Every batch updates the same few fleet-wide rows (this hour's, the all-time totals): their
  // row locks serialise concurrent writers until commit, so they come last, each in key order.
  if (auto s = add_type_rollups(conn, sums.types); !s) return s;
  if (auto s = add_fleet_rollups(conn, sums.fleet); !s) return s;
  return add_fleet_totals(conn, sums.totals);
}

// Takes one deleted threat out of its sensor counter (locking the sensor row first, as ingest
// does), its rollups and its totals; rows brought to zero are removed.
Status subtract_threat(Connection& conn, const domain::Threat& t) {
  auto sensor = conn.run(
      "UPDATE sensors SET total_threats_detected = greatest(total_threats_detected - 1, 0) "
      "WHERE sensor_id = $1",
      Params(t.sensor_id), "delete threat");
  if (!sensor) return sensor.error();
  RollupKey key{floor_to(to_unix_micros(t.timestamp), kMicrosPerHour), total_key(t)};
  const RollupSum minus_one{-1, -t.threat_score};
  if (auto s = add_rollups(conn, {{key, minus_one}}); !s) return s;
  const auto& [sensor_id, detector, severity, type] = key.second;
  if (auto s = add_totals(conn, {{key.second, -1}}); !s) return s;
  // The fleet-wide rows in the order ingest locks them.
  if (auto s = add_type_rollups(conn, {{TypeKey{key.first, type, severity}, minus_one}}); !s)
    return s;
  if (auto s = add_fleet_rollups(conn, {{FleetKey{key.first, severity}, minus_one}}); !s) return s;
  if (auto s = add_fleet_totals(conn, {{key.second, -1}}); !s) return s;
  auto rollup = conn.run(
      "DELETE FROM threat_rollups_hourly WHERE bucket = $1 AND sensor_id = $2 AND "
      "detector_type = $3 AND severity = $4 AND threat_type = $5 AND count <= 0",
      Params(key.first, sensor_id, detector, severity, type), "delete threat");
  if (!rollup) return rollup.error();
  auto fleet = conn.run(
      "DELETE FROM threat_rollups_fleet_hourly WHERE bucket = $1 AND severity = $2 AND "
      "count <= 0",
      Params(key.first, severity), "delete threat");
  if (!fleet) return fleet.error();
  auto by_type = conn.run(
      "DELETE FROM threat_rollups_type_hourly WHERE bucket = $1 AND threat_type = $2 AND "
      "severity = $3 AND count <= 0",
      Params(key.first, type, severity), "delete threat");
  if (!by_type) return by_type.error();
  auto total = conn.run(
      "DELETE FROM threat_totals WHERE sensor_id = $1 AND detector_type = $2 AND "
      "severity = $3 AND threat_type = $4 AND count <= 0 AND expired <= 0",
      Params(sensor_id, detector, severity, type), "delete threat");
  if (!total) return total.error();
  return {};
}

const std::string& select_threat_sql() {
  static const std::string sql =
      std::string("SELECT ").append(kThreatColumns).append(" FROM threats WHERE id = $1::uuid");
  return sql;
}

// Threat ids are UUIDs; anything else names no threat (and must not reach a uuid parameter).
std::optional<std::string> threat_id(std::string_view id) {
  return normalize_uuid(id);
}

Error threat_not_found() {
  return make_error(Errc::not_found, "Threat not found");
}

}  // namespace

Result<std::vector<domain::Threat>> PgStore::insert_threats(std::vector<domain::Threat> threats) {
  if (threats.empty()) return threats;
  // A retried transaction starts again from the caller's threats (fill_place is idempotent).
  auto stored = transaction("insert threats",
                            [&](Connection& conn) -> Status { return store_batch(conn, threats); });
  if (!stored) return stored.error();
  return threats;
}

Result<domain::Threat> PgStore::find_threat(std::string_view id) {
  auto uuid = threat_id(id);
  if (!uuid) return threat_not_found();
  return with_connection([&](Connection& conn) -> Result<domain::Threat> {
    auto rows = conn.run(select_threat_sql(), Params(*uuid), "find threat");
    if (!rows) return rows.error();
    if (rows->empty()) return threat_not_found();
    return read_threat((*rows)[0]);
  });
}

Status PgStore::delete_threat(std::string_view id) {
  auto uuid = threat_id(id);
  if (!uuid) return threat_not_found();
  return transaction("delete threat", [&](Connection& conn) -> Status {
    static const std::string sql =
        std::string("DELETE FROM threats WHERE id = $1::uuid RETURNING ").append(kThreatColumns);
    auto rows = conn.run(sql, Params(*uuid), "delete threat");
    if (!rows) return rows.error();
    if (rows->empty()) return threat_not_found();
    return subtract_threat(conn, read_threat((*rows)[0]));
  });
}

Result<domain::Threat> PgStore::acknowledge_threat(std::string_view id, std::string_view username,
                                                   std::optional<std::string> notes, Timestamp at) {
  auto uuid = threat_id(id);
  if (!uuid) return threat_not_found();
  return with_connection([&](Connection& conn) -> Result<domain::Threat> {
    static const std::string sql =
        std::string(
            "UPDATE threats SET is_acknowledged = true, acknowledged_at = $1, acknowledged_by = "
            "$2, acknowledgement_notes = $3 WHERE id = $4::uuid RETURNING ")
            .append(kThreatColumns);
    auto rows = conn.run(sql, Params(at, username, notes, *uuid), "acknowledge threat");
    if (!rows) return rows.error();
    if (rows->empty()) return threat_not_found();
    return read_threat((*rows)[0]);
  });
}

}  // namespace honeyman::store::pg
