#include "store/sqlite/detail/rows.hpp"

namespace honeyman::store::detail {

std::string placeholders(std::size_t n) {
  std::string out;
  out.reserve(n * 3);
  for (std::size_t i = 0; i < n; ++i) out += i == 0 ? "?" : ", ?";
  return out;
}

}  // namespace honeyman::store::detail
