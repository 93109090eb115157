// Every filter and sort of GET /threats, offset and keyset paging, ingestion in both wire
// formats, acknowledgement and deletion — checked against a brute-force model of the data.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;

struct Model {
  std::string id, sensor, detector, severity, type, timestamp;
  double score;
  bool acked = false;
};

const char* const kDetectors[] = {"usb", "wifi", "ble", "network", "airdrop"};
const char* const kSeverities[] = {"critical", "high", "medium", "low", "info"};
int rank(const std::string& s) {
  for (int i = 0; i < 5; ++i)
    if (s == kSeverities[i]) return 4 - i;
  return -1;
}

class ThreatsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = Fleet::start().release();
    json::array batch;
    for (int i = 0; i < 60; ++i) {
      Model m;
      m.sensor = i % 2 ? "sensor-b" : "sensor-a";
      m.detector = kDetectors[i % 5];
      m.severity = kSeverities[(i / 5 + i) % 5];
      m.type = "type-" + std::to_string(i % 3);
      m.score = (i * 37 % 100) / 100.0;
      char ts[32];
      std::snprintf(ts, sizeof ts, "2026-08-08T%02d:%02d:00.000000Z", 10 + i / 60, i % 60);
      m.timestamp = ts;
      batch.push_back(json::object{{"sensor_id", m.sensor},
                                   {"detector_type", m.detector},
                                   {"severity", m.severity},
                                   {"threat_type", m.type},
                                   {"threat_score", m.score},
                                   {"timestamp", m.timestamp}});
      model_.push_back(m);
    }
    auto reply = fleet_->server->client().post("/api/v2/threats", batch, bearer(fleet_->analyst));
    ASSERT_EQ(reply.status, 201) << reply.body;
    auto body = reply.json();
    const auto& stored = body.as_array();
    ASSERT_EQ(stored.size(), 60u);
    for (std::size_t i = 0; i < 60; ++i) model_[i].id = std::string(stored[i].at("id").as_string());
    for (int i : {3, 14, 15, 40}) {
      auto ack = fleet_->server->client().request(
          "PUT", "/api/v2/threats/" + model_[i].id + "/acknowledge", R"({"notes":"triaged"})",
          {{"Authorization", "Bearer " + fleet_->analyst}, {"Content-Type", "application/json"}});
      ASSERT_EQ(ack.status, 200) << ack.body;
      model_[i].acked = true;
    }
  }
  static void TearDownTestSuite() { delete fleet_; }

  static json::object get(const std::string& query) {
    auto reply = fleet_->server->client().get("/api/v2/threats?" + query, bearer(fleet_->viewer));
    EXPECT_EQ(reply.status, 200) << query << ": " << reply.body;
    return reply.json().is_object() ? reply.json().as_object() : json::object{};
  }
  static std::set<std::string> ids(const json::object& page) {
    std::set<std::string> out;
    for (const auto& t : page.at("threats").as_array())
      out.insert(std::string(t.at("id").as_string()));
    return out;
  }
  static std::set<std::string> expect(const std::function<bool(const Model&)>& keep) {
    std::set<std::string> out;
    for (const auto& m : model_)
      if (keep(m)) out.insert(m.id);
    return out;
  }

  static Fleet* fleet_;
  static std::vector<Model> model_;
};
Fleet* ThreatsTest::fleet_ = nullptr;
std::vector<Model> ThreatsTest::model_;

