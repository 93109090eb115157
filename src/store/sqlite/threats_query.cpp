// The SQLite side of listing threats: its filters (IN-lists of bound values, shaped for its
// indexes) and how a page's rows are fetched.
#include <algorithm>

#include "store/detail/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::sqlite {

void Filter::in(std::string_view column, const std::vector<SqlValue>& values) {
  if (values.empty()) return;
  auto first = params.size() + 1;
  for (const auto& v : values) params.add(v);
  // One value as `=` lets the planner see that an (x, timestamp) index yields sorted rows.
  auto condition = std::string(column);
  if (values.size() == 1)
    condition.append(" = ").append(detail::param(first));
  else
    condition.append(" IN (")
        .append(detail::param_list(first, params.size() - first + 1))
        .append(")");
  conditions.push_back(std::move(condition));
}

void Filter::add(std::string_view condition, SqlValue value) {
  params.add(value);
  conditions.push_back(std::string(condition).append(detail::param(params.size())));
}

namespace {

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

// "(c1, c2, seq) < ($a, $b, $c)" after the cursor's row. A first sort column pinned to the
// cursor's value by a one-value filter (severity sort with severity=critical) is left out:
// SQLite then seeks (severity = ? AND (timestamp, seq) < ...) on the index instead of walking
// it from the top, which deep pages would pay for.
SqlValue sql_value(const detail::CursorValue& v) {
  if (v.type == detail::SortType::text) return v.text;
  if (v.type == detail::SortType::real) return v.real;
  return v.integer;
}

void add_keyset(Filter& f, const ThreatQuery& q, const detail::Cursor& cursor) {
  const auto& columns = detail::sort_columns(q.sort_by);
  auto pinned = filter_on_sort_column(q);
  std::size_t skip = pinned.size() == 1 && pinned[0] == sql_value(cursor.values[0]) ? 1 : 0;
  std::string tuple = "(";
  for (std::size_t i = skip; i < columns.size(); ++i) tuple.append(columns[i].name).append(", ");
  tuple += "seq)";
  auto first = f.params.size() + 1;
  for (auto i = skip; i < cursor.values.size(); ++i) f.params.add(sql_value(cursor.values[i]));
  f.params.add(cursor.seq);
  tuple.append(q.descending ? " < (" : " > (");
  tuple.append(detail::param_list(first, f.params.size() - first + 1)).append(")");
  f.conditions.push_back(std::move(tuple));
}

// Newest first with no sensor filter and at most one filter value: an index yields the page's
// rows in order, and reading them whole at once is cheaper than choosing them first (10% on the
// plain listing). A sensor filter always spans several (sensor, severity) seeks (row_filter).
bool rows_in_index_order(const ThreatQuery& q, const std::optional<detail::Cursor>& cursor) {
  auto values = q.detector_types.size() + q.threat_types.size() + q.severities.size() +
                q.statuses.size() + (q.assignee ? 1 : 0);
  return q.sort_by == ThreatSort::timestamp && q.sensor_ids.empty() && values <= 1 &&
         (cursor || q.page <= 1);
}

}  // namespace

// The filters threat_totals can answer too (same column names there).
Filter Backend::counter_filter(const ThreatQuery& q) {
  Filter f;
  f.in("sensor_id", text_values(q.sensor_ids));
  f.in("detector_type", text_values(q.detector_types));
  f.in("threat_type", text_values(q.threat_types));
  f.in("severity", severity_values(q.severities));
  return f;
}

// The sensor index is (sensor_id, severity, timestamp) (migration 7). A sensor filter without a
// severity one names every severity, so SQLite seeks each (sensor, severity) pair in timestamp
// order rather than reading all of the sensor's rows.
Filter Backend::row_filter(const ThreatQuery& q) {
  auto f = counter_filter(q);
  if (!q.sensor_ids.empty() && q.severities.empty())
    f.in("severity",
         severity_values({std::begin(domain::kAllSeverities), std::end(domain::kAllSeverities)}));
  if (q.start_time) f.add("timestamp >= ", to_unix_micros(*q.start_time));
  if (q.end_time) f.add("timestamp < ", to_unix_micros(*q.end_time));
  if (q.is_acknowledged) f.add("is_acknowledged = ", std::int64_t{*q.is_acknowledged ? 1 : 0});
  std::vector<SqlValue> statuses;
  for (auto s : q.statuses) statuses.push_back({static_cast<std::int64_t>(s)});
  f.in("status", statuses);
  if (q.assignee && q.assignee->empty()) f.conditions.push_back("assignee IS NULL");
  if (q.assignee && !q.assignee->empty()) f.add("assignee = ", *q.assignee);
  if (q.max_seq) f.add("seq <= ", *q.max_seq);
  return f;
}

