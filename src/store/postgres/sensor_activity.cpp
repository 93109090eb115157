// The PostgreSQL side of what sensors report and what is derived from their threats: its
// heartbeat statement (typed parameters, greatest()) and the per-sensor recent counts.
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

// Three parts of [from, to]: rollup buckets wholly inside, then the raw rows of the partial hours
// at either end (partition pruning keeps those to one or two partitions).
const std::string kRecentCountsSql =
    "SELECT sensor_id, sum(n)::bigint FROM ("
    " SELECT sensor_id, sum(count) AS n FROM threat_rollups_sensor_hourly"
    "  WHERE sensor_id = ANY($1::text[]) AND bucket >= $2::bigint AND bucket < $3::bigint"
    "  GROUP BY sensor_id"
    " UNION ALL SELECT sensor_id, count(*) FROM threats"
    "  WHERE sensor_id = ANY($1::text[]) AND timestamp >= $4::bigint AND timestamp < $5::bigint"
    "  GROUP BY sensor_id"
    " UNION ALL SELECT sensor_id, count(*) FROM threats"
    "  WHERE sensor_id = ANY($1::text[]) AND timestamp >= $6::bigint AND timestamp <= $7::bigint"
    "  GROUP BY sensor_id"
    ") parts GROUP BY sensor_id";

}  // namespace

// An "offline" heartbeat (the agent shutting down) clears last_seen, so the sensor shows offline
// at once instead of three intervals later; an older, delayed one changes nothing. Location
// fields change only when the heartbeat carries them. The casts type parameters that appear only
// in IS NOT NULL tests (PostgreSQL would not infer them).
const std::string& Backend::heartbeat_sql() {
  static const std::string sql =
      "UPDATE sensors SET"
      " last_heartbeat = greatest(coalesce(last_heartbeat, $1::bigint), $1::bigint),"
      " last_seen = CASE WHEN $2::boolean THEN greatest(coalesce(last_seen, $1::bigint), "
      "$1::bigint)"
      "   WHEN last_seen IS NULL OR last_seen <= $1::bigint THEN NULL ELSE last_seen END,"
      " latitude = CASE WHEN $3::float8 IS NOT NULL AND $4::float8 IS NOT NULL THEN $3::float8"
      "   ELSE latitude END,"
      " longitude = CASE WHEN $3::float8 IS NOT NULL AND $4::float8 IS NOT NULL THEN $4::float8"
      "   ELSE longitude END,"
      " location_accuracy = coalesce($5::float8, location_accuracy),"
      " location_method = coalesce($6::text, location_method),"
      " enabled_detectors = coalesce($7::text, enabled_detectors)"
      " WHERE sensor_id = $8::text";
  return sql;
}

Result<std::map<std::string, std::int64_t>> Backend::count_threats_between(
    Connection& conn, const std::vector<std::string>& sensor_ids, Timestamp from, Timestamp to) {
  std::map<std::string, std::int64_t> counts;
  if (sensor_ids.empty()) return counts;
  auto w = detail::split_closed_window(from, to);
  auto done = conn.for_each(
      kRecentCountsSql, "count recent threats",
      [&](const Row& row) { counts[row.text(0)] = row.i64(1); }, text_array(sensor_ids),
      w.whole_from, w.whole_to, w.start, w.whole_from, w.whole_to, w.end);
  if (!done) return done.error();
  return counts;
}

}  // namespace honeyman::store::pg