TEST_F(ThreatsTest, EachFilterMatchesTheModel) {
  struct F {
    std::string query;
    std::function<bool(const Model&)> keep;
  };
  const std::vector<F> filters = {
      {"", [](const Model&) { return true; }},
      {"sensor_id=sensor-a", [](const Model& m) { return m.sensor == "sensor-a"; }},
      {"detector_type=wifi", [](const Model& m) { return m.detector == "wifi"; }},
      {"detector_type=WIFI&detector_type=ble",
       [](const Model& m) { return m.detector == "wifi" || m.detector == "ble"; }},
      {"threat_type=type-1", [](const Model& m) { return m.type == "type-1"; }},
      {"severity=critical", [](const Model& m) { return m.severity == "critical"; }},
      {"severity=critical&severity=low",
       [](const Model& m) { return m.severity == "critical" || m.severity == "low"; }},
      {"severity=high,info",
       [](const Model& m) { return m.severity == "high" || m.severity == "info"; }},
      {"start_time=2026-08-08T10:30:00Z",
       [](const Model& m) { return m.timestamp >= "2026-08-08T10:30"; }},
      {"end_time=2026-08-08T10:10:00Z",
       [](const Model& m) { return m.timestamp < "2026-08-08T10:10"; }},
      {"start_time=2026-08-08T10:10:00&end_time=2026-08-08T10:20:00",
       [](const Model& m) {
         return m.timestamp >= "2026-08-08T10:10" && m.timestamp < "2026-08-08T10:20";
       }},
      {"is_acknowledged=true", [](const Model& m) { return m.acked; }},
      {"is_acknowledged=false&sensor_id=sensor-b",
       [](const Model& m) { return !m.acked && m.sensor == "sensor-b"; }},
      {"sensor_id=sensor-a&severity=medium&detector_type=usb",
       [](const Model& m) {
         return m.sensor == "sensor-a" && m.severity == "medium" && m.detector == "usb";
       }},
  };
  for (const auto& f : filters) {
    auto page = get(f.query + (f.query.empty() ? "" : "&") + "page_size=1000");
    auto want = expect(f.keep);
    EXPECT_EQ(ids(page), want) << f.query;
    EXPECT_EQ(page.at("total").as_int64(), static_cast<std::int64_t>(want.size())) << f.query;
    EXPECT_TRUE(page.at("total_is_exact").as_bool()) << f.query;
  }
  auto fixed = fleet_->server->client().get("/api/v2/sensors/sensor-b/threats?page_size=1000",
                                            bearer(fleet_->viewer));
  EXPECT_EQ(ids(fixed.json().as_object()),
            expect([](const Model& m) { return m.sensor == "sensor-b"; }));
}

TEST_F(ThreatsTest, EverySortOrdersEveryRow) {
  using Key = std::function<std::string(const json::value&)>;
  auto text = [](const char* k) -> Key {
    return [k](const json::value& t) { return std::string(t.at(k).as_string()); };
  };
  const std::vector<std::pair<std::string, Key>> sorts = {
      {"timestamp", text("timestamp")},
      {"created_at", text("created_at")},
      {"threat_type", text("threat_type")},
      {"sensor_id", text("sensor_id")},
      {"detector_type", text("detector_type")},
      {"severity",
       [](const json::value& t) {
         return std::to_string(rank(std::string(t.at("severity").as_string())));
       }},
      {"threat_score",
       [](const json::value& t) {
         char b[16];
         std::snprintf(b, sizeof b, "%08.4f", t.at("threat_score").to_number<double>());
         return std::string(b);
       }},
  };
  for (const auto& [name, key] : sorts) {
    for (std::string order : {"asc", "desc"}) {
      auto page = get("sort_by=" + name + "&sort_order=" + order + "&page_size=1000");
      const auto& rows = page.at("threats").as_array();
      ASSERT_EQ(rows.size(), 60u) << name;
      for (std::size_t i = 1; i < rows.size(); ++i) {
        auto a = key(rows[i - 1]), b = key(rows[i]);
        EXPECT_TRUE(order == "asc" ? a <= b : a >= b)
            << name << " " << order << " at " << i << ": " << a << " then " << b;
      }
    }
  }
}

TEST_F(ThreatsTest, KeysetPagingWalksEverythingOnceInOffsetOrder) {
  for (std::string sort : {"timestamp", "severity", "threat_score", "sensor_id"}) {
    std::vector<std::string> by_offset, by_cursor;
    for (int page = 1; page <= 9; ++page) {
      auto body = get("sort_by=" + sort + "&page_size=7&page=" + std::to_string(page));
      for (const auto& t : body.at("threats").as_array())
        by_offset.emplace_back(t.at("id").as_string());
    }
    std::string cursor;
    for (int guard = 0; guard < 20; ++guard) {
      auto page =
          get("sort_by=" + sort + "&page_size=7" + (cursor.empty() ? "" : "&cursor=" + cursor));
      for (const auto& t : page.at("threats").as_array())
        by_cursor.emplace_back(t.at("id").as_string());
      if (page.at("next_cursor").is_null()) break;
      cursor = std::string(page.at("next_cursor").as_string());
    }
    EXPECT_EQ(by_cursor.size(), 60u) << sort;
    EXPECT_EQ(std::set<std::string>(by_cursor.begin(), by_cursor.end()).size(), 60u) << sort;
    EXPECT_EQ(by_cursor, by_offset) << sort;
  }
  // A cursor belongs to its sort: reusing it under another sort is refused.
  auto first = get("sort_by=timestamp&page_size=7");
  auto cursor = std::string(first.at("next_cursor").as_string());
  auto reply = fleet_->server->client().get("/api/v2/threats?sort_by=severity&cursor=" + cursor,
                                            bearer(fleet_->viewer));
  EXPECT_EQ(reply.status, 422) << reply.body;
}

