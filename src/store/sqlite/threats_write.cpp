// Writing threats: batched insert with rollups and counters in the same transaction, delete,
// acknowledge.
#include <algorithm>
#include <cstdint>
#include <map>
#include <tuple>

#include "store/detail/batch_sums.hpp"
#include "store/sqlite/detail/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::detail {
namespace {

const std::string& insert_threat_sql() {
  static const std::string sql = [] {
    auto columns = kThreatColumns.substr(0, kThreatColumns.rfind(", seq"));
    return "INSERT INTO threats (" + std::string(columns) + ") VALUES (" + placeholders(28) + ")";
  }();
  return sql;
}

// The stored location of every sensor in the batch; Errc::invalid_input names an unknown one.
Result<std::map<std::string, Place>> batch_places(Connection& conn, const BatchSums& sums) {
  auto stmt =
      conn.prepare("SELECT latitude, longitude, city, country FROM sensors WHERE sensor_id = ?",
                   "insert threats");
  if (!stmt) return stmt.error();
  std::map<std::string, Place> places;
  for (const auto& [sensor_id, sum] : sums.sensors) {
    stmt->reset();
    auto row = stmt->bind(sensor_id).step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::invalid_input, "unknown sensor '" + sensor_id + "'");
    places[sensor_id] = {stmt->opt_f64(0), stmt->opt_f64(1), stmt->opt_text(2), stmt->opt_text(3)};
  }
  return places;
}

void bind_threat(Stmt& stmt, const domain::Threat& t) {
  stmt.bind(t.id, t.timestamp, t.sensor_id, t.threat_type, t.detector_type,
            static_cast<int>(t.severity), t.device_name, t.device_mac, t.device_ip, t.src_host,
            t.src_port, t.dst_host, t.dst_port, t.latitude, t.longitude, t.city, t.country,
            json_text(t.matched_rules), t.confidence, t.threat_score, json_text(t.raw_event),
            json_text(t.mitre_tactics), json_text(t.mitre_techniques), t.is_acknowledged,
            t.acknowledged_at, t.acknowledged_by, t.acknowledgement_notes, t.created_at);
}

Status insert_rows(Connection& conn, const std::vector<domain::Threat>& threats) {
  auto stmt = conn.prepare(insert_threat_sql(), "insert threats");
  if (!stmt) return stmt.error();
  for (const auto& t : threats) {
    stmt->reset();
    bind_threat(*stmt, t);
    if (auto s = stmt->run(); !s) {
      if (s.error().code == Errc::conflict)
        return make_error(Errc::conflict, "threat '" + t.id + "' already exists");
      return s;
    }
  }
  return {};
}

// Adds (or, with negative deltas, removes) counts in the rollup and totals rows.
Status add_rollups(Connection& conn, const std::map<RollupKey, RollupSum>& rollups) {
  auto stmt = conn.prepare(
      "INSERT INTO threat_rollups_hourly (bucket, sensor_id, detector_type, severity, "
      "threat_type, count, score_sum) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
      "count = count + excluded.count, score_sum = score_sum + excluded.score_sum",
      "update threat rollups");
  if (!stmt) return stmt.error();
  for (const auto& [key, sum] : rollups) {
    const auto& [sensor, detector, severity, type] = key.second;
    stmt->reset();
    stmt->bind(key.first, sensor, detector, severity, type, sum.count, sum.score_sum);
    if (auto s = stmt->run(); !s) return s;
  }
  return {};
}

Status add_fleet_rollups(Connection& conn, const std::map<FleetKey, RollupSum>& fleet) {
  auto stmt = conn.prepare(
      "INSERT INTO threat_rollups_fleet_hourly (bucket, severity, count, score_sum) "
      "VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count, "
      "score_sum = score_sum + excluded.score_sum",
      "update fleet rollups");
  if (!stmt) return stmt.error();
  for (const auto& [key, sum] : fleet) {
    stmt->reset();
    if (auto s = stmt->bind(key.first, key.second, sum.count, sum.score_sum).run(); !s) return s;
  }
  return {};
}

