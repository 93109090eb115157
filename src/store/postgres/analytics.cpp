// The PostgreSQL side of analytics: unlike SQLite, PostgreSQL groups the rows itself (a hash
// aggregate: no sort), which saves shipping and parsing every rollup row as text (see
// docs/DECISIONS.md, "PostgreSQL analytics and retention"); the overview is one statement, and
// the per-sensor counts join the sensors' places in the same statement.
#include <chrono>

#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

using namespace std::chrono_literals;

// Filter conditions on the parameters after the parts' ranges ($first: sensor ids, then
// severities), when present.
std::string aggregation_filters(const detail::Aggregation& a, int first) {
  std::string where;
  int next = first;
  if (!a.sensor_ids.empty())
    where.append(" AND sensor_id = ANY($").append(std::to_string(next++)).append("::text[])");
  if (!a.severities.empty())
    where.append(" AND severity = ANY($").append(std::to_string(next++)).append("::smallint[])");
  return where;
}

std::string param(int n) {  // append(), not operator+ on "$": GCC 12 -O3 reports a false -Wrestrict
  std::string out = "$";
  return out.append(std::to_string(n)).append("::bigint");
}

// The rows of one part of a window (detail::split_window) as (keys.., n, s), its range in
// parameters $from and $from + 1: a level's rollup rows, or raw rows (level -1).
std::string part_sql(const std::vector<detail::RollupLevel>& levels, int level,
                     const std::string& keys, int from, const std::string& where) {
  if (level < 0)
    return "SELECT " + keys +
           "1::bigint AS n, threat_score AS s FROM threats WHERE timestamp >= " + param(from) +
           " AND timestamp < " + param(from + 1) + where;
  return "SELECT " + keys + "count AS n, score_sum AS s FROM " +
         levels[static_cast<std::size_t>(level)].table + " WHERE bucket >= " + param(from) +
         " AND bucket < " + param(from + 1) + where;
}

// One statement per aggregation shape (a handful in all: each is prepared once per connection):
// the parts' ranges are parameters $1..$2p in order, the filters follow.
std::string aggregation_sql(const detail::Aggregation& a,
                            const std::vector<detail::RollupLevel>& levels,
                            const std::vector<detail::WindowPart>& parts, bool with_sensor_place) {
  auto where = aggregation_filters(a, 2 * static_cast<int>(parts.size()) + 1);
  std::string groups;
  for (std::size_t i = 0; i < a.keys.size(); ++i)
    groups.append(i == 0 ? "" : ", ").append("k").append(std::to_string(i));
  std::string union_all;
  for (std::size_t i = 0; i < parts.size(); ++i)
    union_all.append(i == 0 ? "" : " UNION ALL ")
        .append(part_sql(levels, parts[i].level, detail::select_keys(a, parts[i].level >= 0),
                         2 * static_cast<int>(i) + 1, where));
  auto sql = "SELECT " + groups + ", sum(n)::bigint AS n, sum(s) AS s FROM (" + union_all +
             ") parts GROUP BY " + groups;
  if (!with_sensor_place) return sql;
  return "SELECT g.*, x.name, x.city, x.country, x.latitude, x.longitude FROM (" + sql +
         ") g LEFT JOIN sensors x ON x.sensor_id = g.k0";
}

