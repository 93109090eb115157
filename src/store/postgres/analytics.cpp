// The PostgreSQL side of analytics: unlike SQLite, PostgreSQL groups the rows itself (a hash
// aggregate: no sort), which saves shipping and parsing every rollup row as text (see
// docs/DECISIONS.md, "PostgreSQL analytics and retention"); the overview is one statement, and
// the per-sensor counts join the sensors' places in the same statement.
#include <chrono>

#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

using namespace std::chrono_literals;

// Filter conditions on parameters $7 (sensor ids) and $7 or $8 (severities), when present.
std::string aggregation_filters(const detail::Aggregation& a) {
  std::string where;
  int next = 7;
  if (!a.sensor_ids.empty())
    where.append(" AND sensor_id = ANY($").append(std::to_string(next++)).append("::text[])");
  if (!a.severities.empty())
    where.append(" AND severity = ANY($").append(std::to_string(next++)).append("::smallint[])");
  return where;
}

// One statement per aggregation shape (a handful in all: each is prepared once per connection).
std::string aggregation_sql(const detail::Aggregation& a, bool with_sensor_place) {
  auto where = aggregation_filters(a);
  auto raw = [&](const char* from, const char* to) {
    return "SELECT " + detail::select_keys(a, false) +
           "1::bigint AS n, threat_score AS s FROM threats WHERE timestamp >= " + from +
           "::bigint AND timestamp < " + to + "::bigint" + where;
  };
  std::string groups;
  for (std::size_t i = 0; i < a.keys.size(); ++i)
    groups.append(i == 0 ? "" : ", ").append("k").append(std::to_string(i));
  auto sql = "SELECT " + groups + ", sum(n)::bigint AS n, sum(s) AS s FROM (SELECT " +
             detail::select_keys(a, true) + "count AS n, score_sum AS s FROM " +
             detail::rollup_table(a.rollup) +
             " WHERE bucket >= $3::bigint AND bucket < $4::bigint" + where + " UNION ALL " +
             raw("$1", "$2") + " UNION ALL " + raw("$5", "$6") + ") parts GROUP BY " + groups;
  if (!with_sensor_place) return sql;
  return "SELECT g.*, x.name, x.city, x.country, x.latitude, x.longitude FROM (" + sql +
         ") g LEFT JOIN sensors x ON x.sensor_id = g.k0";
}

// The whole overview in one statement (one snapshot, one round trip): rows (part, key, count,
// score sum), where parts 0..2 are the fleet's counts by severity over the last 24 h, 7 d and
// hour (each window's rollup hours and edge rows, as in aggregation_sql; parameters $2.., six per
// window), part 3 the all-time totals by severity, part 4 the sensor counts (key 0 all, 1 active,
// 2 online since $1).
constexpr int kOverviewWindows = 3;
const std::string& overview_sql() {
  static const std::string sql = [] {
    auto p = [](int n) {  // append(), not operator+ on "$": GCC 12 -O3 reports a false -Wrestrict
      std::string out = "$";
      return out.append(std::to_string(n)).append("::bigint");
    };
    std::string parts;
    for (int w = 0; w < kOverviewWindows; ++w) {
      auto tag = std::to_string(w);
      int first = 2 + 6 * w;
      auto raw = [&](int from) {
        return " UNION ALL SELECT " + tag +
               ", severity::bigint, 1::bigint, threat_score FROM threats WHERE timestamp >= " +
               p(from) + " AND timestamp < " + p(from + 1);
      };
      parts += (w == 0 ? "SELECT " : " UNION ALL SELECT ") + tag +
               (w == 0 ? " AS part, severity::bigint AS k, count AS n, score_sum AS s"
                       : ", severity::bigint, count, score_sum") +
               " FROM threat_rollups_fleet_hourly WHERE bucket >= " + p(first + 2) +
               " AND bucket < " + p(first + 3) + raw(first) + raw(first + 4);
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
  auto parts = detail::split_window(window);
  Params params(parts.head_from, parts.head_to, parts.whole_from, parts.whole_to, parts.tail_from,
                parts.tail_to);
  if (!a.sensor_ids.empty()) params.add(text_array(a.sensor_ids));
  if (!a.severities.empty()) {
    ArrayLiteral severities;
    for (auto s : a.severities) severities.add(static_cast<int>(s));
    params.add(std::move(severities).text());
  }
  return conn.run(aggregation_sql(a, with_sensor_place), params, "threat analytics");
}

Result<FleetOverview> Backend::fleet_overview(Timestamp now, Timestamp online_since) {
  const auto end = now + 1us;  // `now` itself is inside the windows
  const TimeWindow windows[kOverviewWindows] = {
      {now - 24h, end}, {now - 7 * 24h, end}, {now - 1h, end}};
  Params params(online_since);
  for (const auto& w : windows) {
    auto parts = detail::split_window(w);
    params.add(parts.head_from).add(parts.head_to).add(parts.whole_from).add(parts.whole_to);
    params.add(parts.tail_from).add(parts.tail_to);
  }
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
