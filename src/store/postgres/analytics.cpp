// Analytics: exact threat counts over arbitrary windows, from the hourly rollups for the whole
// hours inside a window and from the raw rows for the partial hours at its two ends. The same
// windows, rollups and answers as the SQLite store; unlike there, PostgreSQL groups the rows
// itself (a hash aggregate: no sort), which saves shipping and parsing every rollup row as text
// (see docs/DECISIONS.md, "PostgreSQL analytics and retention").
#include <algorithm>
#include <chrono>

#include "store/detail/aggregates.hpp"
#include "store/postgres/detail/rows.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

using namespace std::chrono_literals;

// One grouping column, as an expression over the rollup table and over `threats`.
struct Key {
  std::string rollup, raw;
};

// What to count: which rollup, grouped by which keys, filtered how.
struct Aggregation {
  // The rollup with the columns the keys and filters need: per sensor, fleet by severity, or
  // fleet by threat type and severity.
  enum class Rollup { sensor, fleet, type } rollup = Rollup::fleet;
  std::vector<Key> keys;
  std::vector<std::string> sensor_ids;       // empty: every sensor (needs Rollup::sensor otherwise)
  std::vector<domain::Severity> severities;  // empty: every severity
  // Keyed by sensor_id first: each group also carries the sensor's current name and place
  // (columns k+2.. : name, city, country, latitude, longitude; NULL for a deleted sensor).
  bool with_sensor_place = false;
};

// The three parts of a window: raw rows of the head's partial hour, rollups of the whole hours,
// raw rows of the tail's partial hour. Empty ranges are [0, 0).
struct WindowParts {
  std::int64_t head_from = 0, head_to = 0;
  std::int64_t whole_from = 0, whole_to = 0;
  std::int64_t tail_from = 0, tail_to = 0;
};

WindowParts split_window(const TimeWindow& w) {
  auto start = to_unix_micros(w.start), end = to_unix_micros(w.end);
  WindowParts p;
  if (end <= start) return p;
  auto whole_from = floor_to(start + kMicrosPerHour - 1, kMicrosPerHour);
  auto whole_to = floor_to(end, kMicrosPerHour);
  if (whole_from >= whole_to) {  // no whole hour inside: rows alone
    p.head_from = start;
    p.head_to = end;
    return p;
  }
  p = {start, whole_from, whole_from, whole_to, whole_to, end};
  return p;
}

// Filter conditions on parameters $7 (sensor ids) and $7 or $8 (severities), when present.
std::string filters(const Aggregation& a) {
  std::string where;
  int next = 7;
  if (!a.sensor_ids.empty())
    where.append(" AND sensor_id = ANY($").append(std::to_string(next++)).append("::text[])");
  if (!a.severities.empty())
    where.append(" AND severity = ANY($").append(std::to_string(next++)).append("::smallint[])");
  return where;
}

// "e0 AS k0, e1 AS k1, " for one part.
std::string select_keys(const Aggregation& a, bool rollup) {
  std::string select;
  for (std::size_t i = 0; i < a.keys.size(); ++i)
    select.append(rollup ? a.keys[i].rollup : a.keys[i].raw)
        .append(" AS k")
        .append(std::to_string(i))
        .append(", ");
  return select;
}

// One statement per aggregation shape (a handful in all: each is prepared once per connection).
std::string aggregation_sql(const Aggregation& a) {
  auto where = filters(a);
  const char* table = a.rollup == Aggregation::Rollup::sensor ? "threat_rollups_hourly"
                      : a.rollup == Aggregation::Rollup::type ? "threat_rollups_type_hourly"
                                                              : "threat_rollups_fleet_hourly";
  auto raw = [&](const char* from, const char* to) {
    return std::string("SELECT ") + select_keys(a, false) +
           "1::bigint AS n, threat_score AS s FROM threats WHERE timestamp >= " + from +
           "::bigint AND timestamp < " + to + "::bigint" + where;
  };
  std::string groups;
  for (std::size_t i = 0; i < a.keys.size(); ++i)
    groups.append(i == 0 ? "" : ", ").append("k").append(std::to_string(i));
  auto sql = "SELECT " + groups + ", sum(n)::bigint AS n, sum(s) AS s FROM (SELECT " +
             select_keys(a, true) + "count AS n, score_sum AS s FROM " + table +
             " WHERE bucket >= $3::bigint AND bucket < $4::bigint" + where + " UNION ALL " +
             raw("$1", "$2") + " UNION ALL " + raw("$5", "$6") + ") parts GROUP BY " + groups;
  if (!a.with_sensor_place) return sql;
  return "SELECT g.*, x.name, x.city, x.country, x.latitude, x.longitude FROM (" + sql +
         ") g LEFT JOIN sensors x ON x.sensor_id = g.k0";
}

// Runs the aggregation over `window` and calls on_row(row) for each group: columns 0..k-1 are
// the keys, k the count, k+1 the score sum.
template <class OnRow>
Status aggregate(Connection& conn, const Aggregation& a, const TimeWindow& window, OnRow on_row) {
  auto parts = split_window(window);
  Params params(parts.head_from, parts.head_to, parts.whole_from, parts.whole_to, parts.tail_from,
                parts.tail_to);
  if (!a.sensor_ids.empty()) params.add(text_array(a.sensor_ids));
  if (!a.severities.empty()) {
    std::vector<std::int64_t> severities;
    for (auto s : a.severities) severities.push_back(static_cast<int>(s));
    params.add(int_array(severities));
  }
  auto rows = conn.run(aggregation_sql(a), params, "threat analytics");
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) on_row((*rows)[i]);
  return {};
}

