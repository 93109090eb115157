// Counting threats over time windows, the same way on both stores: how a window splits into
// rollup hours and raw-row edges, what an aggregation groups by, and how summed counts become
// analytics answers. The stores differ only in how they add the rows up (aggregate()).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/detail/batch_sums.hpp"
#include "store/detail/rows.hpp"
#include "store/store.hpp"

namespace honeyman::store::detail {

// Rollups come at up to three resolutions (minute, hour, day; each a whole number of the one
// before, UTC). A half-open window [start, end) splits into the coarsest whole buckets inside it,
// then, at each end, the next finer whole buckets up to those, down to the raw rows of the
// partial finest buckets: with levels L0 < L1 < L2 the parts are, in this order,
//   raw head, L0 head, L1 head, L2, L1 tail, L0 tail, raw tail
// (2 * levels + 1 parts; an empty part is [0, 0)). So a window's cost is the rows of at most two
// partial buckets per level plus its coarsest buckets, not one row per finest bucket.
struct WindowPart {
  int level = -1;  // index into the levels; -1: raw rows
  std::int64_t from = 0, to = 0;
};
std::vector<WindowPart> split_window(const TimeWindow& w, const std::vector<std::int64_t>& levels);

// Rollup retention: the last bucket of a `unit`-long rollup that goes at `cutoff` (unix micros):
// buckets that ended by then, and minute buckets only with their hour (a window's minute parts
// lie in hours whose hourly row is still there).
inline std::int64_t last_expired_bucket(std::int64_t cutoff, std::int64_t unit) {
  return floor_to(cutoff, std::max(unit, kMicrosPerHour)) - unit;
}

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
  // No rollup coarser than this many micros (an hourly trend cannot read daily rows); 0: any.
  std::int64_t coarsest = 0;
};
// The resolutions the aggregation may read, finest first.
std::vector<RollupLevel> rollup_levels(const Aggregation& a);
std::vector<std::int64_t> level_lengths(const std::vector<RollupLevel>& levels);
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
