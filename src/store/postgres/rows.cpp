#include "store/postgres/detail/rows.hpp"

namespace honeyman::store::pg {

std::string placeholders(int first, int n, std::string_view type) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out.append("$").append(std::to_string(first + i)).append("::").append(type);
  }
  return out;
}

}  // namespace honeyman::store::pg
