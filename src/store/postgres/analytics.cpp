// Analytics: exact threat counts over arbitrary windows, from the hourly rollups for the whole
// hours inside a window and from the raw rows for the partial hours at its two ends. The same
// windows, rollups and answers as the SQLite store; unlike there, PostgreSQL groups the rows
// itself (a hash aggregate: no sort), which saves shipping and parsing every rollup row as text
// (see docs/DECISIONS.md, "PostgreSQL analytics and retention").
#include <algorithm>
#include <chrono>

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
  return "SELECT " + groups + ", sum(n)::bigint, sum(s) FROM (SELECT " + select_keys(a, true) +
         "count AS n, score_sum AS s FROM " + table +
         " WHERE bucket >= $3::bigint AND bucket < $4::bigint" + where + " UNION ALL " +
         raw("$1", "$2") + " UNION ALL " + raw("$5", "$6") + ") parts GROUP BY " + groups;
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

// Counts by severity (and the score sum) of the whole fleet over `window`.
Status fleet_counts(Connection& conn, const TimeWindow& window, SeverityCounts& counts,
                    double* score_sum) {
  Aggregation a;
  a.keys = {kSeverityKey};
  return aggregate(conn, a, window, [&](const Row& row) {
    counts[severity_at(row, 0)] += row.i64(1);
    if (score_sum != nullptr) *score_sum += row.f64(2);
  });
}

Status sensor_counts(Connection& conn, Timestamp online_since, FleetOverview& out) {
  auto rows = conn.run(
      "SELECT count(*), count(*) FILTER (WHERE is_active), "
      "count(*) FILTER (WHERE last_seen >= $1::bigint) FROM sensors",
      Params(online_since), "analytics overview");
  if (!rows) return rows.error();
  out.total_sensors = (*rows)[0].i64(0);
  out.active_sensors = (*rows)[0].i64(1);
  out.online_sensors = (*rows)[0].i64(2);
  return {};
}

Result<std::int64_t> all_time_total(Connection& conn) {
  auto rows = conn.run("SELECT coalesce(sum(count), 0)::bigint FROM threat_totals_fleet", Params(),
                       "analytics overview");
  if (!rows) return rows.error();
  return (*rows)[0].i64(0);
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

// Looks up the current name and place of each counted sensor (deleted ones stay empty).
Status fill_sensor_places(Connection& conn, std::vector<SensorThreatCount>& counts) {
  if (counts.empty()) return {};
  std::vector<std::string> ids;
  for (const auto& c : counts) ids.push_back(c.sensor_id);
  auto rows = conn.run(
      "SELECT sensor_id, name, city, country, latitude, longitude FROM sensors "
      "WHERE sensor_id = ANY($1::text[])",
      Params(text_array(ids)), "sensor analytics");
  if (!rows) return rows.error();
  std::map<std::string, int> found;
  for (int i = 0; i < rows->size(); ++i) found[(*rows)[i].text(0)] = i;
  for (auto& c : counts) {
    auto it = found.find(c.sensor_id);
    if (it == found.end()) continue;
    auto row = (*rows)[it->second];
    c.name = row.opt_text(1);
    c.city = row.opt_text(2);
    c.country = row.opt_text(3);
    c.latitude = row.opt_f64(4);
    c.longitude = row.opt_f64(5);
  }
  return {};
}

}  // namespace

Result<FleetOverview> PgStore::fleet_overview(Timestamp now, Timestamp online_since) {
  return snapshot("analytics overview", [&](Connection& conn) -> Result<FleetOverview> {
    FleetOverview out;
    if (auto s = sensor_counts(conn, online_since, out); !s) return s.error();
    auto total = all_time_total(conn);
    if (!total) return total.error();
    out.total_threats = *total;
    const auto end = now + 1us;  // `now` itself is inside the windows
    if (auto s = fleet_counts(conn, {now - 24h, end}, out.last_24h, &out.score_sum_24h); !s)
      return s.error();
    SeverityCounts week, hour;
    if (auto s = fleet_counts(conn, {now - 7 * 24h, end}, week, nullptr); !s) return s.error();
    if (auto s = fleet_counts(conn, {now - 1h, end}, hour, nullptr); !s) return s.error();
    out.last_7d = week.total();
    out.last_hour = hour.total();
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
    std::vector<TrendPoint> out;
    out.reserve(buckets.size());
    for (const auto& [start, counts] : buckets) out.push_back({from_unix_micros(start), counts});
    return out;
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
    ThreatTypeRanking out;
    for (auto& [type, counts] : types) {
      out.total += counts.total();
      out.top.push_back({type, counts});
    }
    // Stable: `types` is ordered by name (bytes, as COLLATE "C"), which breaks ties.
    std::stable_sort(out.top.begin(), out.top.end(), [](const auto& x, const auto& y) {
      return x.counts.total() > y.counts.total();
    });
    if (out.top.size() > static_cast<std::size_t>(std::max(limit, 0)))
      out.top.resize(static_cast<std::size_t>(std::max(limit, 0)));
    return out;
  });
}

Result<std::vector<SensorThreatCount>> PgStore::sensor_threat_counts(
    const TimeWindow& window, const std::vector<domain::Severity>& severities) {
  return snapshot("sensor analytics",
                  [&](Connection& conn) -> Result<std::vector<SensorThreatCount>> {
                    Aggregation a;
                    a.rollup = Aggregation::Rollup::sensor;
                    a.keys = {{"sensor_id", "sensor_id"}, kSeverityKey};
                    a.severities = severities;
                    std::map<std::string, SeverityCounts> sensors;
                    auto done = aggregate(conn, a, window, [&](const Row& row) {
                      sensors[row.text(0)][severity_at(row, 1)] += row.i64(2);
                    });
                    if (!done) return done.error();
                    std::vector<SensorThreatCount> out;
                    out.reserve(sensors.size());
                    for (auto& [id, counts] : sensors) {
                      SensorThreatCount c;
                      c.sensor_id = id;
                      c.counts = counts;
                      out.push_back(std::move(c));
                    }
                    std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
                      return x.counts.total() > y.counts.total();
                    });
                    if (auto s = fill_sensor_places(conn, out); !s) return s.error();
                    return out;
                  });
}

}  // namespace honeyman::store::pg
