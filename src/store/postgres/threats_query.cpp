// Listing threats: filters, sorts, offset and keyset paging, and a `total` that never scans
// millions of rows. Same semantics as the SQLite store.
#include <algorithm>

#include "store/detail/cursor.hpp"
#include "store/postgres/detail/rows.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

using detail::Cursor;
using detail::CursorValue;
using detail::decode_cursor;
using detail::encode_cursor;
using detail::make_page;
using detail::page_offset;
using detail::page_size;
using detail::PageRows;
using detail::sort_columns;
using detail::SortType;

// A WHERE clause under construction: conditions joined by AND, parameters numbered in order.
struct Filter {
  std::vector<std::string> conditions;
  Params params;

  template <class T>
  std::string param(const T& value, std::string_view type) {
    params.add(value);
    // append() rather than operator+ on a literal: GCC 12 at -O3 reports a false -Wrestrict.
    std::string out = "$";
    out.append(std::to_string(params.size())).append("::").append(type);
    return out;
  }
  void add_value(const CursorValue& v, std::string_view type, std::string& out) {
    if (v.type == SortType::text)
      out += param(v.text, type);
    else if (v.type == SortType::real)
      out += param(v.real, type);
    else
      out += param(v.integer, type);
  }
  // One value as `=` lets the planner see that an (x, timestamp) index yields sorted rows.
  void in(std::string_view column, const std::vector<std::string>& values, std::string_view type) {
    if (values.empty()) return;
    if (values.size() == 1)
      conditions.push_back(std::string(column) + " = " + param(values[0], type));
    else
      conditions.push_back(std::string(column) + " = ANY(" +
                           param(text_array(values), std::string(type) + "[]") + ")");
  }
  std::string where() const {
    std::string out;
    for (const auto& c : conditions) out.append(out.empty() ? " WHERE " : " AND ").append(c);
    return out;
  }
};

std::vector<std::string> severity_texts(const std::vector<domain::Severity>& severities) {
  std::vector<std::string> out;
  for (auto s : severities) out.push_back(std::to_string(static_cast<int>(s)));
  return out;
}

// The filters threat_totals can answer too (same column names there).
void counter_filter(Filter& f, const ThreatQuery& q) {
  f.in("sensor_id", q.sensor_ids, "text");
  f.in("detector_type", q.detector_types, "text");
  f.in("threat_type", q.threat_types, "text");
  f.in("severity", severity_texts(q.severities), "smallint");
}

bool counters_answer(const ThreatQuery& q) {
  return !q.start_time && !q.end_time && !q.is_acknowledged;
}

void row_filter(Filter& f, const ThreatQuery& q) {
  counter_filter(f, q);
  if (q.start_time) f.conditions.push_back("timestamp >= " + f.param(*q.start_time, "bigint"));
  if (q.end_time) f.conditions.push_back("timestamp < " + f.param(*q.end_time, "bigint"));
  if (q.is_acknowledged)
    f.conditions.push_back("is_acknowledged = " + f.param(*q.is_acknowledged, "boolean"));
}

std::string order_by(const ThreatQuery& q) {
  std::string order;
  const char* dir = q.descending ? " DESC" : " ASC";
  for (const auto& c : sort_columns(q.sort_by)) order.append(c.name).append(dir).append(", ");
  return order + "seq" + dir;
}

// The filter values on the column `sort` orders by first (severity, sensor_id, ...).
std::vector<std::string> filter_on_sort_column(const ThreatQuery& q) {
  switch (q.sort_by) {
    case ThreatSort::sensor_id:
      return q.sensor_ids;
    case ThreatSort::detector_type:
      return q.detector_types;
    case ThreatSort::threat_type:
      return q.threat_types;
    case ThreatSort::severity:
      return severity_texts(q.severities);
    default:
      return {};
  }
}

std::string value_text(const CursorValue& v) {
  return v.type == SortType::text ? v.text : std::to_string(v.integer);
}

// "(c1, c2, seq) < ($a, $b, $c)" after the cursor's row, plus the same bound on the first
// column alone ("c1 <= $a"), which the planner can use as an index condition (it cannot use the
// row comparison on an index that lacks `seq`). A first column pinned to the cursor's value by a
// one-value filter is left out of the tuple, as in the SQLite store.
void add_keyset(Filter& f, const ThreatQuery& q, const Cursor& cursor) {
  const auto& columns = sort_columns(q.sort_by);
  auto pinned = filter_on_sort_column(q);
  std::size_t skip = pinned.size() == 1 && columns[0].type != SortType::real &&
                             pinned[0] == value_text(cursor.values[0])
                         ? 1
                         : 0;
  std::string lhs = "(", rhs = "(";
  for (std::size_t i = skip; i < columns.size(); ++i) {
    lhs.append(columns[i].name).append(", ");
    f.add_value(cursor.values[i], columns[i].sql_type, rhs);
    rhs += ", ";
  }
  lhs += "seq)";
  rhs += f.param(cursor.seq, "bigint") + ")";
  std::string bound = std::string(columns[skip < columns.size() ? skip : 0].name);
  bound += q.descending ? " <= " : " >= ";
  if (skip < columns.size()) {
    f.add_value(cursor.values[skip], columns[skip].sql_type, bound);
    f.conditions.push_back(std::move(bound));
  }
  f.conditions.push_back(lhs + (q.descending ? " < " : " > ") + rhs);
}

