#pragma once

#include "api/detail/common.hpp"

namespace honeyman::api::detail {

// Offset paging reaches at most this many rows (page × page_size); deeper takes `cursor`.
inline constexpr std::int64_t kMaxOffsetPagingDepth = 100'000;

// Reads the filters, sort and paging of GET /threats (SPEC §2) from the query string.
Result<store::ThreatQuery> parse_threat_query(const boost::urls::params_view& params);

// GET /threats and GET /sensors/{id}/threats; `sensor_id` non-empty fixes the sensor.
asio::awaitable<Response> query_threats_response(RequestContext& ctx, Services& s,
                                                 std::string sensor_id);

}  // namespace honeyman::api::detail
