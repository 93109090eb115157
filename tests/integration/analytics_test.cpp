// The six analytics endpoints against the real binary: shapes and values on a small known data
// set posted through POST /threats, and query validation (422). RBAC is in rbac_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <map>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;
using Seconds = std::chrono::sys_seconds;

struct Posted {
  std::string sensor, severity, detector, type;
  std::chrono::seconds age;  // before the suite's start
  double score;
};

// Ages are minutes or more from every window edge the tests use, so the seconds between the
// suite's clock and the server's never move a threat across one.
const std::vector<Posted> kThreats = {
    {"sensor-a", "critical", "usb", "rubber_ducky", 10min, 0.9},
    {"sensor-a", "critical", "usb", "rubber_ducky", 20min, 0.8},
    {"sensor-a", "high", "wifi", "deauth", 3h, 0.6},
    {"sensor-b", "medium", "ble", "flipper_zero", 5h, 0.4},
    {"sensor-b", "low", "ble", "flipper_zero", 30h, 0.2},
    {"sensor-b", "info", "network", "port_scan", 10 * 24h, 0.1},
    {"sensor-a", "high", "network", "port_scan", 40 * 24h, 0.5},
};

class AnalyticsApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = Fleet::start().release();
    now_ = std::chrono::floor<std::chrono::seconds>(Clock::now());
    auto client = fleet_->server->client();
    auto place = client.put(
        "/api/v2/sensors/sensor-a",
        json::object{
            {"latitude", 36.11}, {"longitude", -115.17}, {"city", "Las Vegas"}, {"country", "US"}},
        bearer(fleet_->admin));
    ASSERT_EQ(place.status, 200) << place.body;
    json::array batch;
    for (const auto& t : kThreats)
      batch.push_back(json::object{{"sensor_id", t.sensor},
                                   {"severity", t.severity},
                                   {"detector_type", t.detector},
                                   {"threat_type", t.type},
                                   {"threat_score", t.score},
                                   {"timestamp", iso_time(now_ - t.age)}});
    auto reply = client.post("/api/v2/threats", batch, bearer(fleet_->analyst));
    ASSERT_EQ(reply.status, 201) << reply.body;
  }
  static void TearDownTestSuite() { delete fleet_; }

  static json::value get(const std::string& target, int expected_status = 200) {
    auto reply =
        fleet_->server->client().get("/api/v2/analytics/" + target, bearer(fleet_->viewer));
    EXPECT_EQ(reply.status, expected_status) << target << ": " << reply.body;
    return reply.json();
  }
  static std::int64_t sum_counts(const json::value& trend) {
    std::int64_t n = 0;
    for (const auto& p : trend.at("data_points").as_array())
      n += p.at("count").to_number<std::int64_t>();
    return n;
  }
  // The (loc[1], type) of each error of a 422 answer.
  static std::vector<std::pair<std::string, std::string>> errors(const std::string& target) {
    auto body = get(target, 422);
    std::vector<std::pair<std::string, std::string>> out;
    if (!body.is_object()) return out;
    for (const auto& e : body.at("detail").as_array())
      out.emplace_back(std::string(e.at("loc").as_array().at(1).as_string()),
                       std::string(e.at("type").as_string()));
    return out;
  }

  static Fleet* fleet_;
  static Seconds now_;
};
Fleet* AnalyticsApiTest::fleet_ = nullptr;
Seconds AnalyticsApiTest::now_;

double as_double(const json::value& v) {
  return v.to_number<double>();
}

TEST_F(AnalyticsApiTest, Overview) {
  auto o = get("overview");
  ASSERT_TRUE(o.is_object());
  EXPECT_EQ(o.as_object().size(), 10u);
  EXPECT_EQ(o.at("total_sensors"), 2);
  EXPECT_EQ(o.at("active_sensors"), 2);
  EXPECT_EQ(o.at("online_sensors"), 2);  // both were just heard from (threats received now)
  EXPECT_EQ(o.at("total_threats"), 7);
  EXPECT_EQ(o.at("threats_last_24h"), 4);
  EXPECT_EQ(o.at("threats_last_7d"), 5);
  EXPECT_EQ(o.at("critical_threats"), 2);
  EXPECT_EQ(o.at("high_threats"), 1);
  EXPECT_DOUBLE_EQ(as_double(o.at("threat_velocity")), 2.0);
  EXPECT_NEAR(as_double(o.at("avg_threat_score")), (0.9 + 0.8 + 0.6 + 0.4) / 4, 0.001);
}

