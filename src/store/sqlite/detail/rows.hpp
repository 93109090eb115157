// SQLite-specific row helpers; the shared column lists and readers are in store/detail/rows.hpp.
#pragma once

#include <cstdint>
#include <string>

#include "store/detail/batch_sums.hpp"
#include "store/detail/rows.hpp"
#include "store/sqlite/detail/sqlite.hpp"

namespace honeyman::store::detail {

// "?, ?, ?" with `n` placeholders, for IN-lists (values are always bound, never inlined).
std::string placeholders(std::size_t n);

}  // namespace honeyman::store::detail
