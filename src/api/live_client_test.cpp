#include "api/detail/live_client.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace honeyman::api::detail {
namespace {

bus::EventPtr threat(const std::string& sensor, domain::Severity severity,
                     const std::string& detector) {
  domain::Threat t;
  t.id = uuid_v7(from_unix_micros(1'700'000'000'000'000));
  t.sensor_id = sensor;
  t.severity = severity;
  t.detector_type = detector;
  return bus::threat_event(t, {});
}

LiveFilter filter(std::string_view text) {
  auto parsed = parse_filter(boost::json::parse(text));
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : LiveFilter{};
}

TEST(LiveFilter, EmptyListsAllowEverything) {
  auto f = filter("{}");
  EXPECT_TRUE(f.matches(*threat("a", domain::Severity::low, "usb")));
  EXPECT_TRUE(f.matches(*bus::sensor_status_event("a", true, std::nullopt, {})));
}

TEST(LiveFilter, ListsAreOrWithinAndAcross) {
  auto f = filter(R"({"severity":["HIGH","critical"],"detector_type":["wifi"]})");
  EXPECT_TRUE(f.matches(*threat("a", domain::Severity::high, "wifi")));
  EXPECT_TRUE(f.matches(*threat("b", domain::Severity::critical, "wifi")));
  EXPECT_FALSE(f.matches(*threat("a", domain::Severity::low, "wifi")));
  EXPECT_FALSE(f.matches(*threat("a", domain::Severity::high, "ble")));
}

TEST(LiveFilter, SensorStatusFollowsTheSensorListOnly) {
  auto f = filter(R"({"severity":["critical"],"sensor_id":["s1"]})");
  EXPECT_TRUE(f.matches(*bus::sensor_status_event("s1", false, std::nullopt, {})));
  EXPECT_FALSE(f.matches(*bus::sensor_status_event("s2", false, std::nullopt, {})));
}

TEST(LiveFilter, MalformedFiltersAreRefused) {
  for (auto text :
       {R"([])", R"({"colour":["red"]})", R"({"severity":"high"})", R"({"sensor_id":[1]})"})
    EXPECT_FALSE(parse_filter(boost::json::parse(text))) << text;
}

}  // namespace
}  // namespace honeyman::api::detail