// Lower bounds on `timestamp` to try in turn, the last one none (nullopt). Newest first by
// timestamp, a page lies in the newest partitions, but an unbounded query plans and opens an
// index scan on every partition (~100 at 90 days: 15-20 ms before any row is read). With
// `timestamp >= bound` only the partitions from the bound on (and the default one) are planned;
// when that yields a full page, the page is exact whatever the bound: the rows at or after it are
// the head of the order. Otherwise the next, wider bound is tried. The bounds count back from an
// anchor at or near the newest row: the cursor's timestamp, end_time, or the newest
// last_threat_at of the (filtered) sensors.
Result<std::vector<std::optional<std::int64_t>>> time_bounds(Connection& conn, const ThreatQuery& q,
                                                             const std::optional<Cursor>& cursor) {
  std::vector<std::optional<std::int64_t>> bounds;
  if (q.sort_by != ThreatSort::timestamp || !q.descending) return bounds = {std::nullopt};
  std::optional<std::int64_t> anchor;
  if (cursor) {
    anchor = cursor->values[0].integer;
  } else if (q.end_time) {
    anchor = to_unix_micros(*q.end_time);
  } else {
    Filter f;
    f.in("sensor_id", q.sensor_ids, "text");
    // Two texts only (with or without the sensor array): prepared once per connection.
    auto rows =
        conn.run("SELECT max(last_threat_at) FROM sensors" + f.where(), f.params, "query threats");
    if (!rows) return rows.error();
    anchor = (*rows)[0].opt_i64(0);
  }
  if (anchor) {
    auto day = floor_to(*anchor, kMicrosPerDay);
    for (auto days_back : {0, 7, 63}) {
      auto bound = day - days_back * kMicrosPerDay;
      if (q.start_time && bound <= to_unix_micros(*q.start_time)) break;  // start_time bounds it
      bounds.push_back(bound);
    }
  }
  bounds.push_back(std::nullopt);
  return bounds;
}

// page_size + 1 rows: the extra one says whether another page follows.
Result<PageRows> fetch_rows(Connection& conn, const ThreatQuery& q,
                            const std::optional<Cursor>& cursor) {
  auto bounds = time_bounds(conn, q, cursor);
  if (!bounds) return bounds.error();
  std::int64_t offset = page_offset(q, cursor.has_value());
  for (const auto& bound : *bounds) {
    Filter filter;
    row_filter(filter, q);
    if (cursor) add_keyset(filter, q, *cursor);
    if (bound) filter.conditions.push_back("timestamp >= " + filter.param(*bound, "bigint"));
    auto limit = filter.param(page_size(q) + 1, "bigint");
    auto skip = filter.param(offset, "bigint");
    auto sql = std::string("SELECT ").append(kThreatColumns).append(" FROM threats");
    sql.append(filter.where()).append(" ORDER BY ").append(order_by(q));
    sql.append(" LIMIT ").append(limit).append(" OFFSET ").append(skip);
    auto rows = conn.run_once(sql, filter.params, "query threats");
    if (!rows) return rows.error();
    if (bound && rows->size() < page_size(q) + 1) continue;  // maybe more before the bound
    PageRows out;
    for (int i = 0; i < rows->size(); ++i) {
      out.threats.push_back(read_threat((*rows)[i]));
      out.seqs.push_back((*rows)[i].i64(kThreatSeqColumn));
    }
    return out;
  }
  return make_error(Errc::internal, "query threats: no unbounded attempt");
}

// Exact from threat_totals when the filters allow; otherwise rows counted up to the cap.
Result<std::pair<std::int64_t, bool>> count_total(Connection& conn, const ThreatQuery& q) {
  bool exact_from_counters = counters_answer(q);
  Filter filter;
  std::string sql;
  if (exact_from_counters) {
    counter_filter(filter, q);
    // No filter or severity alone: the fleet totals (5 rows) answer.
    bool fleet = q.sensor_ids.empty() && q.detector_types.empty() && q.threat_types.empty();
    sql = fleet ? "SELECT coalesce(sum(count - expired), 0)::bigint FROM threat_totals_fleet" +
                      filter.where()
                : "SELECT coalesce(sum(count), 0)::bigint FROM threat_totals" + filter.where();
  } else {
    row_filter(filter, q);
    auto where = filter.where();
    sql = "SELECT count(*) FROM (SELECT 1 FROM threats" + where + " LIMIT " +
          filter.param(kTotalCountCap + 1, "bigint") + ") capped";
  }
  // The counter tables are small and not partitioned, and arrays keep the texts few (one per
  // combination of filters): prepared once per connection, no planning per request. The capped
  // count runs on the partitioned table, where only a per-call plan prunes partitions.
  auto rows = exact_from_counters ? conn.run(sql, filter.params, "count threats")
                                  : conn.run_once(sql, filter.params, "count threats");
  if (!rows) return rows.error();
  auto n = (*rows)[0].i64(0);
  if (n > kTotalCountCap && !exact_from_counters) return std::pair(kTotalCountCap, false);
  return std::pair(n, true);
}

Result<ThreatPage> load_page(Connection& conn, const ThreatQuery& q,
                             const std::optional<Cursor>& cursor) {
  auto rows = fetch_rows(conn, q, cursor);
  if (!rows) return rows.error();
  auto total = count_total(conn, q);
  if (!total) return total.error();
  return make_page(std::move(*rows), *total, q);
}

}  // namespace

Result<ThreatPage> PgStore::query_threats(const ThreatQuery& q) {
  std::optional<Cursor> cursor;
  if (!q.cursor.empty()) {
    auto decoded = decode_cursor(q.cursor, q.sort_by, q.descending);
    if (!decoded) return decoded.error();
    cursor = std::move(*decoded);
  }
  // One snapshot: the rows and the total agree.
  return snapshot("query threats", [&](Connection& conn) { return load_page(conn, q, cursor); });
}

}  // namespace honeyman::store::pg
