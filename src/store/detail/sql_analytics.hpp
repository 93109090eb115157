// SqlStore: analytics — exact threat counts over arbitrary windows, from the rollups of the
// coarsest whole buckets inside a window (day, hour or minute: aggregates.hpp) and from the raw
// rows of the partial buckets at its two ends.
// The backend adds the rows up (B::aggregate: SQLite streams ungrouped rows, PostgreSQL groups
// them itself); what is counted and how answers are shaped is here. Included only where a
// backend instantiates SqlStore (see sql_store.hpp).
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "store/detail/aggregates.hpp"
#include "store/detail/sql_store.hpp"

namespace honeyman::store::detail {

template <class B>
Result<std::vector<TrendPoint>> SqlStore<B>::threat_trend(const TrendQuery& query) {
  Aggregation a;
  if (query.sensor_id) {
    a.rollup = Aggregation::Rollup::sensor;
    a.sensor_ids = {*query.sensor_id};
  }
  a.keys = {{bucket_expr(query.bucket, "bucket"), bucket_expr(query.bucket, "timestamp")},
            kSeverityKey};
  // A rollup row must lie inside one trend bucket: hourly trends read no daily rows.
  a.coarsest =
      std::chrono::duration_cast<std::chrono::microseconds>(trend_bucket_length(query.bucket))
          .count();
  return b_.read([&](Connection& conn) -> Result<std::vector<TrendPoint>> {
    std::map<std::int64_t, SeverityCounts> buckets;
    auto done = B::aggregate(conn, a, query.window, [&](const auto& row) {
      buckets[row.i64(0)][severity_at(row, 1)] += row.i64(2);
    });
    if (!done) return done.error();
    return trend_points(buckets);
  });
}

template <class B>
Result<ThreatTypeRanking> SqlStore<B>::top_threat_types(const TimeWindow& window, int limit) {
  Aggregation a;
  a.rollup = Aggregation::Rollup::type;
  a.keys = {{"threat_type", "threat_type"}, kSeverityKey};
  return b_.read([&](Connection& conn) -> Result<ThreatTypeRanking> {
    std::map<std::string, SeverityCounts> types;
    auto done = B::aggregate(conn, a, window, [&](const auto& row) {
      types[row.text(0)][severity_at(row, 1)] += row.i64(2);
    });
    if (!done) return done.error();
    return rank_threat_types(types, limit);
  });
}

// The counts with each sensor's current name and place, from one snapshot (how is the backend's).
template <class B>
Result<std::vector<SensorThreatCount>> SqlStore<B>::sensor_threat_counts(
    const TimeWindow& window, const std::vector<domain::Severity>& severities) {
  auto sensors = b_.count_by_sensor(window, severities);
  if (!sensors) return sensors.error();
  return rank_sensors(std::move(*sensors));
}

}  // namespace honeyman::store::detail
