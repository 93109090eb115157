#include "store/detail/batch_sums.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <string_view>
#include <unordered_set>

#include "core/core.hpp"

namespace honeyman::store::detail {
TotalKey total_key(const domain::Threat& t) {
  return {t.sensor_id, t.detector_type, static_cast<int>(t.severity), t.threat_type};
}

BatchSums sum_batch(const std::vector<domain::Threat>& threats, const std::vector<bool>* only) {
  BatchSums sums;
  for (std::size_t i = 0; i < threats.size(); ++i) {
    if (only && !(*only)[i]) continue;
    const auto& t = threats[i];
    auto ts = to_unix_micros(t.timestamp);
    auto severity = static_cast<int>(t.severity);
    for (std::size_t l = 0; l < sums.by_sensor.size(); ++l) {
      auto& sum =
          sums.by_sensor[l][{floor_to(ts, kSensorRollups[l].micros), t.sensor_id, severity}];
      ++sum.count;
      sum.score_sum += t.threat_score;
    }
    for (std::size_t l = 0; l < sums.fleet.size(); ++l) {
      auto& sum = sums.fleet[l][{floor_to(ts, kFleetRollups[l].micros), severity}];
      ++sum.count;
      sum.score_sum += t.threat_score;
    }
    for (std::size_t l = 0; l < sums.types.size(); ++l) {
      auto& sum = sums.types[l][{floor_to(ts, kTypeRollups[l].micros), t.threat_type, severity}];
      ++sum.count;
      sum.score_sum += t.threat_score;
    }
    ++sums.totals[total_key(t)];
    auto& sensor = sums.sensors[t.sensor_id];
    if (sensor.count++ == 0) sensor.last_threat = sensor.last_seen = INT64_MIN;
    sensor.last_threat = std::max(sensor.last_threat, ts);
    // last_seen means "heard from": the receipt time, not the sensor's own clock.
    sensor.last_seen = std::max(sensor.last_seen, to_unix_micros(t.created_at));
    if (t.clock_skew) {
      ++sensor.skewed;
      sensor.last_skew_seconds = static_cast<double>(
          std::chrono::duration_cast<std::chrono::seconds>(*t.clock_skew).count());
    }
  }
  return sums;
}

std::vector<bool> first_of_each_id(const std::vector<domain::Threat>& threats) {
  std::vector<bool> first(threats.size(), true);
  std::unordered_set<std::string_view> seen;
  seen.reserve(threats.size());
  for (std::size_t i = 0; i < threats.size(); ++i) first[i] = seen.insert(threats[i].id).second;
  return first;
}

BatchSums removal_of(const domain::Threat& t) {
  BatchSums sums;
  const RollupSum minus_one{-1, -t.threat_score};
  auto ts = to_unix_micros(t.timestamp);
  auto severity = static_cast<int>(t.severity);
  for (std::size_t l = 0; l < sums.by_sensor.size(); ++l)
    sums.by_sensor[l][{floor_to(ts, kSensorRollups[l].micros), t.sensor_id, severity}] = minus_one;
  for (std::size_t l = 0; l < sums.fleet.size(); ++l)
    sums.fleet[l][{floor_to(ts, kFleetRollups[l].micros), severity}] = minus_one;
  for (std::size_t l = 0; l < sums.types.size(); ++l)
    sums.types[l][{floor_to(ts, kTypeRollups[l].micros), t.threat_type, severity}] = minus_one;
  sums.totals[total_key(t)] = -1;
  return sums;
}

void fill_place(domain::Threat& t, const Place& p) {
  if (!t.latitude || !t.longitude) {
    t.latitude = p.latitude;
    t.longitude = p.longitude;
  }
  if (!t.city) t.city = p.city;
  if (!t.country) t.country = p.country;
}

}  // namespace honeyman::store::detail
