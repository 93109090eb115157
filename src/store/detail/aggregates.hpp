// Turning summed counts into analytics answers, the same way on both stores: the stores differ in
// how they add up rows, not in what they answer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace honeyman::store::detail {

// Non-empty buckets in ascending order (`buckets` is keyed by bucket start, unix micros).
inline std::vector<TrendPoint> trend_points(const std::map<std::int64_t, SeverityCounts>& buckets) {
  std::vector<TrendPoint> out;
  out.reserve(buckets.size());
  for (const auto& [start, counts] : buckets) out.push_back({from_unix_micros(start), counts});
  return out;
}

// The `limit` most frequent types, by count desc then name asc, and the window's total.
inline ThreatTypeRanking rank_threat_types(const std::map<std::string, SeverityCounts>& types,
                                           int limit) {
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

}  // namespace honeyman::store::detail
