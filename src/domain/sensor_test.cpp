// Enumerations, identifiers, sensor liveness and the sensor update body.
#include "domain/domain_test_support.hpp"

namespace honeyman::domain {
namespace {
using namespace test_support;
using std::chrono::microseconds;
using std::chrono::seconds;

TEST(SeverityNames, RoundTripAndParseCaseInsensitively) {
  for (Severity s : kAllSeverities) EXPECT_EQ(parse_severity(to_string(s)), s);
  EXPECT_EQ(to_string(Severity::critical), "critical");
  EXPECT_EQ(parse_severity("High"), Severity::high);
  EXPECT_EQ(parse_severity("INFO"), Severity::info);
  EXPECT_FALSE(parse_severity("severe"));
  EXPECT_FALSE(parse_severity(""));
  EXPECT_LT(Severity::high, Severity::critical);
}

TEST(RoleNames, RoundTripAndParseCaseInsensitively) {
  for (Role r : {Role::viewer, Role::analyst, Role::admin}) EXPECT_EQ(parse_role(to_string(r)), r);
  EXPECT_EQ(parse_role("ADMIN"), Role::admin);
  EXPECT_FALSE(parse_role("root"));
  EXPECT_FALSE(parse_role("admin "));
}

TEST(SensorIds, FollowTheTopicSafePattern) {
  for (const char* good : {"a", "rpi5-defcon-01", "A.b_c-9", "...", "0123456789"})
    EXPECT_TRUE(is_valid_sensor_id(good)) << good;
  EXPECT_TRUE(is_valid_sensor_id(std::string(64, 'x')));
  for (std::string bad : {"", "a#", "+", "a/b", "a b", "a\tb", "a\x7f", "é", "a@b", "$SYS"})
    EXPECT_FALSE(is_valid_sensor_id(bad)) << bad;
  EXPECT_FALSE(is_valid_sensor_id(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_sensor_id(std::string(65, 'x')));
}

TEST(Usernames, AllowEmailLikeNames) {
  for (const char* good : {"alice", "alice@example.org", "a.b-c_d"})
    EXPECT_TRUE(is_valid_username(good)) << good;
  for (std::string bad : {"", "al ice", "a/b", "a#", "ü", "a:b"})
    EXPECT_FALSE(is_valid_username(bad)) << bad;
  EXPECT_TRUE(is_valid_username(std::string(64, 'u')));
  EXPECT_FALSE(is_valid_username(std::string(65, 'u')));
}

TEST(SensorLiveness, IsOnlineForThreeIntervals) {
  Sensor s;
  const seconds interval{60};
  EXPECT_FALSE(is_online(s, kNow, interval));  // never seen
  s.last_seen = kNow - seconds{180};
  EXPECT_TRUE(is_online(s, kNow, interval));
  s.last_seen = kNow - seconds{180} - microseconds{1};
  EXPECT_FALSE(is_online(s, kNow, interval));
  s.last_seen = kNow + seconds{5};  // a sensor clock slightly ahead
  EXPECT_TRUE(is_online(s, kNow, interval));
  s.last_seen = kNow - seconds{100};
  EXPECT_FALSE(is_online(s, kNow, seconds{30}));
  s.last_heartbeat = kNow;  // liveness follows last_seen, not last_heartbeat
  EXPECT_FALSE(is_online(s, kNow, seconds{30}));
}

Result<SensorUpdate> update(std::string_view text) {
  return parse_sensor_update(json::parse(text));
}

TEST(SensorUpdateBody, EmptyObjectChangesNothing) {
  auto u = update("{}");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->empty());
}

TEST(SensorUpdateBody, ReadsEveryField) {
  auto u = update(R"({"name": "Booth 3", "description": "by the door", "is_active": false,
                      "latitude": 1.5, "longitude": -2, "city": "Oslo", "country": "NO",
                      "enabled_detectors": ["ble", "usb"]})");
  ASSERT_EQ(errors_of(u), Strings{"ok"});
  EXPECT_FALSE(u->empty());
  EXPECT_EQ(u->name, "Booth 3");
  EXPECT_EQ(u->description, std::optional<std::string>("by the door"));
  EXPECT_EQ(u->is_active, false);
  EXPECT_EQ(u->latitude, std::optional<double>(1.5));
  EXPECT_EQ(u->longitude, std::optional<double>(-2.0));
  EXPECT_EQ(u->city, std::optional<std::string>("Oslo"));
  EXPECT_EQ(u->country, std::optional<std::string>("NO"));
  EXPECT_EQ(u->enabled_detectors, (Strings{"ble", "usb"}));
}

TEST(SensorUpdateBody, NullClearsNullableFields) {
  auto u = update(R"({"description": null, "latitude": null, "longitude": null,
                      "city": null, "country": null})");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->empty());
  ASSERT_TRUE(u->description && u->latitude && u->longitude && u->city && u->country);
  EXPECT_FALSE(*u->description);
  EXPECT_FALSE(*u->latitude);
  EXPECT_FALSE(*u->city);
  EXPECT_FALSE(u->name);
  EXPECT_FALSE(u->is_active);
}