// One parameter, a JSON array, whatever the number of ids: one cached statement, and no limit
// on bound variables.
Filter Backend::ids_filter(const std::vector<std::string>& ids) {
  Filter f;
  f.params.add(detail::json_text(ids));
  f.conditions.push_back("id IN (SELECT value FROM json_each(" + detail::param(1) + "))");
  return f;
}

// json_patch drops the keys whose value is null: the fields that stay in this row. json()
// keeps each [old, new] an array rather than its text.
std::string Backend::changes_json(const std::vector<detail::JsonChange>& fields) {
  std::string out = "json_patch('{}', json_object(";
  for (const auto& f : fields) {
    if (&f != &fields.front()) out += ", ";
    out += "'" + f.field + "', json(CASE WHEN " + f.condition + " THEN json_array(" + f.old_value +
           ", " + f.new_value + ") END)";
  }
  return out + "))";
}

// max(rowid) is one step down the table's b-tree.
Result<std::int64_t> Backend::latest_threat_seq(Connection& conn) {
  auto n = conn.fetch_one("SELECT coalesce(max(seq), 0) FROM threats", "latest threat seq",
                          [](const Stmt& row) { return row.i64(0); });
  if (!n) return n.error();
  return n->value_or(0);
}

Result<std::int64_t> Backend::count_rows(Connection& conn, const ThreatQuery& q, std::int64_t cap) {
  auto filter = row_filter(q);
  filter.params.add(cap + 1);
  auto sql = "SELECT count(*) FROM (SELECT 1 FROM threats" + filter.where() + " LIMIT " +
             detail::param(filter.params.size()) + ") capped";
  auto n = conn.fetch_one(
      detail::per_call(sql), "count threats", [](const Stmt& row) { return row.i64(0); },
      filter.params);
  if (!n) return n.error();
  return n->value_or(0);
}

// page_size + 1 rows: the extra one says whether another page follows.
Result<detail::PageRows> Backend::fetch_rows(Connection& conn, const ThreatQuery& q,
                                             const std::optional<detail::Cursor>& cursor) {
  auto filter = row_filter(q);
  if (cursor) add_keyset(filter, q, *cursor);
  filter.params.add(detail::page_size(q) + 1);
  filter.params.add(detail::page_offset(q, cursor.has_value()));
  auto limit = " LIMIT " + detail::param(filter.params.size() - 1) + " OFFSET " +
               detail::param(filter.params.size());
  auto order = detail::order_by(q);
  auto sql = std::string("SELECT ").append(detail::kThreatColumns).append(" FROM threats");
  if (rows_in_index_order(q, cursor)) {
    sql.append(filter.where()).append(" ORDER BY ").append(order).append(limit);
  } else {
    // The page is chosen on `seq` alone and its rows read whole afterwards: the inner query can
    // then run on a covering index (sensor_id, severity, timestamp), and its sorter and OFFSET
    // skip carry integers, not whole rows: 2.5x faster for a page of a few sensors at some
    // severities, 7x at an offset (docs/PERFORMANCE.md).
    sql.append(" WHERE seq IN (SELECT seq FROM threats").append(filter.where());
    sql.append(" ORDER BY ").append(order).append(limit).append(") ORDER BY ").append(order);
  }
  detail::PageRows rows;
  rows.threats.reserve(static_cast<std::size_t>(detail::page_size(q)) + 1);  // no moves on growth
  rows.seqs.reserve(rows.threats.capacity());
  auto done = conn.for_each(
      sql, "query threats",
      [&](const Stmt& row) {
        rows.seqs.push_back(row.i64(detail::kThreatSeqColumn));
        rows.threats.push_back(detail::read_threat(row));
      },
      filter.params);
  if (!done) return done.error();
  return rows;
}

}  // namespace honeyman::store::sqlite
