// The SQLite side of the batch insert: one prepared statement per table, run once per row or
// rollup key inside the writer's transaction (SQLite has no array parameters, and a statement
// step costs little next to the commit's fsync).
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "store/detail/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::sqlite {
namespace {

using detail::BatchSums;
using detail::FleetKey;
using detail::RollupSum;
using detail::SensorKey;
using detail::SensorSum;
using detail::TotalKey;
using detail::TypeKey;

// Runs `sql` once per entry of `entries`, bind(stmt, key, value) binding each: one prepared
// statement, reset between entries.
template <class Map, class Bind>
Status run_per_entry(Connection& conn, const char* sql, std::string_view what, const Map& entries,
                     Bind bind) {
  if (entries.empty()) return {};
  auto stmt = conn.prepare(sql, what);
  if (!stmt) return stmt.error();
  for (const auto& [key, value] : entries) {
    stmt->reset();
    bind(*stmt, key, value);
    if (auto s = stmt->run(); !s) return s;
  }
  return {};
}

// Rollup and total rows gain (or, with negative deltas, lose) the batch's counts.
std::string add_sensor_rollup_sql(const char* table) {
  return std::string("INSERT INTO ")
      .append(table)
      .append(
          " (bucket, sensor_id, severity, count, score_sum) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO "
          "UPDATE SET count = count + excluded.count, score_sum = score_sum + excluded.score_sum");
}
std::string add_fleet_rollup_sql(const char* table) {
  return std::string("INSERT INTO ")
      .append(table)
      .append(
          " (bucket, severity, count, score_sum) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
          "count = count + excluded.count, score_sum = score_sum + excluded.score_sum");
}
std::string add_type_rollup_sql(const char* table) {
  return std::string("INSERT INTO ")
      .append(table)
      .append(
          " (bucket, threat_type, severity, count, score_sum) VALUES (?, ?, ?, ?, ?) ON CONFLICT "
          "DO "
          "UPDATE SET count = count + excluded.count, score_sum = score_sum + excluded.score_sum");
}
constexpr const char* kAddTotals =
    "INSERT INTO threat_totals (sensor_id, detector_type, severity, threat_type, count) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count";
// The all-time count by severity follows every change of threat_totals' stored rows (insert,
// delete); retention moves rows to `expired` there and leaves this one alone.
constexpr const char* kAddFleetTotals =
    "INSERT INTO threat_totals_fleet (severity, count) VALUES (?, ?) "
    "ON CONFLICT DO UPDATE SET count = count + excluded.count";
constexpr const char* kAddSensorCounts =
    "UPDATE sensors SET total_threats_detected = total_threats_detected + ?1,"
    " last_threat_at = max(coalesce(last_threat_at, ?2), ?2),"
    " last_seen = max(coalesce(last_seen, ?3), ?3),"
    " clock_skew_threats = clock_skew_threats + ?5,"
    " last_clock_skew_seconds = CASE WHEN ?5 > 0 THEN ?6 ELSE last_clock_skew_seconds END"
    " WHERE sensor_id = ?4";

Status add_rollups(Connection& conn, const BatchSums& sums) {
  Status s;
  static const auto add_sensor = detail::per_level(detail::kSensorRollups, add_sensor_rollup_sql);
  for (std::size_t l = 0; l < sums.by_sensor.size() && s; ++l)
    s = run_per_entry(conn, add_sensor[l].c_str(), "update threat rollups", sums.by_sensor[l],
                      [](Stmt& stmt, const SensorKey& key, const RollupSum& sum) {
                        const auto& [bucket, sensor, severity] = key;
                        stmt.bind(bucket, sensor, severity, sum.count, sum.score_sum);
                      });
  static const auto add_fleet = detail::per_level(detail::kFleetRollups, add_fleet_rollup_sql);
  for (std::size_t l = 0; l < sums.fleet.size() && s; ++l)
    s = run_per_entry(conn, add_fleet[l].c_str(), "update fleet rollups", sums.fleet[l],
                      [](Stmt& stmt, const FleetKey& key, const RollupSum& sum) {
                        stmt.bind(key.first, key.second, sum.count, sum.score_sum);
                      });
  static const auto add_types = detail::per_level(detail::kTypeRollups, add_type_rollup_sql);
  for (std::size_t l = 0; l < sums.types.size() && s; ++l)
    s = run_per_entry(conn, add_types[l].c_str(), "update fleet rollups", sums.types[l],
                      [](Stmt& stmt, const TypeKey& key, const RollupSum& sum) {
                        const auto& [bucket, type, severity] = key;
                        stmt.bind(bucket, type, severity, sum.count, sum.score_sum);
                      });
  return s;
}

Status add_totals(Connection& conn, const std::map<TotalKey, std::int64_t>& totals) {
  auto s = run_per_entry(conn, kAddTotals, "update threat totals", totals,
                         [](Stmt& stmt, const TotalKey& key, std::int64_t count) {
                           const auto& [sensor, detector, severity, type] = key;
                           stmt.bind(sensor, detector, severity, type, count);
                         });
  if (!s) return s;
  std::map<int, std::int64_t> by_severity;
  for (const auto& [key, count] : totals) by_severity[std::get<2>(key)] += count;
  return run_per_entry(
      conn, kAddFleetTotals, "update threat totals", by_severity,
      [](Stmt& stmt, int severity, std::int64_t count) { stmt.bind(severity, count); });
}

}  // namespace

