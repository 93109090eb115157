#include "store/detail/sql.hpp"

namespace honeyman::store::detail {

std::string param(int n) {
  // append() rather than operator+ on a literal: GCC 12 at -O3 reports a false -Wrestrict.
  std::string out = "$";
  return out.append(std::to_string(n));
}

std::string where_clause(const std::vector<std::string>& conditions) {
  std::string out;
  for (const auto& c : conditions) out.append(out.empty() ? " WHERE " : " AND ").append(c);
  return out;
}

std::string param_list(int first, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(i == 0 ? "" : ", ").append(param(first + i));
  return out;
}

}  // namespace honeyman::store::detail
