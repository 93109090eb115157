// What one batch of threats adds to the rollups, totals and sensor counters, summed in memory
// first so each of those rows is written once per batch: the same arithmetic for both stores.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "domain/domain.hpp"

namespace honeyman::store::detail {

inline constexpr std::int64_t kMicrosPerMinute = 60'000'000;
inline constexpr std::int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr std::int64_t kMicrosPerDay = 24 * kMicrosPerHour;
// Start of the hour holding `micros` (rollup bucket key).
inline std::int64_t floor_hour(std::int64_t micros) {
  auto r = micros % kMicrosPerHour;
  return micros - (r < 0 ? r + kMicrosPerHour : r);
}

// Start of the `unit`-long bucket holding `micros` (UTC: every unit here divides a day).
inline std::int64_t floor_to(std::int64_t micros, std::int64_t unit) {
  auto r = micros % unit;
  return micros - (r < 0 ? r + unit : r);
}

// Rollups at several resolutions: fleet-wide by severity per minute, hour and day; by threat type
// and severity per hour and day; by sensor and severity per hour (tables and bucket lengths,
// finest first). The analytics read the coarsest whole buckets of a window and the finer ones
// only at its ends (aggregates.hpp).
struct RollupLevel {
  const char* table;
  std::int64_t micros;
};
inline constexpr RollupLevel kFleetRollups[] = {{"threat_rollups_fleet_minutely", kMicrosPerMinute},
                                                {"threat_rollups_fleet_hourly", kMicrosPerHour},
                                                {"threat_rollups_fleet_daily", kMicrosPerDay}};
inline constexpr RollupLevel kTypeRollups[] = {{"threat_rollups_type_hourly", kMicrosPerHour},
                                               {"threat_rollups_type_daily", kMicrosPerDay}};
// Per sensor and severity (top sensors, the map, a sensor's trend and recent counts): by hour
// only. A day level here would be written once more per sensor and batch: ~40 % more rollup rows
// per batch (docs/DECISIONS.md, "Analytics without the cache").
inline constexpr RollupLevel kSensorRollups[] = {{"threat_rollups_sensor_hourly", kMicrosPerHour}};

// One SQL text per table of `levels`, made by sql(table): a backend's upsert of each level.
template <std::size_t N>
std::array<std::string, N> per_level(const RollupLevel (&levels)[N],
                                     std::string (*sql)(const char*)) {
  std::array<std::string, N> out;
  for (std::size_t i = 0; i < N; ++i) out[i] = sql(levels[i].table);
  return out;
}

// (sensor, detector, severity, type): the key of threat_totals.
using TotalKey = std::tuple<std::string, std::string, int, std::string>;
// (bucket, severity), (bucket, type, severity), (bucket, sensor, severity): the rollups' keys.
using FleetKey = std::pair<std::int64_t, int>;
using TypeKey = std::tuple<std::int64_t, std::string, int>;
using SensorKey = std::tuple<std::int64_t, std::string, int>;
struct RollupSum {
  std::int64_t count = 0;
  double score_sum = 0;
};
struct SensorSum {
  std::int64_t count = 0;
  std::int64_t last_threat = 0, last_seen = 0;  // unix micros
  // Threats stamped at receipt for a clock beyond the skew policy, and the last one's skew
  // (whole seconds; meaningful when skewed > 0).
  std::int64_t skewed = 0;
  double last_skew_seconds = 0;
};

// What one batch adds, aggregated so each rollup/total/sensor row is written once per batch.
struct BatchSums {
  std::array<std::map<SensorKey, RollupSum>, std::size(kSensorRollups)> by_sensor;  // by level
  std::array<std::map<FleetKey, RollupSum>, std::size(kFleetRollups)> fleet;        // by level
  std::array<std::map<TypeKey, RollupSum>, std::size(kTypeRollups)> types;          // by level
  std::map<TotalKey, std::int64_t> totals;
  std::map<std::string, SensorSum> sensors;
};

struct Place {
  std::optional<double> latitude, longitude;
  std::optional<std::string> city, country;
};

TotalKey total_key(const domain::Threat& t);
// Rollup buckets are UTC clock hours. With `only`, just the threats i with (*only)[i] (the ones
// inserted).
BatchSums sum_batch(const std::vector<domain::Threat>& threats,
                    const std::vector<bool>* only = nullptr);
// For each threat: false when an earlier threat of the batch has the same id (the same message
// twice in one batch), true otherwise.
std::vector<bool> first_of_each_id(const std::vector<domain::Threat>& threats);
// What deleting `t` takes away: its rollups and totals with negative counts, no sensor (its
// counter is decremented on its own; last_threat_at and last_seen stay).
BatchSums removal_of(const domain::Threat& t);
// A threat without its own place takes the sensor's.
void fill_place(domain::Threat& t, const Place& p);

}  // namespace honeyman::store::detail
