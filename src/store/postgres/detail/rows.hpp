// PostgreSQL-specific row helpers; the shared column lists and readers are in
// store/detail/rows.hpp.
#pragma once

#include <string>
#include <string_view>

#include "store/detail/rows.hpp"
#include "store/postgres/detail/pg.hpp"

namespace honeyman::store::pg {

using detail::json_text;
using detail::kSensorColumns;
using detail::kThreatColumns;
using detail::kThreatSeqColumn;
using detail::kUserColumns;
using detail::parse_json_array;
using detail::parse_json_object;
using detail::parse_json_strings;
using detail::read_sensor;
using detail::read_threat;
using detail::read_user;

// "$first::type, $first+1::type, ..." for `n` parameters.
std::string placeholders(int first, int n, std::string_view type);

}  // namespace honeyman::store::pg
