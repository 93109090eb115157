// The PostgreSQL side of listing threats: its filters (typed parameters, arrays for lists) and
// how a page's rows are fetched: newest-first pages are asked of the newest partitions first.
#include <algorithm>

#include "store/detail/rows.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {

void Filter::in(std::string_view column, const std::vector<std::string>& values,
                std::string_view type) {
  if (values.empty()) return;
  if (values.size() == 1)
    conditions.push_back(std::string(column) + " = " + param(values[0], type));
  else
    conditions.push_back(std::string(column) + " = ANY(" +
                         param(text_array(values), std::string(type) + "[]") + ")");
}

namespace {

using detail::Cursor;
using detail::CursorValue;
using detail::page_offset;
using detail::page_size;
using detail::PageRows;
using detail::sort_columns;
using detail::SortType;

// A cursor value as a new parameter of `f`, appended to `out`.
void add_value(Filter& f, const CursorValue& v, std::string_view type, std::string& out) {
  if (v.type == SortType::text)
    out += f.param(v.text, type);
  else if (v.type == SortType::real)
    out += f.param(v.real, type);
  else
    out += f.param(v.integer, type);
}

std::vector<std::string> severity_texts(const std::vector<domain::Severity>& severities) {
  std::vector<std::string> out;
  for (auto s : severities) out.push_back(std::to_string(static_cast<int>(s)));
  return out;
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
    add_value(f, cursor.values[i], columns[i].sql_type, rhs);
    rhs += ", ";
  }
  lhs += "seq)";
  rhs += f.param(cursor.seq, "bigint") + ")";
  std::string bound = std::string(columns[skip < columns.size() ? skip : 0].name);
  bound += q.descending ? " <= " : " >= ";
  if (skip < columns.size()) {
    add_value(f, cursor.values[skip], columns[skip].sql_type, bound);
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
    auto day = floor_day(*anchor);
    for (auto days_back : {0, 7, 63}) {
      auto bound = day - days_back * kMicrosPerDay;
      if (q.start_time && bound <= to_unix_micros(*q.start_time)) break;  // start_time bounds it
      bounds.push_back(bound);
    }
  }
  bounds.push_back(std::nullopt);
  return bounds;
}

}  // namespace

// The filters threat_totals can answer too (same column names there).
Filter Backend::counter_filter(const ThreatQuery& q) {
  Filter f;
  f.in("sensor_id", q.sensor_ids, "text");
  f.in("detector_type", q.detector_types, "text");
  f.in("threat_type", q.threat_types, "text");
  f.in("severity", severity_texts(q.severities), "smallint");
  return f;
}

Filter Backend::row_filter(const ThreatQuery& q) {
  auto f = counter_filter(q);
  if (q.start_time) f.conditions.push_back("timestamp >= " + f.param(*q.start_time, "bigint"));
  if (q.end_time) f.conditions.push_back("timestamp < " + f.param(*q.end_time, "bigint"));
  if (q.is_acknowledged)
    f.conditions.push_back("is_acknowledged = " + f.param(*q.is_acknowledged, "boolean"));
  std::vector<std::string> statuses;
  for (auto s : q.statuses) statuses.push_back(std::to_string(static_cast<int>(s)));
  f.in("status", statuses, "smallint");
  if (q.assignee && q.assignee->empty()) f.conditions.push_back("assignee IS NULL");
  if (q.assignee && !q.assignee->empty())
    f.conditions.push_back("assignee = " + f.param(*q.assignee, "text"));
  if (q.max_seq) f.conditions.push_back("seq <= " + f.param(*q.max_seq, "bigint"));
  return f;
}

// Ids are UUIDs already (Backend::threat_id): one array parameter, whatever their number.
Filter Backend::ids_filter(const std::vector<std::string>& ids) {
  Filter f;
  f.conditions.push_back("id = ANY(" + f.param(text_array(ids), "uuid[]") + ")");
  return f;
}

