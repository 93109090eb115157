// Retention. Day partitions that lie wholly before the cutoff are dropped (no row-by-row delete,
// no dead tuples left behind); the old rows elsewhere — the default partition, the day holding
// the cutoff — go in bounded batches. Either way the rows' counts move from threat_totals.count
// (stored rows, the exact /threats total) to .expired in the same transaction; rollups, sensor
// counters and threat_totals_fleet are history and stay (see docs/DECISIONS.md). The triage history
// of the removed threats goes with them (by day for a dropped partition); the audit log stays.
//
// DDL cannot take parameters: the partition names spliced into statements below come from the
// catalog and are checked to be day-partition names (threats_pYYYYMMDD) first.
#include <map>
#include <tuple>

#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

using TotalCounts = std::map<detail::TotalKey, std::int64_t>;

// Waiting longer than this for the table lock a partition drop needs (every query of `threats`
// holds a weaker one) would stall the readers queued behind it: give up, the next pass retries.
constexpr const char* kDropLockTimeout = "SET LOCAL lock_timeout = 1000";

const std::string kExpireTotals =
    "UPDATE threat_totals t SET count = t.count - d.n, expired = t.expired + d.n "
    "FROM unnest($1::text[], $2::text[], $3::smallint[], $4::text[], $5::bigint[]) "
    "AS d(sensor_id, detector_type, severity, threat_type, n) "
    "WHERE t.sensor_id = d.sensor_id AND t.detector_type = d.detector_type "
    "AND t.severity = d.severity AND t.threat_type = d.threat_type";

const std::string kExpireFleetTotals =
    "UPDATE threat_totals_fleet f SET expired = f.expired + d.n "
    "FROM (SELECT severity, sum(n)::bigint AS n FROM unnest($1::text[], $2::text[], "
    "$3::smallint[], $4::text[], $5::bigint[]) AS u(sensor_id, detector_type, severity, "
    "threat_type, n) GROUP BY severity) d WHERE f.severity = d.severity";

// The oldest rows before the cutoff, at most $2 of them (index order on timestamp, merged over
// the partitions that can hold them), deleted by id: one probe of each partition's primary key.
const std::string kDeleteOldestBatch =
    "DELETE FROM threats WHERE timestamp < $1::bigint AND id = ANY(ARRAY("
    "SELECT id FROM threats WHERE timestamp < $1::bigint ORDER BY timestamp LIMIT $2::bigint)) "
    "RETURNING sensor_id, detector_type, severity, threat_type, id::text";

// (sensor, detector, severity, type) → rows, from rows beginning with those four columns and, when
// `grouped`, a count.
TotalCounts read_counts(const Rows& rows, bool grouped) {
  TotalCounts out;
  for (int i = 0; i < rows.size(); ++i) {
    auto row = rows[i];
    out[{row.text(0), row.text(1), static_cast<int>(row.i64(2)), row.text(3)}] +=
        grouped ? row.i64(4) : 1;
  }
  return out;
}

Status expire_totals(Connection& conn, const TotalCounts& totals) {
  if (totals.empty()) return {};
  auto arrays = total_arrays(totals);
  if (auto r = conn.run(kExpireTotals, arrays, "delete old threats"); !r) return r.error();
  // The same key arrays' severities ($3) and counts ($5), summed by severity in SQL.
  return detail::status_of(conn.run(kExpireFleetTotals, arrays, "delete old threats"));
}

// Day partitions whose whole day ends at or before `cutoff`, oldest first.
Result<std::vector<std::string>> expired_partitions(Connection& conn, std::int64_t cutoff) {
  auto rows = conn.run(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'threats'::regclass",
      Params(), "delete old threats");
  if (!rows) return rows.error();
  std::map<std::int64_t, std::string> days;
  for (int i = 0; i < rows->size(); ++i) {
    auto name = (*rows)[i].text(0);
    if (auto day = partition_day(name); day && *day + kMicrosPerDay <= cutoff) days[*day] = name;
  }
  std::vector<std::string> out;
  for (auto& [day, name] : days) out.push_back(std::move(name));
  return out;
}

// Drops one day partition, moving its rows' counts to `expired` first; returns the rows it held.
// The parent's exclusive lock, taken first, waits for the statements already using `threats`
// and holds back new ones until commit: meanwhile no row can enter or leave the partition, and
// no writer can hold a threat_totals row (every writer changes `threats` before its totals), so
// the counts moved are exactly the rows dropped. Serialised with partition creation.
Result<std::int64_t> drop_partition(Connection& conn, const std::string& name) {
  if (auto s = conn.exec(kDropLockTimeout, "delete old threats"); !s) return s.error();
  if (auto r = conn.run("SELECT pg_advisory_xact_lock($1::bigint)", Params(kPartitionLock),
                        "delete old threats");
      !r)
    return r.error();
  if (auto s = conn.exec("LOCK TABLE ONLY threats IN ACCESS EXCLUSIVE MODE", "delete old threats");
      !s)
    return s.error();
  // After the table lock, which refreshes the catalog cache (the advisory lock does not).
  auto found =
      conn.run("SELECT to_regclass($1::text) IS NOT NULL", Params(name), "delete old threats");
  if (!found) return found.error();
  if (!(*found)[0].boolean(0)) return 0;  // another process dropped it first
  auto rows =
      conn.run_once("SELECT sensor_id, detector_type, severity, threat_type, count(*) FROM " +
                        name + " GROUP BY 1, 2, 3, 4",
                    Params(), "delete old threats");
  if (!rows) return rows.error();
  auto counts = read_counts(*rows, true);
  if (auto s = expire_totals(conn, counts); !s) return s.error();
  // The day's history goes with it: history rows carry their threat's timestamp.
  auto day = partition_day(name).value_or(0);
  if (auto r = conn.run("DELETE FROM threat_history WHERE threat_timestamp >= $1::bigint AND "
                        "threat_timestamp < $2::bigint",
                        Params(day, day + kMicrosPerDay), "delete old threats");
      !r)
    return r.error();
  if (auto s = conn.exec("DROP TABLE " + name, "delete old threats"); !s) return s.error();
  std::int64_t dropped = 0;
  for (const auto& [key, n] : counts) dropped += n;
  return dropped;
}

