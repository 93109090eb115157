// Counting threats over time windows, the same way on both stores: how a window splits into
// rollup hours and raw-row edges, what an aggregation groups by, and how summed counts become
// analytics answers. The stores differ only in how they add the rows up (aggregate()).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/detail/rows.hpp"
#include "store/store.hpp"

namespace honeyman::store::detail {

// The three parts of a half-open window [start, end): raw rows of the head's partial hour,
// rollups of the whole hours, raw rows of the tail's partial hour. Empty ranges are [0, 0).
struct WindowParts {
  std::int64_t head_from = 0, head_to = 0;
  std::int64_t whole_from = 0, whole_to = 0;
  std::int64_t tail_from = 0, tail_to = 0;
};
WindowParts split_window(const TimeWindow& w);

// The parts of a closed window [from, to] (count_threats_between): rollup hours
// [whole_from, whole_to), raw rows [start, whole_from) and [whole_to, end]. Without a whole hour
// inside, the first raw part covers it all and the other two are empty.
struct ClosedWindowParts {
  std::int64_t start = 0, whole_from = 0, whole_to = 0, end = 0;
};
ClosedWindowParts split_closed_window(Timestamp from, Timestamp to);

// One grouping column, as an expression over the rollup table and over `threats`.
struct Key {
  std::string rollup, raw;
};
inline const Key kSeverityKey{"severity", "severity"};

// What to count: which rollup, grouped by which keys, filtered how.
struct Aggregation {
  // The rollup with the columns the keys and filters need: per sensor, fleet by severity, or
  // fleet by threat type and severity.
  enum class Rollup { sensor, fleet, type } rollup = Rollup::fleet;
  std::vector<Key> keys;
  std::vector<std::string> sensor_ids;       // empty: every sensor (needs Rollup::sensor otherwise)
  std::vector<domain::Severity> severities;  // empty: every severity
};
const char* rollup_table(Aggregation::Rollup rollup);
// Counts by sensor and severity, of the given severities (all when empty).
Aggregation by_sensor(const std::vector<domain::Severity>& severities);
// "e0 AS k0, e1 AS k1, " for the rollup part or the raw-row parts.
std::string select_keys(const Aggregation& a, bool rollup);
// SQL for the start of a trend bucket, given the hour-or-finer integer time column `t`.
std::string bucket_expr(TrendBucket bucket, const std::string& t);

template <class Row>
domain::Severity severity_at(const Row& row, int col) {
  return severity_of(row.i64(col));
}

// Non-empty buckets in ascending order (`buckets` is keyed by bucket start, unix micros).
std::vector<TrendPoint> trend_points(const std::map<std::int64_t, SeverityCounts>& buckets);
// The `limit` most frequent types, by count desc then name asc, and the window's total.
ThreatTypeRanking rank_threat_types(const std::map<std::string, SeverityCounts>& types, int limit);
// The sensors by count desc, ties in sensor_id order (bytes on both stores).
std::vector<SensorThreatCount> rank_sensors(std::map<std::string, SensorThreatCount> sensors);

}  // namespace honeyman::store::detail