TEST_F(AnalyticsApiTest, Velocity) {
  auto v = get("velocity");
  ASSERT_TRUE(v.is_object());
  EXPECT_DOUBLE_EQ(as_double(v.at("current_rate")), 2.0);
  EXPECT_NEAR(as_double(v.at("avg_rate_24h")), 4.0 / 24, 0.005);
  EXPECT_NEAR(as_double(v.at("avg_rate_7d")), 5.0 / 168, 0.005);
  EXPECT_EQ(v.at("trend"), "increasing");  // 2/h against 0.17/h on average
  // The busiest clock hour of the last 7 days; the latest one on ties.
  std::map<Seconds, int> hours;
  for (const auto& t : kThreats)
    if (t.age < 7 * 24h) ++hours[std::chrono::floor<std::chrono::hours>(now_ - t.age)];
  auto peak = hours.begin();
  for (auto it = hours.begin(); it != hours.end(); ++it)
    if (it->second >= peak->second) peak = it;
  EXPECT_DOUBLE_EQ(as_double(v.at("peak_rate")), peak->second);
  EXPECT_EQ(std::string(v.at("peak_timestamp").as_string()).substr(0, 19),
            iso_time(peak->first).substr(0, 19));
}

TEST_F(AnalyticsApiTest, HourlyTrendIsZeroFilledOverTheLastDay) {
  auto t = get("trends?period=hourly");
  ASSERT_TRUE(t.is_object());
  EXPECT_EQ(t.at("period"), "hourly");
  const auto& points = t.at("data_points").as_array();
  ASSERT_GE(points.size(), 24u);
  ASSERT_LE(points.size(), 25u);
  EXPECT_EQ(sum_counts(t), 4);
  for (const auto& p : points) {
    auto ts = std::string(p.at("timestamp").as_string());
    EXPECT_EQ(ts.substr(13), ":00:00.000000Z") << "hour buckets start on the hour";
    const auto& s = p.at("severity").as_object();
    std::int64_t by_severity = 0;
    for (const char* name : {"critical", "high", "medium", "low", "info"})
      by_severity += s.at(name).to_number<std::int64_t>();
    EXPECT_EQ(by_severity, p.at("count").to_number<std::int64_t>());
  }
  auto hour = get("trends?period=hour");  // the short names are accepted too
  EXPECT_EQ(hour.at("period"), "hourly");
}

TEST_F(AnalyticsApiTest, DailyAndWeeklyTrendsWithWindowsAndSensorFilter) {
  auto start = iso_time(now_ - 40 * 24h - 1h), end = iso_time(now_);
  auto daily = get("trends?period=daily&start_time=" + start + "&end_time=" + end);
  EXPECT_EQ(std::string(daily.at("start_time").as_string()).substr(0, 19), start.substr(0, 19));
  EXPECT_EQ(std::string(daily.at("end_time").as_string()).substr(0, 19), end.substr(0, 19));
  EXPECT_EQ(sum_counts(daily), 7);
  EXPECT_GE(daily.at("data_points").as_array().size(), 41u);
  EXPECT_EQ(sum_counts(get("trends?period=day")), 6);     // default 30 days
  EXPECT_EQ(sum_counts(get("trends?period=weekly")), 7);  // default 90 days
  const auto weekly = get("trends?period=week");
  for (const auto& p : weekly.at("data_points").as_array()) {
    // Weeks start on Monday 00:00 UTC.
    std::tm tm{};
    auto ts = std::string(p.at("timestamp").as_string());
    strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    EXPECT_EQ(tm.tm_wday, 1) << ts;
    EXPECT_EQ(ts.substr(10), "T00:00:00.000000Z");
  }
  EXPECT_EQ(sum_counts(get("trends?period=daily&sensor_id=sensor-b")), 3);
  EXPECT_EQ(sum_counts(get("trends?period=daily&sensor_id=nobody")), 0);
  // A window with nothing in it is all zeros, not an empty list.
  auto empty = get("trends?period=hourly&start_time=" + iso_time(now_ - 60 * 24h) +
                   "&end_time=" + iso_time(now_ - 59 * 24h));
  EXPECT_GE(empty.at("data_points").as_array().size(), 24u);  // 25 unless `now` is on the hour
  EXPECT_LE(empty.at("data_points").as_array().size(), 25u);
  EXPECT_EQ(sum_counts(empty), 0);
}

