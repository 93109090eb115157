// The SQLite side of what sensors report and what is derived from their threats: its heartbeat
// statement and the per-sensor recent counts, shaped for its indexes.
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::sqlite {
namespace {

std::string in_list(std::string_view column, std::size_t n) {
  return std::string(column).append(" IN (").append(placeholders(n)).append(")");
}

// Three parts of [from, to]: rollup buckets wholly inside, then the raw rows of the partial hours
// at either end. Each part is a GROUP BY sensor_id over the sensor indexes; the raw rows' index
// is (sensor_id, severity, timestamp), so they name every severity to seek each in time order.
std::string recent_counts_sql(std::size_t n) {
  auto ids = in_list("sensor_id", n);
  auto raw_ids = ids + " AND severity IN (0, 1, 2, 3, 4)";
  return "SELECT sensor_id, sum(n) FROM ("
         " SELECT sensor_id, sum(count) AS n FROM threat_rollups_sensor_hourly WHERE " +
         ids +
         " AND bucket >= ? AND bucket < ? GROUP BY sensor_id"
         " UNION ALL SELECT sensor_id, count(*) FROM threats WHERE " +
         raw_ids +
         " AND timestamp >= ? AND timestamp < ? GROUP BY sensor_id"
         " UNION ALL SELECT sensor_id, count(*) FROM threats WHERE " +
         raw_ids +
         " AND timestamp >= ? AND timestamp <= ? GROUP BY sensor_id"
         ") GROUP BY sensor_id";
}

}  // namespace

// An "offline" heartbeat (the agent shutting down) clears last_seen, so the sensor shows offline
// at once instead of three intervals later; an older, delayed one changes nothing. Location
// fields change only when the heartbeat carries them.
const char* Backend::heartbeat_sql() {
  return "UPDATE sensors SET"
         " last_heartbeat = max(coalesce(last_heartbeat, ?1), ?1),"
         " last_seen = CASE WHEN ?2 THEN max(coalesce(last_seen, ?1), ?1)"
         "   WHEN last_seen IS NULL OR last_seen <= ?1 THEN NULL ELSE last_seen END,"
         " latitude = CASE WHEN ?3 IS NOT NULL AND ?4 IS NOT NULL THEN ?3 ELSE latitude END,"
         " longitude = CASE WHEN ?3 IS NOT NULL AND ?4 IS NOT NULL THEN ?4 ELSE longitude END,"
         " location_accuracy = coalesce(?5, location_accuracy),"
         " location_method = coalesce(?6, location_method),"
         " enabled_detectors = coalesce(?7, enabled_detectors)"
         " WHERE sensor_id = ?8";
}

Result<std::map<std::string, std::int64_t>> Backend::count_threats_between(
    Connection& conn, const std::vector<std::string>& sensor_ids, Timestamp from, Timestamp to) {
  std::map<std::string, std::int64_t> counts;
  if (sensor_ids.empty()) return counts;
  auto w = detail::split_closed_window(from, to);
  auto stmt = conn.prepare(recent_counts_sql(sensor_ids.size()), "count recent threats");
  if (!stmt) return stmt.error();
  for (const auto& id : sensor_ids) stmt->bind(id);
  stmt->bind(w.whole_from, w.whole_to);
  for (const auto& id : sensor_ids) stmt->bind(id);
  stmt->bind(w.start, w.whole_from);
  for (const auto& id : sensor_ids) stmt->bind(id);
  stmt->bind(w.whole_to, w.end);
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return counts;
    counts[stmt->text(0)] = stmt->i64(1);
  }
}

}  // namespace honeyman::store::sqlite
