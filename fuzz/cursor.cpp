// Keyset cursors (store/detail/cursor.hpp): opaque text a client hands back, decoded under every
// sort and direction (the query's own sort is checked against the one inside).
#include "store/detail/cursor.hpp"

#include "fuzz/fuzz.hpp"
#include "fuzz/support.hpp"

namespace honeyman::fuzz {

int cursor(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view kTarget = "cursor";
  auto text = support::as_text(data, size);
  for (int s = 0; s <= static_cast<int>(store::ThreatSort::created_at); ++s) {
    const auto sort = static_cast<store::ThreatSort>(s);
    for (bool descending : {true, false}) {
      auto decoded = store::detail::decode_cursor(text, sort, descending);
      if (!decoded) {
        support::check_error_answer(kTarget, decoded.error());
        continue;
      }
      support::check(decoded->values.size() == store::detail::sort_columns(sort).size(), kTarget,
                     "cursor with another number of values than its sort's columns");
    }
  }
  return 0;
}

}  // namespace honeyman::fuzz