// Deletes at most `limit` of the oldest rows before `cutoff` and expires their counts. The
// sensors' rows are locked (in sensor_id order) before their totals, as ingest does, so the two
// queue instead of deadlocking.
Result<std::int64_t> delete_oldest(Connection& conn, std::int64_t cutoff, int limit) {
  auto rows = conn.run(kDeleteOldestBatch, Params(cutoff, limit), "delete old threats");
  if (!rows) return rows.error();
  if (rows->empty()) return 0;
  auto counts = read_counts(*rows, false);
  std::vector<std::string> ids;
  for (int i = 0; i < rows->size(); ++i) ids.push_back((*rows)[i].text(4));
  if (auto r = conn.run("DELETE FROM threat_history WHERE threat_id = ANY($1::uuid[])",
                        Params(text_array(ids)), "delete old threats");
      !r)
    return r.error();
  std::vector<std::string> sensors;
  for (const auto& [key, n] : counts)
    if (sensors.empty() || sensors.back() != std::get<0>(key)) sensors.push_back(std::get<0>(key));
  auto locked = conn.run(
      "SELECT 1 FROM sensors WHERE sensor_id = ANY($1::text[]) ORDER BY sensor_id "
      "FOR NO KEY UPDATE",
      Params(text_array(sensors)), "delete old threats");
  if (!locked) return locked.error();
  if (auto s = expire_totals(conn, counts); !s) return s.error();
  return static_cast<std::int64_t>(rows->size());
}

// Deletes at most `limit` rows of `table` whose bucket is at or before `last_bucket`, oldest
// first (by their physical address: the tables are not partitioned, so ctid is unique).
Result<std::int64_t> delete_rollup_rows(Connection& conn, std::string_view table,
                                        std::int64_t last_bucket, std::int64_t limit) {
  if (limit <= 0) return 0;
  auto sql = std::string("DELETE FROM ")
                 .append(table)
                 .append(" WHERE ctid = ANY(ARRAY(SELECT ctid FROM ")
                 .append(table)
                 .append(" WHERE bucket <= $1::bigint ORDER BY bucket LIMIT $2::bigint))");
  auto r = conn.run(sql, Params(last_bucket, limit), "delete old rollups");
  if (!r) return r.error();
  return r->affected();
}

}  // namespace

Result<std::int64_t> Backend::delete_threats_before(Timestamp cutoff, int batch_limit) {
  auto until = to_unix_micros(cutoff);
  // Whole days first, one partition per transaction, until one held rows (empty ones, created
  // ahead or already emptied by batches, go without counting as removed rows).
  auto partitions = read([&](Connection& conn) { return expired_partitions(conn, until); });
  if (!partitions) return partitions.error();
  for (const auto& name : *partitions) {
    auto dropped = transaction("delete old threats",
                               [&](Connection& conn) { return drop_partition(conn, name); });
    if (!dropped) return dropped.error();
    if (*dropped > 0) return *dropped;
  }
  return transaction("delete old threats",
                     [&](Connection& conn) { return delete_oldest(conn, until, batch_limit); });
}

// Buckets that ended at or before the cutoff, table by table (detail::last_expired_bucket).
Result<std::int64_t> Backend::delete_rollups_before(Timestamp cutoff, int batch_limit) {
  auto until = to_unix_micros(cutoff);
  std::vector<detail::RollupLevel> tables(std::begin(detail::kSensorRollups),
                                          std::end(detail::kSensorRollups));
  tables.insert(tables.end(), std::begin(detail::kFleetRollups), std::end(detail::kFleetRollups));
  tables.insert(tables.end(), std::begin(detail::kTypeRollups), std::end(detail::kTypeRollups));
  return transaction("delete old rollups", [&](Connection& conn) -> Result<std::int64_t> {
    std::int64_t left = batch_limit;
    for (const auto& level : tables) {
      auto n = delete_rollup_rows(conn, level.table,
                                  detail::last_expired_bucket(until, level.micros), left);
      if (!n) return n.error();
      left -= *n;
    }
    return batch_limit - left;
  });
}

}  // namespace honeyman::store::pg
