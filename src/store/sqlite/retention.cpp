// Retention: bounded batches of deletes, so the writer lock is never held for long and ingest
// keeps flowing while old data goes. Deleting raw rows leaves rollups, totals and sensor counters
// alone on purpose: they are history and outlive the rows (see docs/DECISIONS.md).
#include "store/sqlite/detail/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::detail {
namespace {

// Deletes at most `limit` rows of `table` (WITHOUT ROWID, primary key `key`) whose bucket is at
// or before `last_bucket`, oldest first.
Result<std::int64_t> delete_rollup_rows(Connection& conn, std::string_view table,
                                        std::string_view key, std::int64_t last_bucket,
                                        std::int64_t limit) {
  if (limit <= 0) return 0;
  auto sql = std::string("DELETE FROM ")
                 .append(table)
                 .append(" WHERE (")
                 .append(key)
                 .append(") IN (SELECT ")
                 .append(key)
                 .append(" FROM ")
                 .append(table)
                 .append(" WHERE bucket <= ? ORDER BY bucket LIMIT ?)");
  auto stmt = conn.prepare(sql, "delete old rollups");
  if (!stmt) return stmt.error();
  if (auto s = stmt->bind(last_bucket, limit).run(); !s) return s.error();
  return conn.changes();
}

}  // namespace

Result<std::int64_t> SqliteStore::delete_threats_before(Timestamp cutoff, int batch_limit) {
  if (batch_limit < 1) return make_error(Errc::invalid_input, "batch_limit must be >= 1");
  return write_transaction("delete old threats", [&](Connection& conn) -> Result<std::int64_t> {
    auto stmt = conn.prepare(
        "DELETE FROM threats WHERE seq IN "
        "(SELECT seq FROM threats WHERE timestamp < ? ORDER BY timestamp LIMIT ?)",
        "delete old threats");
    if (!stmt) return stmt.error();
    if (auto s = stmt->bind(cutoff, batch_limit).run(); !s) return s.error();
    return conn.changes();
  });
}

Result<std::int64_t> SqliteStore::delete_rollups_before(Timestamp cutoff, int batch_limit) {
  if (batch_limit < 1) return make_error(Errc::invalid_input, "batch_limit must be >= 1");
  // Hours that ended at or before the cutoff: bucket + 1 h <= cutoff.
  auto last_bucket = to_unix_micros(cutoff) - kMicrosPerHour;
  return write_transaction("delete old rollups", [&](Connection& conn) -> Result<std::int64_t> {
    auto sensor = delete_rollup_rows(conn, "threat_rollups_hourly",
                                     "bucket, sensor_id, detector_type, severity, threat_type",
                                     last_bucket, batch_limit);
    if (!sensor) return sensor.error();
    auto fleet =
        delete_rollup_rows(conn, "threat_rollups_fleet_hourly", "bucket, severity, threat_type",
                           last_bucket, batch_limit - *sensor);
    if (!fleet) return fleet.error();
    return *sensor + *fleet;
  });
}

}  // namespace honeyman::store::detail