// json_strip_nulls drops the keys whose value is null (the fields that stay in this row), not
// the nulls inside the [old, new] arrays. `json`, not `jsonb`: the value is stored as text, like
// every JSON column here, and jsonb's binary form would be built only to be printed again (a
// quarter of a 100,000-row bulk change's history insert).
std::string Backend::changes_json(const std::vector<detail::JsonChange>& fields) {
  std::string out = "json_strip_nulls(json_build_object(";
  for (const auto& f : fields) {
    if (&f != &fields.front()) out += ", ";
    out += "'" + f.field + "', CASE WHEN " + f.condition + " THEN json_build_array(" + f.old_value +
           ", " + f.new_value + ") END";
  }
  return out + "))::text";
}

// No b-tree has `seq` (every index is paid at ingest), so max(seq) over the whole table is a
// scan of every partition. The newest rows hold the newest blocks of threats_seq: the BRIN index
// on `seq` finds the rows of the last 64 blocks reserved (one per sensor and batch) in the few
// heap ranges they were appended to. Only when none of those blocks has a committed row is the
// whole table asked.
Result<std::int64_t> Backend::latest_threat_seq(Connection& conn) {
  auto recent = conn.run(
      "SELECT max(seq) FROM threats WHERE seq > (SELECT last_value FROM threats_seq) - "
      "64 * 1048576",
      Params{}, "latest threat seq");
  if (!recent) return recent.error();
  if (auto n = (*recent)[0].opt_i64(0)) return *n;
  auto all = conn.run("SELECT coalesce(max(seq), 0) FROM threats", Params{}, "latest threat seq");
  if (!all) return all.error();
  return (*all)[0].i64(0);
}

// page_size + 1 rows: the extra one says whether another page follows.
Result<PageRows> Backend::fetch_rows(Connection& conn, const ThreatQuery& q,
                                     const std::optional<Cursor>& cursor) {
  auto bounds = time_bounds(conn, q, cursor);
  if (!bounds) return bounds.error();
  std::int64_t offset = page_offset(q, cursor.has_value());
  for (const auto& bound : *bounds) {
    auto filter = row_filter(q);
    if (cursor) add_keyset(filter, q, *cursor);
    if (bound) filter.conditions.push_back("timestamp >= " + filter.param(*bound, "bigint"));
    auto limit = filter.param(page_size(q) + 1, "bigint");
    auto skip = filter.param(offset, "bigint");
    auto sql = std::string("SELECT ").append(detail::kThreatColumns).append(" FROM threats");
    sql.append(filter.where()).append(" ORDER BY ").append(detail::order_by(q));
    sql.append(" LIMIT ").append(limit).append(" OFFSET ").append(skip);
    auto rows = conn.run_once(sql, filter.params, "query threats");
    if (!rows) return rows.error();
    if (bound && rows->size() < page_size(q) + 1) continue;  // maybe more before the bound
    PageRows out;
    out.threats.reserve(static_cast<std::size_t>(rows->size()));
    out.seqs.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      out.threats.push_back(detail::read_threat((*rows)[i]));
      out.seqs.push_back((*rows)[i].i64(detail::kThreatSeqColumn));
    }
    return out;
  }
  return make_error(Errc::internal, "query threats: no unbounded attempt");
}

// The same bounds as a newest-first page (whatever the query's sort: a count has none): at least
// cap + 1 rows from the bound on answer "more than cap" after planning a few partitions.
Result<std::int64_t> Backend::count_rows(Connection& conn, const ThreatQuery& q, std::int64_t cap) {
  ThreatQuery newest = q;
  newest.sort_by = ThreatSort::timestamp;
  newest.descending = true;
  auto bounds = time_bounds(conn, newest, std::nullopt);
  if (!bounds) return bounds.error();
  for (const auto& bound : *bounds) {
    auto filter = row_filter(q);
    if (bound) filter.conditions.push_back("timestamp >= " + filter.param(*bound, "bigint"));
    auto limit = filter.param(cap + 1, "bigint");
    auto rows = conn.run_once("SELECT count(*) FROM (SELECT 1 FROM threats" + filter.where() +
                                  " LIMIT " + limit + ") capped",
                              filter.params, "count threats");
    if (!rows) return rows.error();
    auto n = (*rows)[0].i64(0);
    if (!bound || n > cap) return n;
  }
  return make_error(Errc::internal, "count threats: no unbounded attempt");
}

}  // namespace honeyman::store::pg
