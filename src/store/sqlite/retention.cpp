// Retention: bounded batches of deletes, so the writer lock is never held for long and ingest
// keeps flowing while old data goes. A threat's history goes with it; the audit log stays. Deleting
// raw rows leaves rollups and sensor counters alone on purpose: they are history and outlive the
// rows. threat_totals moves the rows from `count` (stored rows, the exact /threats total) to
// `expired` (see docs/DECISIONS.md).
#include <map>
#include <tuple>

#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::sqlite {
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

// The oldest rows before the cutoff, at most `limit`: the (timestamp) index ends with seq, so
// the order, and with it the batch, is the same for both statements of one transaction.
constexpr const char* kOldestBatch =
    "SELECT seq FROM threats WHERE timestamp < ?1 ORDER BY timestamp, seq LIMIT ?2";

using detail::TotalKey;

// How many rows of each threat_totals key the batch holds.
Result<std::map<TotalKey, std::int64_t>> batch_totals(Connection& conn, Timestamp cutoff,
                                                      int limit) {
  auto stmt = conn.prepare(std::string("SELECT sensor_id, detector_type, severity, threat_type, "
                                       "count(*) FROM threats WHERE seq IN (") +
                               kOldestBatch + ") GROUP BY 1, 2, 3, 4",
                           "delete old threats");
  if (!stmt) return stmt.error();
  stmt->bind(cutoff, limit);
  std::map<TotalKey, std::int64_t> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return out;
    out[{stmt->text(0), stmt->text(1), static_cast<int>(stmt->i64(2)), stmt->text(3)}] =
        stmt->i64(4);
  }
}

Status expire_totals(Connection& conn, const std::map<TotalKey, std::int64_t>& totals) {
  auto stmt = conn.prepare(
      "UPDATE threat_totals SET count = count - ?1, expired = expired + ?1 WHERE sensor_id = ?2 "
      "AND detector_type = ?3 AND severity = ?4 AND threat_type = ?5",
      "delete old threats");
  if (!stmt) return stmt.error();
  std::map<int, std::int64_t> by_severity;
  for (const auto& [key, n] : totals) {
    const auto& [sensor, detector, severity, type] = key;
    stmt->reset();
    if (auto s = stmt->bind(n, sensor, detector, severity, type).run(); !s) return s;
    by_severity[severity] += n;
  }
  auto fleet =
      conn.prepare("UPDATE threat_totals_fleet SET expired = expired + ? WHERE severity = ?",
                   "delete old threats");
  if (!fleet) return fleet.error();
  for (const auto& [severity, n] : by_severity) {
    fleet->reset();
    if (auto s = fleet->bind(n, severity).run(); !s) return s;
  }
  return {};
}

}  // namespace

Result<std::int64_t> Backend::delete_threats_before(Timestamp cutoff, int batch_limit) {
  return transaction("delete old threats", [&](Connection& conn) -> Result<std::int64_t> {
    auto totals = batch_totals(conn, cutoff, batch_limit);
    if (!totals) return totals.error();
    if (totals->empty()) return 0;
    auto history = conn.prepare(
        std::string("DELETE FROM threat_history WHERE threat_id IN (SELECT id FROM threats WHERE "
                    "seq IN (") +
            kOldestBatch + "))",
        "delete old threats");
    if (!history) return history.error();
    if (auto s = history->bind(cutoff, batch_limit).run(); !s) return s.error();
    auto stmt = conn.prepare(std::string("DELETE FROM threats WHERE seq IN (") + kOldestBatch + ")",
                             "delete old threats");
    if (!stmt) return stmt.error();
    if (auto s = stmt->bind(cutoff, batch_limit).run(); !s) return s.error();
    auto deleted = conn.changes();
    if (auto s = expire_totals(conn, *totals); !s) return s.error();
    return deleted;
  });
}

// Buckets that ended at or before the cutoff, table by table (detail::last_expired_bucket).
Result<std::int64_t> Backend::delete_rollups_before(Timestamp cutoff, int batch_limit) {
  auto until = to_unix_micros(cutoff);
  return transaction("delete old rollups", [&](Connection& conn) -> Result<std::int64_t> {
    std::int64_t left = batch_limit;
    auto run = [&](const char* table, const char* key, std::int64_t length) -> Status {
      auto n =
          delete_rollup_rows(conn, table, key, detail::last_expired_bucket(until, length), left);
      if (!n) return n.error();
      left -= *n;
      return {};
    };
    Status s;
    for (const auto& level : detail::kSensorRollups)
      if (s) s = run(level.table, "bucket, sensor_id, severity", level.micros);
    for (const auto& level : detail::kFleetRollups)
      if (s) s = run(level.table, "bucket, severity", level.micros);
    for (const auto& level : detail::kTypeRollups)
      if (s) s = run(level.table, "bucket, threat_type, severity", level.micros);
    if (!s) return s.error();
    return batch_limit - left;
  });
}

}  // namespace honeyman::store::sqlite
