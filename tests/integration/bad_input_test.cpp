// Bad input on every write route: malformed JSON, wrong types, out-of-range values, oversized
// bodies, unknown fields, spoofed sensor ids. Each gets a clear 4xx, the server stays healthy,
// and nothing is half-written.
#include <gtest/gtest.h>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fleet_ = Fleet::start().release(); }
  static void TearDownTestSuite() { delete fleet_; }

  static std::int64_t threat_count() {
    auto reply = fleet_->server->client().get("/api/v2/threats?page_size=1", bearer(fleet_->admin));
    EXPECT_EQ(reply.status, 200);
    return reply.json().at("total").as_int64();
  }
  static json::value sensor(const std::string& id) {
    return fleet_->server->client().get("/api/v2/sensors/" + id, bearer(fleet_->admin)).json();
  }
  static Fleet* fleet_;
};
Fleet* BadInputTest::fleet_ = nullptr;

struct Case {
  std::string name, method, target, body;
  enum { kAdmin, kAnalyst, kSensorA } who;
  int status;
  std::string loc;  // serialized first "loc" expected for 422, "" to skip
};

std::string agent_threat(const std::string& override_json) {
  auto base =
      R"({"timestamp":"2026-08-08T14:03:27.512904","sensor_id":"sensor-a","source":"BleDetector",)"
      R"("threat_type":"flipper_zero","threat_score":0.82,"risk_level":"critical"})";
  auto v = json::parse(base).as_object();
  auto overrides = json::parse(override_json);
  for (auto& [k, val] : overrides.as_object()) v[k] = val;
  return json::serialize(v);
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // POST /threats
      {"threat: malformed JSON", "POST", "/api/v2/threats", R"({"sensor_id": "sensor-a",)",
       Case::kSensorA, 422, ""},
      {"threat: not an object", "POST", "/api/v2/threats", R"("hello")", Case::kSensorA, 422,
       R"(["body"])"},
      {"threat: score as string", "POST", "/api/v2/threats",
       agent_threat(R"({"threat_score":"high"})"), Case::kSensorA, 422,
       R"(["body","threat_score"])"},
      {"threat: score as bool", "POST", "/api/v2/threats", agent_threat(R"({"threat_score":true})"),
       Case::kSensorA, 422, R"(["body","threat_score"])"},
      {"threat: score out of range", "POST", "/api/v2/threats",
       agent_threat(R"({"threat_score":7.5})"), Case::kSensorA, 422, R"(["body","threat_score"])"},
      {"threat: latitude out of range", "POST", "/api/v2/threats",
       agent_threat(R"({"geolocation":{"lat":91.0,"lon":0.0}})"), Case::kSensorA, 422, ""},
      {"threat: bad severity", "POST", "/api/v2/threats",
       agent_threat(R"({"risk_level":"apocalyptic"})"), Case::kSensorA, 422,
       R"(["body","risk_level"])"},
      {"threat: bad timestamp", "POST", "/api/v2/threats",
       agent_threat(R"({"timestamp":"yesterday"})"), Case::kSensorA, 422,
       R"(["body","timestamp"])"},
      // A far-future time is not refused: it is stored at the receipt time (clock-skew policy,
      // hardening_ingest_test.cpp).
      {"threat: unknown field", "POST", "/api/v2/threats",
       agent_threat(R"({"is_acknowledged":true})"), Case::kSensorA, 422,
       R"(["body","is_acknowledged"])"},
      {"threat: spoofed sensor", "POST", "/api/v2/threats",
       agent_threat(R"({"sensor_id":"sensor-b"})"), Case::kSensorA, 403, ""},
      {"threat: wildcard sensor id", "POST", "/api/v2/threats",
       agent_threat(R"({"sensor_id":"sensor/#"})"), Case::kAnalyst, 422, R"(["body","sensor_id"])"},
      {"threat: unknown sensor (user)", "POST", "/api/v2/threats",
       agent_threat(R"({"sensor_id":"ghost"})"), Case::kAnalyst, 422, R"(["body","sensor_id"])"},
      {"threat: empty array", "POST", "/api/v2/threats", "[]", Case::kSensorA, 422, ""},
      {"threat: one bad item in array", "POST", "/api/v2/threats",
       "[" + agent_threat("{}") + "," + agent_threat(R"({"threat_score":-1})") + "]",
       Case::kSensorA, 422, R"(["body",1,"threat_score"])"},
      {"threat: missing required", "POST", "/api/v2/threats",
       R"({"sensor_id":"sensor-a","detector_type":"usb"})", Case::kSensorA, 422, ""},
      // POST /honeypot/data
      {"honeypot: wrong type", "POST", "/api/v2/honeypot/data",
       R"({"type":"threats","honeypot_id":"sensor-a","data":{}})", Case::kSensorA, 422,
       R"(["body","data"])"},
      {"honeypot: spoofed id", "POST", "/api/v2/honeypot/data",
       R"({"type":"threats","honeypot_id":"sensor-b","data":[]})", Case::kSensorA, 403, ""},
      {"honeypot: bad item", "POST", "/api/v2/honeypot/data",
       R"({"type":"threats","honeypot_id":"sensor-a","data":[)" +
           agent_threat(R"({"threat_score":"x"})") + "]}",
       Case::kSensorA, 422, R"(["body","data",0,"threat_score"])"},
      {"honeypot: unknown field", "POST", "/api/v2/honeypot/data",
       R"({"type":"threats","honeypot_id":"sensor-a","data":[],"x":1})", Case::kSensorA, 422,
       R"(["body","x"])"},
      // POST /sensors/{id}/heartbeat
      {"heartbeat: malformed", "POST", "/api/v2/sensors/sensor-a/heartbeat", "{", Case::kSensorA,
       422, ""},
      {"heartbeat: wrong type", "POST", "/api/v2/sensors/sensor-a/heartbeat",
       R"({"status":"online","metrics":"fine"})", Case::kSensorA, 422, R"(["body","metrics"])"},
      {"heartbeat: unknown field", "POST", "/api/v2/sensors/sensor-a/heartbeat",
       R"({"status":"online","bogus":1})", Case::kSensorA, 422, R"(["body","bogus"])"},
      {"heartbeat: spoofed body", "POST", "/api/v2/sensors/sensor-a/heartbeat",
       R"({"sensor_id":"sensor-b","is_online":true})", Case::kSensorA, 403, ""},
      // PUT /sensors/{id}
      {"sensor update: wrong type", "PUT", "/api/v2/sensors/sensor-a", R"({"is_active":"yes"})",
       Case::kAdmin, 422, R"(["body","is_active"])"},
      {"sensor update: out of range", "PUT", "/api/v2/sensors/sensor-a", R"({"latitude":123})",
       Case::kAdmin, 422, R"(["body","latitude"])"},
      {"sensor update: unknown field", "PUT", "/api/v2/sensors/sensor-a",
       R"({"total_threats_detected":0})", Case::kAdmin, 422,
       R"(["body","total_threats_detected"])"},
      {"sensor update: malformed", "PUT", "/api/v2/sensors/sensor-a", R"({"name":)", Case::kAdmin,
       422, ""},
      {"sensor update: bad path id", "PUT", "/api/v2/sensors/bad%23id", R"({"name":"x"})",
       Case::kAdmin, 422, R"(["path","sensor_id"])"},
      {"sensor update: unknown sensor", "PUT", "/api/v2/sensors/ghost", R"({"name":"x"})",
       Case::kAdmin, 404, ""},
      {"sensor delete: bad path id", "DELETE", "/api/v2/sensors/a+b", "", Case::kAdmin, 422,
       R"(["path","sensor_id"])"},
      // threats by id
      {"acknowledge: not a uuid", "PUT", "/api/v2/threats/42/acknowledge", "{}", Case::kAnalyst,
       422, R"(["path","threat_id"])"},
      {"acknowledge: unknown", "PUT",
       "/api/v2/threats/00000000-0000-4000-8000-000000000000/acknowledge", "{}", Case::kAnalyst,
       404, ""},
      {"acknowledge: notes wrong type", "PUT",
       "/api/v2/threats/00000000-0000-4000-8000-000000000000/acknowledge", R"({"notes":5})",
       Case::kAnalyst, 422, R"(["body","notes"])"},
      {"delete threat: not a uuid", "DELETE", "/api/v2/threats/xyz", "", Case::kAnalyst, 422,
       R"(["path","threat_id"])"},
      {"get threat: not a uuid", "GET", "/api/v2/threats/xyz", "", Case::kAnalyst, 422,
       R"(["path","threat_id"])"},
      // auth
      {"login: wrong types", "POST", "/api/v2/auth/login", R"({"username":["root"],"password":1})",
       Case::kAdmin, 422, R"(["body","username"])"},
      {"login: unknown field", "POST", "/api/v2/auth/login",
       R"({"username":"root","password":"x","admin":true})", Case::kAdmin, 422,
       R"(["body","admin"])"},
      {"refresh: wrong type", "POST", "/api/v2/auth/refresh", R"({"refresh_token":42})",
       Case::kAdmin, 422, R"(["body","refresh_token"])"},
      // queries
      {"threats: bad sort", "GET", "/api/v2/threats?sort_by=__class__", "", Case::kAdmin, 422,
       R"(["query","sort_by"])"},
      {"threats: bad page size", "GET", "/api/v2/threats?page_size=5000", "", Case::kAdmin, 422,
       R"(["query","page_size"])"},
      {"threats: bad time", "GET", "/api/v2/threats?start_time=soon", "", Case::kAdmin, 422,
       R"(["query","start_time"])"},
      {"threats: bad cursor", "GET", "/api/v2/threats?cursor=bm9wZQ", "", Case::kAdmin, 422,
       R"(["query","cursor"])"},
      {"sensors: bad page", "GET", "/api/v2/sensors?page=0", "", Case::kAdmin, 422,
       R"(["query","page"])"},
  };
  return all;
}

TEST_F(BadInputTest, EveryCaseIsRefusedClearlyAndWritesNothing) {
  auto before_threats = threat_count();
  auto before_sensor = sensor("sensor-a");
  auto client = fleet_->server->client();
  for (const auto& c : cases()) {
    Headers h = c.who == Case::kAdmin     ? bearer(fleet_->admin)
                : c.who == Case::kAnalyst ? bearer(fleet_->analyst)
                                          : api_key(fleet_->sensor_a_key);
    h.push_back({"Content-Type", "application/json"});
    auto reply = client.request(c.method, c.target, c.body, h);
    EXPECT_EQ(reply.status, c.status) << c.name << ": " << reply.body;
    auto body = reply.json();
    ASSERT_TRUE(body.is_object() && body.as_object().contains("detail"))
        << c.name << ": " << reply.body;
    if (c.status == 422) {
      ASSERT_TRUE(body.at("detail").is_array()) << c.name;
      const auto& first = body.at("detail").at(0).as_object();
      EXPECT_TRUE(first.contains("msg") && first.contains("type")) << c.name;
      if (!c.loc.empty()) {
        bool found = false;
        for (const auto& e : body.at("detail").as_array())
          found = found || json::serialize(e.at("loc")) == c.loc;
        EXPECT_TRUE(found) << c.name << ": expected loc " << c.loc << " in " << reply.body;
      }
    } else {
      EXPECT_TRUE(body.at("detail").is_string()) << c.name;
    }
    ASSERT_EQ(client.get("/health").status, 200) << "server unhealthy after " << c.name;
  }
  EXPECT_EQ(threat_count(), before_threats);
  auto after_sensor = sensor("sensor-a");
  for (auto key : {"name", "is_active", "latitude", "description", "total_threats_detected"})
    EXPECT_EQ(after_sensor.at(key), before_sensor.at(key)) << key;
}

TEST_F(BadInputTest, OversizedBodiesAre413AndTheServerCarriesOn) {
  auto client = fleet_->server->client();
  std::string huge =
      R"({"sensor_id":"sensor-a","threat_type":")" + std::string(2 * 1024 * 1024, 'x') + "\"}";
  for (auto target :
       {"/api/v2/threats", "/api/v2/honeypot/data", "/api/v2/sensors/sensor-a/heartbeat"}) {
    auto reply =
        client.request("POST", target, huge,
                       {{"Content-Type", "application/json"}, {"X-API-Key", fleet_->sensor_a_key}});
    EXPECT_EQ(reply.status, 413) << target;
  }
  auto login =
      client.request("POST", "/api/v2/auth/login", huge, {{"Content-Type", "application/json"}});
  EXPECT_EQ(login.status, 413);
  EXPECT_EQ(client.get("/health").status, 200);
}

TEST_F(BadInputTest, OversizedRawEventIsRefused) {
  auto client = fleet_->server->client();
  auto body = json::parse(agent_threat("{}")).as_object();
  body["raw_data"] = json::object{{"blob", std::string(70 * 1024, 'y')}};
  auto reply = client.post("/api/v2/threats", body, api_key(fleet_->sensor_a_key));
  EXPECT_EQ(reply.status, 422) << reply.body;
}

TEST_F(BadInputTest, MalformedHttpIsRefused) {
  auto client = fleet_->server->client();
  auto reply = client.raw("GARBAGE\r\n\r\n");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(client.get("/health").status, 200);
}

TEST_F(BadInputTest, UnknownRoutesAndMethods) {
  auto client = fleet_->server->client();
  EXPECT_EQ(client.get("/api/v2/nope", bearer(fleet_->admin)).status, 404);
  EXPECT_EQ(client.request("PATCH", "/api/v2/threats", "", bearer(fleet_->admin)).status, 405);
}

}  // namespace
}  // namespace honeyman::testing
