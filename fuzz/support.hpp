// Private to fuzz/: what every target shares (the fixed receipt time, invariant checks).
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/core.hpp"
#include "http/http.hpp"

namespace honeyman::fuzz::support {

// The receipt time of every target (2027-01-15): fixed, so a run is repeatable.
inline constexpr Timestamp kNow{std::chrono::seconds(1'800'000'000)};

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An invariant the target checks is broken: a bug, reported the way a crash is.
[[noreturn]] inline void broken(std::string_view target, std::string_view what) {
  std::fprintf(stderr, "fuzz %.*s: invariant broken: %.*s\n", static_cast<int>(target.size()),
               target.data(), static_cast<int>(what.size()), what.data());
  std::abort();
}

inline void check(bool ok, std::string_view target, std::string_view what) {
  if (!ok) broken(target, what);
}

// The answer a client gets for `e` must be an error status with the API's one error JSON:
// {"detail": "<message>"} or {"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]}
// (docs/API.md), and valid JSON whatever bytes the input held.
inline void check_error_answer(std::string_view target, const Error& e) {
  check(e.code != Errc::ok && e.code != Errc::internal, target, "error without a client code");
  auto res = http::error_response(e);
  check(static_cast<int>(res.result_int()) >= 400, target, "error answered below 400");
  boost::system::error_code ec;
  auto body = boost::json::parse(res.body(), ec);
  check(!ec && body.is_object(), target, "error body is not a JSON object");
  const auto* detail = body.as_object().if_contains("detail");
  check(detail != nullptr && (detail->is_string() || detail->is_array()), target,
        "error body has no detail");
  if (detail->is_string()) {
    check(!detail->get_string().empty(), target, "empty error message");
    return;
  }
  check(!detail->get_array().empty(), target, "empty validation error list");
  for (const auto& item : detail->get_array()) {
    const auto* o = item.if_object();
    check(o != nullptr && o->contains("loc") && o->contains("msg") && o->contains("type"), target,
          "validation error entry without loc/msg/type");
  }
}

}  // namespace honeyman::fuzz::support
