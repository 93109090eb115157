#include "store/detail/aggregates.hpp"

#include <algorithm>

#include "store/detail/batch_sums.hpp"

namespace honeyman::store::detail {

namespace {

// [from, to) at `level` and finer. A level meets at most two pieces (the head side's and the tail
// side's, or one in the middle: the coarsest level with a whole bucket inside), the head's first:
// the first goes to the level's head part, the second to its tail part.
void split_into(std::int64_t from, std::int64_t to, int level,
                const std::vector<std::int64_t>& levels, std::vector<WindowPart>& parts) {
  if (from >= to) return;
  auto n = levels.size();
  auto head = static_cast<std::size_t>(level + 1),
       tail = 2 * n - 1 - static_cast<std::size_t>(level);
  if (level >= 0) {
    auto unit = levels[static_cast<std::size_t>(level)];
    auto whole_from = floor_to(from + unit - 1, unit), whole_to = floor_to(to, unit);
    if (whole_from >= whole_to) return split_into(from, to, level - 1, levels, parts);
    split_into(from, whole_from, level - 1, levels, parts);
    (parts[head].to == 0 ? parts[head] : parts[tail]) = {level, whole_from, whole_to};
    split_into(whole_to, to, level - 1, levels, parts);
    return;
  }
  (parts[0].to == 0 ? parts[0] : parts[2 * n]) = {-1, from, to};
}

}  // namespace

std::vector<WindowPart> split_window(const TimeWindow& w, const std::vector<std::int64_t>& levels) {
  auto n = static_cast<int>(levels.size());
  std::vector<WindowPart> parts(static_cast<std::size_t>(2 * n + 1));
  for (int i = 0; i <= 2 * n; ++i)  // raw, levels 0 .. n - 1 .. 0, raw
    parts[static_cast<std::size_t>(i)].level = i < n ? i - 1 : 2 * n - 1 - i;
  split_into(to_unix_micros(w.start), to_unix_micros(w.end), n - 1, levels, parts);
  return parts;
}

std::vector<RollupLevel> rollup_levels(const Aggregation& a) {
  std::vector<RollupLevel> all;
  switch (a.rollup) {
    case Aggregation::Rollup::sensor:
      all.assign(std::begin(kSensorRollups), std::end(kSensorRollups));
      break;
    case Aggregation::Rollup::type:
      all.assign(std::begin(kTypeRollups), std::end(kTypeRollups));
      break;
    case Aggregation::Rollup::fleet:
      all.assign(std::begin(kFleetRollups), std::end(kFleetRollups));
      break;
  }
  if (a.coarsest > 0)
    std::erase_if(all, [&](const RollupLevel& l) { return l.micros > a.coarsest; });
  return all;
}

std::vector<std::int64_t> level_lengths(const std::vector<RollupLevel>& levels) {
  std::vector<std::int64_t> out;
  for (const auto& l : levels) out.push_back(l.micros);
  return out;
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
    case TrendBucket::hour:  // minute rollups and raw rows both need it
      return t + " - " + t + " % 3600000000";
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