TEST_F(ThreatsTest, WireSamplesAreNormalisedOnIngest) {
  auto client = fleet_->server->client();
  auto key = api_key(fleet_->sensor_a_key);
  auto agent = wire_sample("agent-threat.json").as_object();
  agent["sensor_id"] = "sensor-a";
  auto reply = client.post("/api/v2/threats", agent, key);
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto t = reply.json();
  EXPECT_EQ(t.at("detector_type"), "ble");
  EXPECT_EQ(t.at("severity"), "critical");
  EXPECT_EQ(t.at("latitude").to_number<double>(), 36.1147);
  EXPECT_EQ(t.at("matched_rules").at(0).at("name"), "Flipper Zero BLE Detection");
  EXPECT_EQ(t.at("raw_event").at("rssi"), -58);
  EXPECT_EQ(t.at("timestamp"), "2026-08-08T14:03:27.512904Z");
  auto fetched =
      client.get("/api/v2/threats/" + std::string(t.at("id").as_string()), bearer(fleet_->viewer));
  EXPECT_EQ(fetched.json(), t);

  auto canonical = wire_sample("canonical-threat.json").as_object();
  canonical["sensor_id"] = "sensor-a";
  reply = client.post("/api/v2/threats", canonical, key);
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(reply.json().at("mitre_techniques").at(0), "T1557");

  auto batch = wire_sample("agent-http-batch.json").as_object();
  batch["honeypot_id"] = "sensor-a";
  batch["data"].as_array()[0].as_object()["sensor_id"] = "sensor-a";
  reply = client.post("/api/v2/honeypot/data", batch, key);
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(reply.json().at("accepted"), 1);
}

// The numbers a sensor sent come back as people (and the old backend) write them, in the
// response body text itself and inside the sensor's own raw_event: 0.82, not 8.2E-1.
TEST_F(ThreatsTest, NumbersAreWrittenInPlainDecimal) {
  auto client = fleet_->server->client();
  auto body = std::string(R"({"sensor_id":"sensor-a","threat_type":"numbers","severity":"low",)") +
              R"("detector_type":"usb","threat_score":0.82,"latitude":36.1147,"longitude":0.0,)" +
              R"("raw_event":{"rssi_avg":-58.5,"ratio":0.82,"zero":0.0,"tiny":0.00001}})";
  auto reply =
      client.request("POST", "/api/v2/threats", body,
                     {{"X-API-Key", fleet_->sensor_a_key}, {"Content-Type", "application/json"}});
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto id = std::string(reply.json().at("id").as_string());
  auto fetched = client.get("/api/v2/threats/" + id, bearer(fleet_->viewer));
  for (const auto* text : {&reply.body, &fetched.body}) {
    EXPECT_NE(text->find(R"("threat_score":0.82)"), std::string::npos) << *text;
    EXPECT_NE(text->find(R"("latitude":36.1147)"), std::string::npos) << *text;
    EXPECT_NE(text->find(R"("longitude":0.0)"), std::string::npos) << *text;
    EXPECT_NE(text->find(R"({"rssi_avg":-58.5,"ratio":0.82,"zero":0.0,"tiny":1e-05})"),
              std::string::npos)
        << *text;
    EXPECT_EQ(text->find("E-"), std::string::npos) << *text;
  }
}

