// SQLite-specific row helpers; the shared column lists and readers are in store/detail/rows.hpp.
#pragma once

#include <cstdint>
#include <string>

#include "store/detail/rows.hpp"
#include "store/sqlite/detail/sqlite.hpp"

namespace honeyman::store::detail {

inline constexpr std::int64_t kMicrosPerHour = 3'600'000'000;
// Start of the hour holding `micros` (rollup bucket key).
inline std::int64_t floor_hour(std::int64_t micros) {
  auto r = micros % kMicrosPerHour;
  return micros - (r < 0 ? r + kMicrosPerHour : r);
}

// "?, ?, ?" with `n` placeholders, for IN-lists (values are always bound, never inlined).
std::string placeholders(std::size_t n);

}  // namespace honeyman::store::detail
