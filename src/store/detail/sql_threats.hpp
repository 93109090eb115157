// SqlStore: threats — the batched insert (rows, rollups and counters in one transaction), reads
// by id and after an id, listing with filters, sorts and paging, and delete (acknowledgement is
// triage: sql_triage.hpp).
// Included only where a backend instantiates SqlStore (see sql_store.hpp).
#pragma once

#include <algorithm>
#include <string>

#include "store/detail/batch_sums.hpp"
#include "store/detail/cursor.hpp"
#include "store/detail/rows.hpp"
#include "store/detail/sql_audit.hpp"
#include "store/detail/sql_store.hpp"

namespace honeyman::store::detail {

// A stored threat starts untriaged: `new` (or `acknowledged`, keeping is_acknowledged exact),
// nobody's, last changed when created.
inline void start_triage(domain::Threat& t) {
  t.status = t.is_acknowledged ? domain::ThreatStatus::acknowledged : domain::ThreatStatus::new_;
  t.assignee.reset();
  t.updated_at = t.created_at;
}

// Duplicates (the same message again) are found first, then only new threats are written and
// summed. The backend's insert_rows clears inserted[i] for a threat already stored; its checks
// run after batch_places has locked the batch's sensors (PostgreSQL), so a concurrent writer of
// the same sensor's threats has committed or not started.
template <class B>
Result<InsertOutcome> SqlStore<B>::insert_threats(std::vector<domain::Threat>& threats) {
  if (threats.empty()) return InsertOutcome{};
  auto sums = sum_batch(threats);
  // A transaction run again (PostgreSQL, after a deadlock) or a later call with the same threats
  // (the writer's retry) starts from threats whose places may be filled: fill_place is
  // idempotent.
  return b_.transaction("insert threats", [&](Connection& conn) -> Result<InsertOutcome> {
    InsertOutcome out;
    out.inserted = first_of_each_id(threats);
    auto places = B::batch_places(conn, sums);
    if (!places) return places.error();
    for (auto& t : threats) {
      fill_place(t, (*places)[t.sensor_id]);
      start_triage(t);
    }
    if (auto s = B::insert_rows(conn, threats, out.inserted); !s) return s.error();
    out.count =
        static_cast<std::size_t>(std::count(out.inserted.begin(), out.inserted.end(), true));
    auto added = out.count == threats.size() ? B::add_sums(conn, sums)
                                             : B::add_sums(conn, sum_batch(threats, &out.inserted));
    if (!added) return added.error();
    return out;
  });
}

template <class B>
Result<domain::Threat> SqlStore<B>::find_threat(std::string_view id) {
  static const std::string sql =
      std::string("SELECT ").append(kThreatColumns).append(" FROM threats WHERE id = $1");
  auto key = B::threat_id(id);
  if (!key) return make_error(Errc::not_found, "Threat not found");
  return b_.read([&](Connection& conn) {
    return found_or(conn.fetch_one(sql, "find threat", read_threat, *key), "Threat not found");
  });
}

template <class B>
Result<std::vector<domain::Threat>> SqlStore<B>::threats_after(std::string_view after_id,
                                                               int limit) {
  // Ids are not time-ordered (they are made of the message), `seq` is the insertion order.
  static const std::string sql =
      std::string("SELECT ")
          .append(kThreatColumns)
          .append(
              " FROM threats WHERE seq > (SELECT min(seq) FROM threats WHERE id = $1) "
              "ORDER BY seq "
              "LIMIT $2");
  auto id = normalize_uuid(after_id);
  if (!id) return make_error(Errc::invalid_input, "not a threat id");
  return b_.read([&](Connection& conn) {
    return conn.fetch_all(sql, "threats after", read_threat, *id, limit);
  });
}

// The threat leaves its sensor's counter (the sensor row first, the lock order of ingest), its
// rollups and totals; the rollup and total rows it brings to zero go.
template <class B, class Connection>
Status subtract_threat(Connection& conn, const domain::Threat& t) {
  auto sensor = conn.execute(
      "UPDATE sensors SET total_threats_detected = CASE WHEN total_threats_detected > 0 "
      "THEN total_threats_detected - 1 ELSE 0 END WHERE sensor_id = $1",
      "delete threat", t.sensor_id);
  if (!sensor) return sensor.error();
  if (auto s = B::add_sums(conn, removal_of(t)); !s) return s;
  auto ts = to_unix_micros(t.timestamp);
  auto severity = static_cast<int>(t.severity);
  Result<std::int64_t> pruned = 0;
  for (const auto& level : kSensorRollups)
    if (pruned)
      pruned = conn.execute(
          std::string("DELETE FROM ")
              .append(level.table)
              .append(" WHERE bucket = $1 AND sensor_id = $2 AND severity = $3 AND count <= 0"),
          "delete threat", floor_to(ts, level.micros), t.sensor_id, severity);
  for (const auto& level : kFleetRollups)
    if (pruned)
      pruned = conn.execute(std::string("DELETE FROM ")
                                .append(level.table)
                                .append(" WHERE bucket = $1 AND severity = $2 AND count <= 0"),
                            "delete threat", floor_to(ts, level.micros), severity);
  for (const auto& level : kTypeRollups)
    if (pruned)
      pruned = conn.execute(
          std::string("DELETE FROM ")
              .append(level.table)
              .append(" WHERE bucket = $1 AND threat_type = $2 AND severity = $3 AND count <= 0"),
          "delete threat", floor_to(ts, level.micros), t.threat_type, severity);
  if (pruned)
    pruned = conn.execute(
        "DELETE FROM threat_totals WHERE sensor_id = $1 AND detector_type = $2 AND "
        "severity = $3 AND threat_type = $4 AND count <= 0 AND expired <= 0",
        "delete threat", t.sensor_id, t.detector_type, severity, t.threat_type);
  return status_of(pruned);
}

template <class B>
Status SqlStore<B>::delete_threat(std::string_view id, const AuditEntry* audit) {
  static const std::string sql =
      std::string("DELETE FROM threats WHERE id = $1 RETURNING ").append(kThreatColumns);
  auto key = B::threat_id(id);
  if (!key) return make_error(Errc::not_found, "Threat not found");
  return b_.transaction("delete threat", [&](Connection& conn) -> Status {
    auto threat =
        found_or(conn.fetch_one(sql, "delete threat", read_threat, *key), "Threat not found");
    if (!threat) return threat.error();
    if (auto s = subtract_threat<B>(conn, *threat); !s) return s;
    auto history =
        conn.execute("DELETE FROM threat_history WHERE threat_id = $1", "delete threat", *key);
    if (!history) return history.error();
    return write_audit(conn, audit);
  });
}

// The `total` of a page: exact from the all-time totals when the filters allow (they have the
// same columns as `threats`, but no time or triage state), otherwise rows counted up to
// kTotalCountCap. The filters come from the backend (how it binds lists of values).
template <class B, class Connection>
Result<std::pair<std::int64_t, bool>> count_total(Connection& conn, const ThreatQuery& q) {
  auto read_count = [](const auto& row) { return row.i64(0); };
  if (q.start_time || q.end_time || q.is_acknowledged || !q.statuses.empty() || q.assignee) {
    auto n = B::count_rows(conn, q, kTotalCountCap);
    if (!n) return n.error();
    if (*n > kTotalCountCap) return std::pair(kTotalCountCap, false);
    return std::pair(*n, true);
  }
  // No filter or severity alone: the fleet totals (5 rows) answer. The counter tables are small:
  // their statements are prepared once per connection (arrays keep the texts few).
  auto filter = B::counter_filter(q);
  bool fleet = q.sensor_ids.empty() && q.detector_types.empty() && q.threat_types.empty();
  auto sql =
      fleet ? "SELECT coalesce(sum(count - expired), 0) FROM threat_totals_fleet" + filter.where()
            : "SELECT coalesce(sum(count), 0) FROM threat_totals" + filter.where();
  auto n = conn.fetch_one(sql, "count threats", read_count, filter.params);
  if (!n) return n.error();
  return std::pair(n->value_or(0), true);
}

// The rows of the page and the total come from one snapshot, so they agree.
template <class B>
Result<ThreatPage> SqlStore<B>::query_threats(const ThreatQuery& q) {
  std::optional<Cursor> cursor;
  if (!q.cursor.empty()) {
    auto decoded = decode_cursor(q.cursor, q.sort_by, q.descending);
    if (!decoded) return decoded.error();
    cursor = std::move(*decoded);
  }
  return b_.snapshot("query threats", [&](Connection& conn) -> Result<ThreatPage> {
    auto rows = B::fetch_rows(conn, q, cursor);
    if (!rows) return rows.error();
    if (!q.with_total) return make_page(std::move(*rows), {0, true}, q);
    auto total = count_total<B>(conn, q);
    if (!total) return total.error();
    return make_page(std::move(*rows), *total, q);
  });
}

}  // namespace honeyman::store::detail