domain::Severity severity_at(const Row& row, int col) {
  return static_cast<domain::Severity>(std::clamp<std::int64_t>(row.i64(col), 0, 4));
}

const Key kSeverityKey{"severity", "severity"};

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

// SQL for the start of a trend bucket, given the hour-or-finer bigint time column `t`.
std::string bucket_expr(TrendBucket bucket, const std::string& t) {
  switch (bucket) {
    case TrendBucket::hour:  // rollup buckets are hours already
      return t == "bucket" ? t : t + " - " + t + " % 3600000000";
    case TrendBucket::day:
      return t + " - " + t + " % 86400000000";
    case TrendBucket::week:  // weeks start on Monday; 1970-01-05 (4 days in) was one
      return t + " - (" + t + " - 345600000000) % 604800000000";
  }
  return t;
}

}  // namespace

Result<FleetOverview> PgStore::fleet_overview(Timestamp now, Timestamp online_since) {
  const auto end = now + 1us;  // `now` itself is inside the windows
  const TimeWindow windows[kOverviewWindows] = {
      {now - 24h, end}, {now - 7 * 24h, end}, {now - 1h, end}};
  Params params(online_since);
  for (const auto& w : windows) {
    auto parts = split_window(w);
    params.add(parts.head_from).add(parts.head_to).add(parts.whole_from).add(parts.whole_to);
    params.add(parts.tail_from).add(parts.tail_to);
  }
  return with_connection([&](Connection& conn) -> Result<FleetOverview> {
    auto rows = conn.run(overview_sql(), params, "analytics overview");
    if (!rows) return rows.error();
    FleetOverview out;
    SeverityCounts by_window[kOverviewWindows];
    for (int i = 0; i < rows->size(); ++i) {
      auto row = (*rows)[i];
      auto part = row.i64(0), key = row.i64(1), n = row.i64(2);
      if (part < kOverviewWindows) {
        by_window[part][severity_at(row, 1)] += n;
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

Result<std::vector<TrendPoint>> PgStore::threat_trend(const TrendQuery& query) {
  return with_connection([&](Connection& conn) -> Result<std::vector<TrendPoint>> {
    Aggregation a;
    if (query.sensor_id) a.rollup = Aggregation::Rollup::sensor;
    a.keys = {{bucket_expr(query.bucket, "bucket"), bucket_expr(query.bucket, "timestamp")},
              kSeverityKey};
    if (query.sensor_id) a.sensor_ids = {*query.sensor_id};
    std::map<std::int64_t, SeverityCounts> buckets;
    auto done = aggregate(conn, a, query.window, [&](const Row& row) {
      buckets[row.i64(0)][severity_at(row, 1)] += row.i64(2);
    });
    if (!done) return done.error();
    return detail::trend_points(buckets);
  });
}

Result<ThreatTypeRanking> PgStore::top_threat_types(const TimeWindow& window, int limit) {
  return with_connection([&](Connection& conn) -> Result<ThreatTypeRanking> {
    Aggregation a;
    a.rollup = Aggregation::Rollup::type;
    a.keys = {{"threat_type", "threat_type"}, kSeverityKey};
    std::map<std::string, SeverityCounts> types;
    auto done = aggregate(conn, a, window, [&](const Row& row) {
      types[row.text(0)][severity_at(row, 1)] += row.i64(2);
    });
    if (!done) return done.error();
    return detail::rank_threat_types(types, limit);
  });
}

Result<std::vector<SensorThreatCount>> PgStore::sensor_threat_counts(
    const TimeWindow& window, const std::vector<domain::Severity>& severities) {
  // One statement: the counts and the sensors' current places come from one snapshot.
  return with_connection([&](Connection& conn) -> Result<std::vector<SensorThreatCount>> {
    Aggregation a;
    a.rollup = Aggregation::Rollup::sensor;
    a.keys = {{"sensor_id", "sensor_id"}, kSeverityKey};
    a.severities = severities;
    a.with_sensor_place = true;
    std::map<std::string, SensorThreatCount> sensors;
    auto done = aggregate(conn, a, window, [&](const Row& row) {
      auto& c = sensors[row.text(0)];
      c.counts[severity_at(row, 1)] += row.i64(2);
      c.name = row.opt_text(4);
      c.city = row.opt_text(5);
      c.country = row.opt_text(6);
      c.latitude = row.opt_f64(7);
      c.longitude = row.opt_f64(8);
    });
    if (!done) return done.error();
    std::vector<SensorThreatCount> out;
    out.reserve(sensors.size());
    for (auto& [id, c] : sensors) {
      c.sensor_id = id;
      out.push_back(std::move(c));
    }
    // Stable: `sensors` is ordered by id (bytes, as COLLATE "C"), which breaks ties.
    std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
      return x.counts.total() > y.counts.total();
    });
    return out;
  });
}

}  // namespace honeyman::store::pg