TEST(SensorUpdateBody, OnePresentFieldIsNotEmpty) {
  for (const char* text : {R"({"name": "x"})", R"({"is_active": true})", R"({"city": null})",
                           R"({"enabled_detectors": []})", R"({"longitude": 3})"}) {
    auto u = update(text);
    ASSERT_TRUE(u) << text;
    EXPECT_FALSE(u->empty()) << text;
  }
}

TEST(SensorUpdateBody, RefusesBadInput) {
  const std::pair<std::string, Strings> cases[] = {
      {R"({"name": ""})", {"body/name:string_too_short"}},
      {R"({"name": "   "})", {"body/name:value_error"}},
      {R"({"name": null})", {"body/name:string_type"}},
      {R"({"name": 5})", {"body/name:string_type"}},
      {R"({"name": ")" + std::string(129, 'n') + "\"}", {"body/name:string_too_long"}},
      {R"({"description": ")" + std::string(1025, 'd') + "\"}",
       {"body/description:string_too_long"}},
      {R"({"is_active": "yes"})", {"body/is_active:bool_type"}},
      {R"({"is_active": null})", {"body/is_active:bool_type"}},
      {R"({"latitude": 91})", {"body/latitude:less_than_equal"}},
      {R"({"longitude": "3"})", {"body/longitude:float_type"}},
      {R"({"longitude": true})", {"body/longitude:float_type"}},
      {R"({"city": 1})", {"body/city:string_type"}},
      {R"({"country": ")" + std::string(257, 'c') + "\"}", {"body/country:string_too_long"}},
      {R"({"enabled_detectors": "ble"})", {"body/enabled_detectors:list_type"}},
      {R"({"enabled_detectors": null})", {"body/enabled_detectors:list_type"}},
      {R"({"enabled_detectors": ["ble", 1]})", {"body/enabled_detectors/1:string_type"}},
      {R"({"enabled_detectors": [""]})", {"body/enabled_detectors/0:string_too_short"}},
      {R"({"enabled_detectors": [")" + std::string(65, 'e') + "\"]}",
       {"body/enabled_detectors/0:string_too_long"}},
      {R"({"sensor_id": "x"})", {"body/sensor_id:extra_forbidden"}},
      {R"({"name": 1, "is_active": 2})", {"body/name:string_type", "body/is_active:bool_type"}},
      {"[]", {"body:dict_type"}}};
  for (const auto& [text, expected] : cases) EXPECT_EQ(errors_of(update(text)), expected) << text;
}

TEST(SensorUpdateBody, LimitsTheDetectorList) {
  auto list = [](int n) {
    std::string s = R"({"enabled_detectors": [)";
    for (int i = 0; i < n; ++i) s += (i ? ",\"d" : "\"d") + std::to_string(i) + "\"";
    return s + "]}";
  };
  EXPECT_EQ(errors_of(update(list(32))), Strings{"ok"});
  EXPECT_EQ(errors_of(update(list(33))), Strings{"body/enabled_detectors:too_long"});
}

}  // namespace
}  // namespace honeyman::domain
