#include "store/detail/aggregates.hpp"

#include <algorithm>

#include "store/detail/batch_sums.hpp"

namespace honeyman::store::detail {

WindowParts split_window(const TimeWindow& w) {
  auto start = to_unix_micros(w.start), end = to_unix_micros(w.end);
  WindowParts p;
  if (end <= start) return p;
  auto whole_from = floor_hour(start + kMicrosPerHour - 1), whole_to = floor_hour(end);
  if (whole_from >= whole_to) {  // no whole hour inside: rows alone
    p.head_from = start;
    p.head_to = end;
    return p;
  }
  p = {start, whole_from, whole_from, whole_to, whole_to, end};
  return p;
}

ClosedWindowParts split_closed_window(Timestamp from, Timestamp to) {
  ClosedWindowParts p;
  p.start = to_unix_micros(from);
  p.end = to_unix_micros(to);
  p.whole_from = floor_hour(p.start + kMicrosPerHour - 1);
  p.whole_to = floor_hour(p.end);
  if (p.whole_from >= p.whole_to) p.whole_from = p.whole_to = p.end + 1;
  return p;
}

const char* rollup_table(Aggregation::Rollup rollup) {
  switch (rollup) {
    case Aggregation::Rollup::sensor:
      return "threat_rollups_hourly";
    case Aggregation::Rollup::type:
      return "threat_rollups_type_hourly";
    case Aggregation::Rollup::fleet:
      break;
  }
  return "threat_rollups_fleet_hourly";
}

Aggregation by_sensor(const std::vector<domain::Severity>& severities) {
  Aggregation a;
  a.rollup = Aggregation::Rollup::sensor;
  a.keys = {{"sensor_id", "sensor_id"}, kSeverityKey};
  a.severities = severities;
  return a;
}

std::string select_keys(const Aggregation& a, bool rollup) {
  std::string select;
  for (std::size_t i = 0; i < a.keys.size(); ++i)
    select.append(rollup ? a.keys[i].rollup : a.keys[i].raw)
        .append(" AS k")
        .append(std::to_string(i))
        .append(", ");
  return select;
}

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

std::vector<TrendPoint> trend_points(const std::map<std::int64_t, SeverityCounts>& buckets) {
  std::vector<TrendPoint> out;
  out.reserve(buckets.size());
  for (const auto& [start, counts] : buckets) out.push_back({from_unix_micros(start), counts});
  return out;
}

ThreatTypeRanking rank_threat_types(const std::map<std::string, SeverityCounts>& types, int limit) {
  ThreatTypeRanking out;
  for (const auto& [type, counts] : types) {
    out.total += counts.total();
    out.top.push_back({type, counts});
  }
  // Stable: `types` is ordered by name (bytes on both stores), which breaks ties.
  std::stable_sort(out.top.begin(), out.top.end(), [](const auto& x, const auto& y) {
    return x.counts.total() > y.counts.total();
  });
  if (out.top.size() > static_cast<std::size_t>(std::max(limit, 0)))
    out.top.resize(static_cast<std::size_t>(std::max(limit, 0)));
  return out;
}

std::vector<SensorThreatCount> rank_sensors(std::map<std::string, SensorThreatCount> sensors) {
  std::vector<SensorThreatCount> out;
  out.reserve(sensors.size());
  for (auto& [id, c] : sensors) {
    c.sensor_id = id;
    out.push_back(std::move(c));
  }
  // Stable: `sensors` is ordered by id, which breaks ties.
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    return x.counts.total() > y.counts.total();
  });
  return out;
}

}  // namespace honeyman::store::detail