// The whole overview in one statement (one snapshot, one round trip): rows (part, key, count,
// score sum), where parts 0..2 are the fleet's counts by severity over the last 24 h, 7 d and
// hour (each window's parts as in aggregation_sql: parameters $2.., two per part), part 3 the
// all-time totals by severity, part 4 the sensor counts (key 0 all, 1 active, 2 online since $1).
constexpr int kOverviewWindows = 3;
const std::vector<detail::RollupLevel>& fleet_levels() {
  static const auto levels = detail::rollup_levels(detail::Aggregation{});
  return levels;
}
const std::string& overview_sql() {
  static const std::string sql = [] {
    const auto& levels = fleet_levels();
    auto per_window = 2 * static_cast<int>(levels.size()) + 1;
    detail::Aggregation by_severity;
    by_severity.keys = {detail::kSeverityKey};
    std::string parts;
    for (int w = 0; w < kOverviewWindows; ++w) {
      auto window = detail::split_window({}, detail::level_lengths(levels));
      for (int i = 0; i < per_window; ++i) {
        auto level = window[static_cast<std::size_t>(i)].level;
        parts.append(parts.empty() ? "" : " UNION ALL ")
            .append("SELECT ")
            .append(std::to_string(w))
            .append(" AS part, k0 AS k, n, s FROM (")
            .append(part_sql(levels, level, "severity::bigint AS k0, ",
                             2 + 2 * (w * per_window + i), ""))
            .append(") p");
      }
    }
    return "SELECT part, k, sum(n)::bigint, sum(s) FROM (" + parts +
           " UNION ALL SELECT 3, severity::bigint, count, 0 FROM threat_totals_fleet"
           " UNION ALL SELECT 4, 0, count(*), 0 FROM sensors"
           " UNION ALL SELECT 4, 1, count(*) FILTER (WHERE is_active), 0 FROM sensors"
           " UNION ALL SELECT 4, 2, count(*) FILTER (WHERE last_seen >= $1::bigint), 0 FROM sensors"
           ") parts GROUP BY part, k";
  }();
  return sql;
}

}  // namespace

Result<Rows> Backend::run_aggregation(Connection& conn, const detail::Aggregation& a,
                                      const TimeWindow& window, bool with_sensor_place) {
  auto levels = detail::rollup_levels(a);
  auto parts = detail::split_window(window, detail::level_lengths(levels));
  Params params;
  for (const auto& part : parts) params.add(part.from).add(part.to);
  if (!a.sensor_ids.empty()) params.add(text_array(a.sensor_ids));
  if (!a.severities.empty()) {
    ArrayLiteral severities;
    for (auto s : a.severities) severities.add(static_cast<int>(s));
    params.add(std::move(severities).text());
  }
  return conn.run(aggregation_sql(a, levels, parts, with_sensor_place), params, "threat analytics");
}

Result<FleetOverview> Backend::fleet_overview(Timestamp now, Timestamp online_since) {
  const auto end = now + 1us;  // `now` itself is inside the windows
  const TimeWindow windows[kOverviewWindows] = {
      {now - 24h, end}, {now - 7 * 24h, end}, {now - 1h, end}};
  Params params(online_since);
  for (const auto& w : windows)
    for (const auto& part : detail::split_window(w, detail::level_lengths(fleet_levels())))
      params.add(part.from).add(part.to);
  return read([&](Connection& conn) -> Result<FleetOverview> {
    auto rows = conn.run(overview_sql(), params, "analytics overview");
    if (!rows) return rows.error();
    FleetOverview out;
    SeverityCounts by_window[kOverviewWindows];
    for (int i = 0; i < rows->size(); ++i) {
      auto row = (*rows)[i];
      auto part = row.i64(0), key = row.i64(1), n = row.i64(2);
      if (part < kOverviewWindows) {
        by_window[part][detail::severity_at(row, 1)] += n;
        if (part == 0) out.score_sum_24h += row.f64(3);
      } else if (part == 3) {
        out.total_threats += n;
      } else {
        (key == 0 ? out.total_sensors : key == 1 ? out.active_sensors : out.online_sensors) = n;
      }
    }
    out.last_24h = by_window[0];
    out.last_7d = by_window[1].total();
    out.last_hour = by_window[2].total();
    return out;
  });
}

// One statement: the counts and the sensors' current places come from one snapshot.
Result<std::map<std::string, SensorThreatCount>> Backend::count_by_sensor(
    const TimeWindow& window, const std::vector<domain::Severity>& severities) {
  auto a = detail::by_sensor(severities);
  return read([&](Connection& conn) -> Result<std::map<std::string, SensorThreatCount>> {
    auto rows = run_aggregation(conn, a, window, true);
    if (!rows) return rows.error();
    std::map<std::string, SensorThreatCount> sensors;
    for (int i = 0; i < rows->size(); ++i) {
      auto row = (*rows)[i];
      auto& c = sensors[row.text(0)];
      c.counts[detail::severity_at(row, 1)] += row.i64(2);
      c.name = row.opt_text(4);
      c.city = row.opt_text(5);
      c.country = row.opt_text(6);
      c.latitude = row.opt_f64(7);
      c.longitude = row.opt_f64(8);
    }
    return sensors;
  });
}

}  // namespace honeyman::store::pg