Status add_type_rollups(Connection& conn, const std::map<TypeKey, RollupSum>& types) {
  auto stmt = conn.prepare(
      "INSERT INTO threat_rollups_type_hourly (bucket, threat_type, severity, count, score_sum) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count, "
      "score_sum = score_sum + excluded.score_sum",
      "update fleet rollups");
  if (!stmt) return stmt.error();
  for (const auto& [key, sum] : types) {
    const auto& [bucket, type, severity] = key;
    stmt->reset();
    if (auto s = stmt->bind(bucket, type, severity, sum.count, sum.score_sum).run(); !s) return s;
  }
  return {};
}

// The all-time count by severity follows every change of threat_totals' stored rows (insert,
// delete); retention moves rows to `expired` there and leaves this one alone.
Status add_fleet_totals(Connection& conn, const std::map<TotalKey, std::int64_t>& totals) {
  std::map<int, std::int64_t> by_severity;
  for (const auto& [key, count] : totals) by_severity[std::get<2>(key)] += count;
  auto stmt = conn.prepare(
      "INSERT INTO threat_totals_fleet (severity, count) VALUES (?, ?) "
      "ON CONFLICT DO UPDATE SET count = count + excluded.count",
      "update threat totals");
  if (!stmt) return stmt.error();
  for (const auto& [severity, count] : by_severity) {
    stmt->reset();
    if (auto s = stmt->bind(severity, count).run(); !s) return s;
  }
  return {};
}

Status add_totals(Connection& conn, const std::map<TotalKey, std::int64_t>& totals) {
  auto stmt = conn.prepare(
      "INSERT INTO threat_totals (sensor_id, detector_type, severity, threat_type, count) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count",
      "update threat totals");
  if (!stmt) return stmt.error();
  for (const auto& [key, count] : totals) {
    const auto& [sensor, detector, severity, type] = key;
    stmt->reset();
    if (auto s = stmt->bind(sensor, detector, severity, type, count).run(); !s) return s;
  }
  return add_fleet_totals(conn, totals);
}

Status add_sensor_counts(Connection& conn, const std::map<std::string, SensorSum>& sensors) {
  auto stmt = conn.prepare(
      "UPDATE sensors SET total_threats_detected = total_threats_detected + ?1,"
      " last_threat_at = max(coalesce(last_threat_at, ?2), ?2),"
      " last_seen = max(coalesce(last_seen, ?3), ?3) WHERE sensor_id = ?4",
      "update sensor counters");
  if (!stmt) return stmt.error();
  for (const auto& [sensor_id, sum] : sensors) {
    stmt->reset();
    if (auto s = stmt->bind(sum.count, sum.last_threat, sum.last_seen, sensor_id).run(); !s)
      return s;
  }
  return {};
}

Status store_batch(Connection& conn, std::vector<domain::Threat>& threats) {
  auto sums = sum_batch(threats);
  auto places = batch_places(conn, sums);
  if (!places) return places.error();
  for (auto& t : threats) fill_place(t, (*places)[t.sensor_id]);
  if (auto s = insert_rows(conn, threats); !s) return s;
  if (auto s = add_rollups(conn, sums.rollups); !s) return s;
  if (auto s = add_fleet_rollups(conn, sums.fleet); !s) return s;
  if (auto s = add_type_rollups(conn, sums.types); !s) return s;
  if (auto s = add_totals(conn, sums.totals); !s) return s;
  return add_sensor_counts(conn, sums.sensors);
}

// Removes the rollup and total rows of `key` once a delete has brought them to zero.
Status prune_empty(Connection& conn, const RollupKey& key) {
  const auto& [sensor, detector, severity, type] = key.second;
  auto rollup = conn.prepare(
      "DELETE FROM threat_rollups_hourly WHERE bucket = ? AND sensor_id = ? AND "
      "detector_type = ? AND severity = ? AND threat_type = ? AND count <= 0",
      "delete threat");
  if (!rollup) return rollup.error();
  if (auto s = rollup->bind(key.first, sensor, detector, severity, type).run(); !s) return s;
  auto fleet = conn.prepare(
      "DELETE FROM threat_rollups_fleet_hourly WHERE bucket = ? AND severity = ? AND count <= 0",
      "delete threat");
  if (!fleet) return fleet.error();
  if (auto s = fleet->bind(key.first, severity).run(); !s) return s;
  auto by_type = conn.prepare(
      "DELETE FROM threat_rollups_type_hourly WHERE bucket = ? AND threat_type = ? AND "
      "severity = ? AND count <= 0",
      "delete threat");
  if (!by_type) return by_type.error();
  if (auto s = by_type->bind(key.first, type, severity).run(); !s) return s;
  auto total = conn.prepare(
      "DELETE FROM threat_totals WHERE sensor_id = ? AND detector_type = ? AND severity = ? AND "
      "threat_type = ? AND count <= 0 AND expired <= 0",
      "delete threat");
  if (!total) return total.error();
  return total->bind(sensor, detector, severity, type).run();
}

