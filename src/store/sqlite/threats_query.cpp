// Listing threats: filters, sorts, offset and keyset paging, and a `total` that never scans
// millions of rows.
#include <algorithm>

#include "store/detail/cursor.hpp"
#include "store/sqlite/detail/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::detail {
namespace {

// A WHERE clause under construction: conditions joined by AND, values bound in order.
struct Filter {
  std::vector<std::string> conditions;
  std::vector<SqlValue> params;

  void in(std::string_view column, const std::vector<SqlValue>& values) {
    if (values.empty()) return;
    // One value as `=` lets the planner see that an (x, timestamp) index yields sorted rows.
    conditions.push_back(std::string(column) + (values.size() == 1
                                                    ? " = ?"
                                                    : " IN (" + placeholders(values.size()) + ")"));
    params.insert(params.end(), values.begin(), values.end());
  }
  void add(std::string condition, SqlValue value) {
    conditions.push_back(std::move(condition));
    params.push_back(std::move(value));
  }
  std::string where() const {
    std::string out;
    for (const auto& c : conditions) out.append(out.empty() ? " WHERE " : " AND ").append(c);
    return out;
  }
  void bind(Stmt& stmt) const {
    for (const auto& p : params) stmt.bind_value(p);
  }
};

std::vector<SqlValue> text_values(const std::vector<std::string>& values) {
  std::vector<SqlValue> out;
  for (const auto& v : values) out.push_back({v});
  return out;
}

std::vector<SqlValue> severity_values(const std::vector<domain::Severity>& severities) {
  std::vector<SqlValue> out;
  for (auto s : severities) out.push_back({static_cast<std::int64_t>(s)});
  return out;
}

// The filters threat_totals can answer too (same column names there).
Filter counter_filter(const ThreatQuery& q) {
  Filter f;
  f.in("sensor_id", text_values(q.sensor_ids));
  f.in("detector_type", text_values(q.detector_types));
  f.in("threat_type", text_values(q.threat_types));
  f.in("severity", severity_values(q.severities));
  return f;
}

bool counters_answer(const ThreatQuery& q) {
  return !q.start_time && !q.end_time && !q.is_acknowledged;
}

// No filter or severity alone: the fleet totals (5 rows) answer.
bool fleet_totals_answer(const ThreatQuery& q) {
  return q.sensor_ids.empty() && q.detector_types.empty() && q.threat_types.empty();
}

// The sensor index is (sensor_id, severity, timestamp) (migration 7). A sensor filter without a
// severity one names every severity, so SQLite seeks each (sensor, severity) pair in timestamp
// order rather than reading all of the sensor's rows.
Filter row_filter(const ThreatQuery& q) {
  auto f = counter_filter(q);
  if (!q.sensor_ids.empty() && q.severities.empty())
    f.in("severity",
         severity_values({std::begin(domain::kAllSeverities), std::end(domain::kAllSeverities)}));
  if (q.start_time) f.add("timestamp >= ?", {to_unix_micros(*q.start_time)});
  if (q.end_time) f.add("timestamp < ?", {to_unix_micros(*q.end_time)});
  if (q.is_acknowledged) f.add("is_acknowledged = ?", {std::int64_t{*q.is_acknowledged ? 1 : 0}});
  return f;
}

std::string order_by(const ThreatQuery& q) {
  std::string order;
  const char* dir = q.descending ? " DESC" : " ASC";
  for (const auto& c : sort_columns(q.sort_by)) order.append(c.name).append(dir).append(", ");
  return order + "seq" + dir;
}

// The filter values on the column `sort` orders by first (severity, sensor_id, ...).
std::vector<SqlValue> filter_on_sort_column(const ThreatQuery& q) {
  switch (q.sort_by) {
    case ThreatSort::sensor_id:
      return text_values(q.sensor_ids);
    case ThreatSort::detector_type:
      return text_values(q.detector_types);
    case ThreatSort::threat_type:
      return text_values(q.threat_types);
    case ThreatSort::severity:
      return severity_values(q.severities);
    default:
      return {};
  }
}

// "(c1, c2, seq) < (?, ?, ?)" after the cursor's row. A first sort column pinned to the
// cursor's value by a one-value filter (severity sort with severity=critical) is left out:
// SQLite then seeks (severity = ? AND (timestamp, seq) < ...) on the index instead of walking
// it from the top, which deep pages would pay for.
SqlValue sql_value(const CursorValue& v) {
  if (v.type == SortType::text) return v.text;
  if (v.type == SortType::real) return v.real;
  return v.integer;
}

void add_keyset(Filter& f, const ThreatQuery& q, const Cursor& cursor) {
  const auto& columns = sort_columns(q.sort_by);
  auto pinned = filter_on_sort_column(q);
  std::size_t skip = pinned.size() == 1 && pinned[0] == sql_value(cursor.values[0]) ? 1 : 0;
  std::string tuple = "(";
  for (std::size_t i = skip; i < columns.size(); ++i) tuple.append(columns[i].name).append(", ");
  tuple += "seq)";
  tuple += (q.descending ? " < (" : " > (") + placeholders(columns.size() - skip + 1) + ")";
  f.conditions.push_back(std::move(tuple));
  for (auto i = skip; i < cursor.values.size(); ++i)
    f.params.push_back(sql_value(cursor.values[i]));
  f.params.push_back({cursor.seq});
}

// Newest first with no sensor filter and at most one filter value: an index yields the page's
// rows in order, and reading them whole at once is cheaper than choosing them first (10% on the
// plain listing). A sensor filter always spans several (sensor, severity) seeks (row_filter).
bool rows_in_index_order(const ThreatQuery& q, const std::optional<Cursor>& cursor) {
  auto values = q.detector_types.size() + q.threat_types.size() + q.severities.size();
  return q.sort_by == ThreatSort::timestamp && q.sensor_ids.empty() && values <= 1 &&
         (cursor || q.page <= 1);
}

// page_size + 1 rows: the extra one says whether another page follows.
Result<PageRows> fetch_rows(Connection& conn, const ThreatQuery& q,
                            const std::optional<Cursor>& cursor) {
  auto filter = row_filter(q);
  if (cursor) add_keyset(filter, q, *cursor);
  auto order = order_by(q);
  auto sql = std::string("SELECT ").append(kThreatColumns).append(" FROM threats");
  if (rows_in_index_order(q, cursor)) {
    sql.append(filter.where()).append(" ORDER BY ").append(order).append(" LIMIT ? OFFSET ?");
  } else {
    // The page is chosen on `seq` alone and its rows read whole afterwards: the inner query can
    // then run on a covering index (sensor_id, severity, timestamp), and its sorter and OFFSET
    // skip carry integers, not whole rows: 2.5x faster for a page of a few sensors at some
    // severities, 7x at an offset (docs/PERFORMANCE.md).
    sql.append(" WHERE seq IN (SELECT seq FROM threats").append(filter.where());
    sql.append(" ORDER BY ").append(order).append(" LIMIT ? OFFSET ?) ORDER BY ").append(order);
  }
  auto stmt = conn.prepare(sql, "query threats");
  if (!stmt) return stmt.error();
  filter.bind(*stmt);
  stmt->bind(page_size(q) + 1, page_offset(q, cursor.has_value()));
  PageRows rows;
  auto read = collect_rows(*stmt, [&](const Stmt& row) {
    rows.seqs.push_back(row.i64(kThreatSeqColumn));
    return read_threat(row);
  });
  if (!read) return read.error();
  rows.threats = std::move(*read);
  return rows;
}

// Exact from threat_totals when the filters allow; otherwise rows counted up to the cap.
Result<std::pair<std::int64_t, bool>> count_total(Connection& conn, const ThreatQuery& q) {
  bool exact_from_counters = counters_answer(q);
  auto filter = exact_from_counters ? counter_filter(q) : row_filter(q);
  auto sql =
      !exact_from_counters
          ? "SELECT count(*) FROM (SELECT 1 FROM threats" + filter.where() + " LIMIT ?)"
      : fleet_totals_answer(q)
          ? "SELECT coalesce(sum(count - expired), 0) FROM threat_totals_fleet" + filter.where()
          : "SELECT coalesce(sum(count), 0) FROM threat_totals" + filter.where();
  auto stmt = conn.prepare(sql, "count threats");
  if (!stmt) return stmt.error();
  filter.bind(*stmt);
  if (!exact_from_counters) stmt->bind(kTotalCountCap + 1);
  auto row = stmt->step();
  if (!row) return row.error();
  auto n = stmt->i64(0);
  if (n > kTotalCountCap && !exact_from_counters) return std::pair(kTotalCountCap, false);
  return std::pair(n, true);
}

}  // namespace

Result<ThreatPage> SqliteStore::query_threats(const ThreatQuery& q) {
  std::optional<Cursor> cursor;
  if (!q.cursor.empty()) {
    auto decoded = decode_cursor(q.cursor, q.sort_by, q.descending);
    if (!decoded) return decoded.error();
    cursor = std::move(*decoded);
  }
  return with_reader([&](Connection& conn) -> Result<ThreatPage> {
    auto txn = Transaction::begin(conn, false, "query threats");  // rows and total agree
    if (!txn) return txn.error();
    auto rows = fetch_rows(conn, q, cursor);
    if (!rows) return rows.error();
    auto total = count_total(conn, q);
    if (!total) return total.error();
    return make_page(std::move(*rows), *total, q);
  });
}

}  // namespace honeyman::store::detail
