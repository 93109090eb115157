// GET /threats: the request target's query string (decoded by Boost.URL as the server does), read
// by parse_threat_query, then what the store does with it before SQL: the cursor decoded under
// the query's sort, the offset computed.
#include "api/detail/threat_query.hpp"

#include <boost/url/parse.hpp>

#include "fuzz/fuzz.hpp"
#include "fuzz/support.hpp"
#include "store/detail/cursor.hpp"

namespace honeyman::fuzz {

int threat_query(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view kTarget = "threat_query";
  std::string target = "/api/v2/threats?";
  target.append(support::as_text(data, size));
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return 0;  // 400 Malformed request target, before any route
  auto query = api::detail::parse_threat_query(url->params());
  if (!query) {
    support::check_error_answer(kTarget, query.error());
    return 0;
  }
  support::check(query->page >= 1 && query->page_size >= 1 && query->page_size <= 1000, kTarget,
                 "page or page_size outside its range");
  support::check(query->cursor.size() <= 512, kTarget, "cursor longer than 512 accepted");
  for (const auto& id : query->sensor_ids)
    support::check(domain::is_valid_sensor_id(id), kTarget, "invalid sensor id accepted");
  support::check(store::detail::page_offset(*query, false) >= 0, kTarget, "negative offset");
  if (!query->cursor.empty()) {
    auto cursor = store::detail::decode_cursor(query->cursor, query->sort_by, query->descending);
    if (!cursor) support::check_error_answer(kTarget, cursor.error());
  }
  return 0;
}

}  // namespace honeyman::fuzz