TEST_F(AnalyticsApiTest, TopThreats) {
  auto top = get("top-threats");  // last 24 h
  ASSERT_TRUE(top.is_array());
  ASSERT_EQ(top.as_array().size(), 3u);
  EXPECT_EQ(top.at(0), (json::value{{"threat_type", "rubber_ducky"},
                                    {"count", 2},
                                    {"percentage", 50.0},
                                    {"severity", "critical"}}));
  EXPECT_EQ(top.at(1).at("threat_type"), "deauth");  // ties: by name
  EXPECT_EQ(top.at(2).at("threat_type"), "flipper_zero");
  EXPECT_DOUBLE_EQ(as_double(top.at(2).at("percentage")), 25.0);
  EXPECT_EQ(get("top-threats?limit=1").as_array().size(), 1u);
  auto month = get("top-threats?limit=50&start_time=" + iso_time(now_ - 30 * 24h));
  ASSERT_EQ(month.as_array().size(), 4u);
  EXPECT_EQ(month.at(0).at("threat_type"), "flipper_zero");
  EXPECT_EQ(month.at(0).at("severity"), "medium");  // one medium, one low: the graver wins
  EXPECT_EQ(month.at(1).at("threat_type"), "rubber_ducky");
}

TEST_F(AnalyticsApiTest, TopSensors) {
  auto top = get("top-sensors");
  ASSERT_TRUE(top.is_array());
  ASSERT_EQ(top.as_array().size(), 2u);
  EXPECT_EQ(top.at(0), (json::value{{"sensor_id", "sensor-a"},
                                    {"sensor_name", "Sensor A"},
                                    {"threat_count", 3},
                                    {"city", "Las Vegas"},
                                    {"country", "US"}}));
  EXPECT_EQ(top.at(1).at("sensor_id"), "sensor-b");
  EXPECT_EQ(top.at(1).at("threat_count"), 1);
  EXPECT_TRUE(top.at(1).at("city").is_null());
  EXPECT_EQ(get("top-sensors?limit=1").as_array().size(), 1u);
  auto week = get("top-sensors?start_time=" + iso_time(now_ - 7 * 24h));
  EXPECT_EQ(week.at(1).at("threat_count"), 2);
}

TEST_F(AnalyticsApiTest, Map) {
  auto map = get("map");  // sensor-b has no location: not on the map
  ASSERT_TRUE(map.is_array());
  ASSERT_EQ(map.as_array().size(), 1u);
  const auto& a = map.at(0);
  EXPECT_EQ(a.at("sensor_id"), "sensor-a");
  EXPECT_DOUBLE_EQ(as_double(a.at("latitude")), 36.11);
  EXPECT_DOUBLE_EQ(as_double(a.at("longitude")), -115.17);
  EXPECT_EQ(a.at("city"), "Las Vegas");
  EXPECT_EQ(a.at("threat_count"), 3);
  EXPECT_EQ(a.at("severity_breakdown"),
            (json::value{{"critical", 2}, {"high", 1}, {"medium", 0}, {"low", 0}, {"info", 0}}));
  auto critical = get("map?severity=critical");
  EXPECT_EQ(critical.at(0).at("threat_count"), 2);
  EXPECT_EQ(get("map?severity=medium").as_array().size(), 0u);
  auto old =
      get("map?start_time=" + iso_time(now_ - 41 * 24h) + "&end_time=" + iso_time(now_ - 39 * 24h));
  EXPECT_EQ(old.at(0).at("threat_count"), 1);
}

TEST_F(AnalyticsApiTest, BadQueriesAre422) {
  using Errors = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(errors("trends?period=monthly"), (Errors{{"period", "enum"}}));
  EXPECT_EQ(errors("top-threats?limit=0"), (Errors{{"limit", "greater_than_equal"}}));
  EXPECT_EQ(errors("top-sensors?limit=51"), (Errors{{"limit", "less_than_equal"}}));
  EXPECT_EQ(errors("top-sensors?limit=ten"), (Errors{{"limit", "int_parsing"}}));
  EXPECT_EQ(errors("map?start_time=yesterday"), (Errors{{"start_time", "datetime_parsing"}}));
  EXPECT_EQ(errors("top-threats?end_time=2026-13-01T00:00:00Z"),
            (Errors{{"end_time", "datetime_parsing"}}));
  EXPECT_EQ(errors("trends?start_time=2026-08-09T00:00:00Z&end_time=2026-08-08T00:00:00Z"),
            (Errors{{"end_time", "value_error"}}));
  EXPECT_EQ(errors("map?severity=bogus"), (Errors{{"severity", "enum"}}));
  EXPECT_EQ(errors("trends?sensor_id=no%2Fslash"),
            (Errors{{"sensor_id", "string_pattern_mismatch"}}));
  EXPECT_EQ(errors("trends?period=hourly&start_time=2001-01-01T00:00:00Z"),
            (Errors{{"start_time", "value_error"}}));  // too many buckets
  EXPECT_EQ(errors("top-threats?limit=0&start_time=x"),
            (Errors{{"limit", "greater_than_equal"}, {"start_time", "datetime_parsing"}}));
}

}  // namespace
}  // namespace honeyman::testing