// Takes one deleted threat out of its rollup, total and sensor counter.
Status subtract_threat(Connection& conn, const domain::Threat& t) {
  RollupKey key{floor_hour(to_unix_micros(t.timestamp)), total_key(t)};
  if (auto s = add_rollups(conn, {{key, RollupSum{-1, -t.threat_score}}}); !s) return s;
  const RollupSum minus_one{-1, -t.threat_score};
  FleetKey fleet{key.first, static_cast<int>(t.severity)};
  if (auto s = add_fleet_rollups(conn, {{fleet, minus_one}}); !s) return s;
  TypeKey by_type{key.first, t.threat_type, static_cast<int>(t.severity)};
  if (auto s = add_type_rollups(conn, {{by_type, minus_one}}); !s) return s;
  if (auto s = add_totals(conn, {{key.second, -1}}); !s) return s;
  if (auto s = prune_empty(conn, key); !s) return s;
  auto stmt = conn.prepare(
      "UPDATE sensors SET total_threats_detected = max(total_threats_detected - 1, 0) "
      "WHERE sensor_id = ?",
      "delete threat");
  if (!stmt) return stmt.error();
  return stmt->bind(t.sensor_id).run();
}

Result<domain::Threat> select_threat(Connection& conn, std::string_view id) {
  static const std::string sql =
      std::string("SELECT ").append(kThreatColumns).append(" FROM threats WHERE id = ?");
  auto stmt = conn.prepare(sql, "find threat");
  if (!stmt) return stmt.error();
  auto row = stmt->bind(id).step();
  if (!row) return row.error();
  if (!*row) return make_error(Errc::not_found, "Threat not found");
  return read_threat(*stmt);
}

}  // namespace

Result<std::vector<domain::Threat>> SqliteStore::insert_threats(
    std::vector<domain::Threat> threats) {
  if (threats.empty()) return threats;
  auto stored = write_transaction(
      "insert threats", [&](Connection& conn) -> Status { return store_batch(conn, threats); });
  if (!stored) return stored.error();
  return threats;
}

Result<domain::Threat> SqliteStore::find_threat(std::string_view id) {
  return with_reader([&](Connection& conn) { return select_threat(conn, id); });
}

Status SqliteStore::delete_threat(std::string_view id) {
  return write_transaction("delete threat", [&](Connection& conn) -> Status {
    auto threat = select_threat(conn, id);
    if (!threat) return threat.error();
    auto stmt = conn.prepare("DELETE FROM threats WHERE id = ?", "delete threat");
    if (!stmt) return stmt.error();
    if (auto s = stmt->bind(id).run(); !s) return s;
    return subtract_threat(conn, *threat);
  });
}

Result<domain::Threat> SqliteStore::acknowledge_threat(std::string_view id,
                                                       std::string_view username,
                                                       std::optional<std::string> notes,
                                                       Timestamp at) {
  return write_transaction("acknowledge threat", [&](Connection& conn) -> Result<domain::Threat> {
    auto stmt = conn.prepare(
        "UPDATE threats SET is_acknowledged = 1, acknowledged_at = ?, acknowledged_by = ?, "
        "acknowledgement_notes = ? WHERE id = ?",
        "acknowledge threat");
    if (!stmt) return stmt.error();
    if (auto s = stmt->bind(at, username, notes, id).run(); !s) return s.error();
    if (conn.changes() == 0) return make_error(Errc::not_found, "Threat not found");
    return select_threat(conn, id);
  });
}

}  // namespace honeyman::store::detail
