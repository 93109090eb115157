#include "store/detail/rows.hpp"

#include <boost/json/parse.hpp>

namespace honeyman::store::detail {
namespace {

boost::json::value parse_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) return nullptr;
  return v;
}

}  // namespace

std::string json_text(const boost::json::value& v) {
  return to_json_text(v);
}

std::string json_text(const std::vector<std::string>& strings) {
  boost::json::array a;
  a.reserve(strings.size());
  for (const auto& s : strings) a.emplace_back(s);
  return to_json_text(a);
}

boost::json::array parse_json_array(std::string_view text) {
  auto v = parse_json(text);
  if (auto* a = v.if_array()) return std::move(*a);
  return {};
}

boost::json::object parse_json_object(std::string_view text) {
  auto v = parse_json(text);
  if (auto* o = v.if_object()) return std::move(*o);
  return {};
}

std::vector<std::string> parse_json_strings(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& item : parse_json_array(text))
    if (const auto* s = item.if_string()) out.emplace_back(*s);
  return out;
}

}  // namespace honeyman::store::detail