TEST_F(ThreatsTest, MissingLocationFallsBackToTheSensor) {
  auto client = fleet_->server->client();
  auto put = client.request(
      "PUT", "/api/v2/sensors/sensor-b", R"({"latitude":48.85,"longitude":2.35,"city":"Paris"})",
      {{"Authorization", "Bearer " + fleet_->admin}, {"Content-Type", "application/json"}});
  ASSERT_EQ(put.status, 200) << put.body;
  auto sample = wire_sample("agent-threat-nolocation.json").as_object();
  sample["sensor_id"] = "sensor-b";
  auto reply = client.post("/api/v2/threats", sample, api_key(fleet_->sensor_b_key));
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(reply.json().at("latitude").to_number<double>(), 48.85);
  EXPECT_EQ(reply.json().at("city"), "Paris");
}

TEST_F(ThreatsTest, AcknowledgeRecordsTheCallerNotTheBody) {
  auto client = fleet_->server->client();
  auto reply = client.request(
      "PUT", "/api/v2/threats/" + model_[7].id + "/acknowledge",
      R"({"notes":"checked","acknowledged_by":"someone-else"})",
      {{"Authorization", "Bearer " + fleet_->admin}, {"Content-Type", "application/json"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("acknowledged_by"), "root");
  EXPECT_EQ(reply.json().at("is_acknowledged"), true);
  EXPECT_FALSE(reply.json().at("acknowledged_at").is_null());
}

TEST_F(ThreatsTest, CountersAndStatsFollowIngestAndDelete) {
  auto client = fleet_->server->client();
  auto stats = [&] {
    return client.get("/api/v2/sensors/sensor-a/stats", bearer(fleet_->viewer)).json();
  };
  auto before = stats();
  auto reply = client.post("/api/v2/threats",
                           json::object{{"sensor_id", "sensor-a"},
                                        {"detector_type", "usb"},
                                        {"severity", "critical"},
                                        {"threat_type", "counter-probe"}},
                           api_key(fleet_->sensor_a_key));
  ASSERT_EQ(reply.status, 201);
  auto mid = stats();
  EXPECT_EQ(mid.at("total_threats").as_int64(), before.at("total_threats").as_int64() + 1);
  EXPECT_EQ(mid.at("threats_last_24h").as_int64(), before.at("threats_last_24h").as_int64() + 1);
  EXPECT_EQ(mid.at("threats_by_severity").at("critical").as_int64(),
            before.at("threats_by_severity").at("critical").as_int64() + 1);
  auto sensor = client.get("/api/v2/sensors/sensor-a", bearer(fleet_->viewer)).json();
  EXPECT_EQ(sensor.at("total_threats_detected"), mid.at("total_threats"));
  EXPECT_EQ(sensor.at("is_online"), true);  // a threat counts as a sign of life
  ASSERT_EQ(client
                .del("/api/v2/threats/" + std::string(reply.json().at("id").as_string()),
                     bearer(fleet_->analyst))
                .status,
            200);
  EXPECT_EQ(stats().at("total_threats"), before.at("total_threats"));
}

// GET /sensors is served from a per-instance cache (SENSORS_CACHE_MS, 1 s): an edit made through
// this instance shows at once, new threats within the TTL.
TEST_F(ThreatsTest, SensorListShowsEditsAtOnceAndCountsSoon) {
  auto client = fleet_->server->client();
  auto sensor_a = [&]() -> json::object {
    auto reply = client.get("/api/v2/sensors?page_size=100", bearer(fleet_->viewer));
    auto body = reply.json();
    for (const auto& s : body.at("sensors").as_array())
      if (s.at("sensor_id") == "sensor-a") return s.as_object();
    return {};
  };
  auto before = sensor_a();
  ASSERT_FALSE(before.empty());
  auto renamed = client.request(
      "PUT", "/api/v2/sensors/sensor-a", R"({"name":"Renamed A"})",
      {{"Authorization", "Bearer " + fleet_->admin}, {"Content-Type", "application/json"}});
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(sensor_a().at("name"), "Renamed A");

  auto total = before.at("total_threats_detected").as_int64();
  auto reply = client.post("/api/v2/threats",
                           json::object{{"sensor_id", "sensor-a"},
                                        {"detector_type", "usb"},
                                        {"severity", "low"},
                                        {"threat_type", "list-probe"}},
                           api_key(fleet_->sensor_a_key));
  ASSERT_EQ(reply.status, 201);
  EXPECT_TRUE(
      eventually([&] { return sensor_a().at("total_threats_detected").as_int64() == total + 1; }));
}

}  // namespace
}  // namespace honeyman::testing
