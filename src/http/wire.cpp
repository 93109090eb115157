#include "http/detail/wire.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace honeyman::http::detail {
namespace {

// The API serves JSON only, so the strictest CSP costs nothing, and no-store keeps answers that
// carry credentials or fleet data out of shared caches.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kStandardHeaders{{
    {"Server", "honeyman"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
    {"Cache-Control", "no-store"},
}};

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

void serialize_head(const Response& response, std::string& out) {
  out.clear();
  out.append(response.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  std::array<char, 8> code{};
  auto [end, ec] = std::to_chars(code.data(), code.data() + code.size(), response.result_int());
  out.append(code.data(), end);
  out.push_back(' ');
  out.append(response.reason());
  out.append("\r\n");
  for (const auto& f : response) append_field(out, f.name_string(), f.value());
  for (const auto& [name, value] : kStandardHeaders)
    if (response.count(name) == 0) append_field(out, name, value);
  out.append("\r\n");
}

}  // namespace honeyman::http::detail
