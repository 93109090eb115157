// Helpers shared by the domain unit tests: wire samples, a fixed clock, one-line error checks.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "domain/domain.hpp"

namespace honeyman::domain::test_support {
namespace json = boost::json;

inline Timestamp at(std::string_view text) {
  auto t = parse_timestamp(text);
  EXPECT_TRUE(t) << text;
  return t.value_or(Timestamp{});
}

// The sensor of the wire samples.
inline const std::string kSensor = "rpi5-defcon-01";

// Receipt time of every test payload: shortly after the wire samples were taken.
inline const Timestamp kNow = at("2026-08-08T15:00:00Z");

// `message`: the bytes the threats' ids are made of (empty: fresh ids).
inline IngestContext context(std::optional<std::string> authenticated = std::nullopt,
                             std::string_view message = {}) {
  IngestContext ctx;
  ctx.authenticated_sensor_id = std::move(authenticated);
  ctx.now = kNow;
  ctx.message = message;
  return ctx;
}

inline json::value wire(const std::string& name) {
  std::ifstream in(std::string(HONEYMAN_WIRE_DIR) + "/" + name);
  EXPECT_TRUE(in) << "missing wire sample " << name;
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

inline json::object wire_object(const std::string& name) {
  return wire(name).as_object();
}

// "body/3/threat_score:less_than_equal" for each field error, so a whole error list reads (and
// compares) in one line. A success is "ok"; any other error "<message>".
template <class T>
std::vector<std::string> errors_of(const Result<T>& r) {
  if (r) return {"ok"};
  if (r.error().code != Errc::invalid_input) return {"<" + r.error().message + ">"};
  std::vector<std::string> out;
  for (const auto& f : r.error().fields) {
    std::string loc;
    for (const auto& part : f.loc) loc += (loc.empty() ? "" : "/") + part;
    out.push_back(loc + ":" + f.type);
  }
  return out;
}

using Strings = std::vector<std::string>;

inline std::vector<std::string> keys_of(const json::object& o) {
  std::vector<std::string> keys;
  for (const auto& member : o) keys.emplace_back(member.key());
  return keys;
}

}  // namespace honeyman::domain::test_support