// SQLite has a single writer: nothing to lock, only the places to read.
Result<std::map<std::string, detail::Place>> Backend::batch_places(Connection& conn,
                                                                   const BatchSums& sums) {
  auto stmt =
      conn.prepare("SELECT latitude, longitude, city, country FROM sensors WHERE sensor_id = ?",
                   "insert threats");
  if (!stmt) return stmt.error();
  std::map<std::string, detail::Place> places;
  for (const auto& [sensor_id, sum] : sums.sensors) {
    stmt->reset();
    auto row = stmt->bind(sensor_id).step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::invalid_input, "unknown sensor '" + sensor_id + "'");
    places[sensor_id] = {stmt->opt_f64(0), stmt->opt_f64(1), stmt->opt_text(2), stmt->opt_text(3)};
  }
  return places;
}

// A threat whose id is stored already is skipped by the unique index on `id` (ON CONFLICT DO
// NOTHING): one probe that the insert makes anyway, so idempotence costs nothing extra here.
Status Backend::insert_rows(Connection& conn, const std::vector<domain::Threat>& threats,
                            std::vector<bool>& inserted) {
  static const std::string sql = [] {
    auto columns =
        detail::kThreatInsertColumns.substr(0, detail::kThreatInsertColumns.rfind(", seq"));
    return "INSERT INTO threats (" + std::string(columns) + ") VALUES (" + placeholders(31) +
           ") ON CONFLICT (id) DO NOTHING";
  }();
  auto stmt = conn.prepare(sql, "insert threats");
  if (!stmt) return stmt.error();
  for (std::size_t i = 0; i < threats.size(); ++i) {
    if (!inserted[i]) continue;
    stmt->reset();
    detail::with_stored(detail::threat_fields(threats[i]),
                        [&](const auto&... v) -> Stmt& { return stmt->bind(v...); });
    if (auto s = stmt->run(); !s) return s;
    inserted[i] = conn.changes() == 1;
  }
  return {};
}

Status Backend::add_sums(Connection& conn, const BatchSums& sums) {
  if (auto s = add_rollups(conn, sums); !s) return s;
  if (auto s = add_totals(conn, sums.totals); !s) return s;
  return run_per_entry(conn, kAddSensorCounts, "update sensor counters", sums.sensors,
                       [](Stmt& stmt, const std::string& sensor_id, const SensorSum& sum) {
                         stmt.bind(sum.count, sum.last_threat, sum.last_seen, sensor_id, sum.skewed,
                                   sum.last_skew_seconds);
                       });
}

}  // namespace honeyman::store::sqlite
