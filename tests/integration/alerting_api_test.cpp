// The alerting and sensor-command routes' access rules and input checks (SPEC §8, issue #16):
// viewers and analysts are refused every admin route (and everyone without a token), bad bodies
// and queries are 422 naming the field and create nothing, unknown ids are 404.
#include <gtest/gtest.h>

#include "integration/alerting_support.hpp"

namespace honeyman::testing::alerting_it {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class AlertingApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = AlertFleet::start().release();
    AlertApi api(*fleet_->server, fleet_->admin);
    auto dest = api.webhook("rbac", "http://127.0.0.1:9/hook", "k");
    destination_ = new std::string(id_of(dest));
    auto rule = api.simple_rule("rbac", {"rbac_probe"}, {*destination_});
    rule_ = new std::string(id_of(rule));
  }
  static void TearDownTestSuite() {
    delete rule_;
    delete destination_;
    delete fleet_;
  }
  static AlertApi as(const std::string& token) { return AlertApi(*fleet_->server, token); }
  static std::size_t count(const std::string& path, const std::string& key) {
    auto reply = as(fleet_->admin).call("GET", path);
    EXPECT_EQ(reply.status, 200) << path << ": " << reply.body;
    return reply.status == 200 ? reply.json().at(key).as_array().size() : 0;
  }

  static AlertFleet* fleet_;
  static std::string *destination_, *rule_;
};
AlertFleet* AlertingApiTest::fleet_ = nullptr;
std::string* AlertingApiTest::destination_ = nullptr;
std::string* AlertingApiTest::rule_ = nullptr;

struct Route {
  std::string method, target, body;
};

TEST_F(AlertingApiTest, EveryAdminRouteRefusesViewersAnalystsAndAnonymous) {
  const std::string dest = "/api/v2/alerts/destinations/" + *destination_;
  const std::string rule = "/api/v2/alerts/rules/" + *rule_;
  const std::string hook = R"({"name":"x","kind":"webhook","url":"http://127.0.0.1:9/x"})";
  const std::vector<Route> routes = {
      {"GET", "/api/v2/alerts/destinations", ""},
      {"POST", "/api/v2/alerts/destinations", hook},
      {"GET", dest, ""},
      {"PATCH", dest, R"({"name":"taken over"})"},
      {"DELETE", dest, ""},
      {"POST", dest + "/test", ""},
      {"GET", "/api/v2/alerts/rules", ""},
      {"POST", "/api/v2/alerts/rules",
       R"({"name":"x","match":{},"cooldown_seconds":0,"destination_ids":[")" + *destination_ +
           R"("]})"},
      {"GET", rule, ""},
      {"PATCH", rule, R"({"enabled":false})"},
      {"DELETE", rule, ""},
      {"GET", "/api/v2/alerts/deliveries", ""},
      {"GET", "/api/v2/alerts/deliveries?status=pending", ""},
      {"POST", "/api/v2/sensors/sensor-a/commands", R"({"command":"reboot"})"},
      {"POST", "/api/v2/sensors/sensor-a/rules/update", R"({"rules_version":"1"})"},
      {"GET", "/api/v2/sensors/sensor-a/commands", ""},
  };
  auto anonymous = fleet_->server->client();
  for (const auto& r : routes) {
    for (const auto* token : {&fleet_->viewer, &fleet_->analyst}) {
      auto reply = as(*token).call(r.method, r.target, r.body);
      EXPECT_EQ(reply.status, 403)
          << r.method << " " << r.target << " as "
          << (token == &fleet_->viewer ? "viewer" : "analyst") << ": " << reply.body;
    }
    HeaderList headers;
    if (!r.body.empty()) headers.push_back({"Content-Type", "application/json"});
    EXPECT_EQ(anonymous.request(r.method, r.target, r.body, headers).status, 401)
        << r.method << " " << r.target;
    // An API key is a sensor's, not a user's.
    auto sensor = api_key(fleet_->sensor_a_key);
    sensor.insert(sensor.end(), headers.begin(), headers.end());
    auto as_sensor = anonymous.request(r.method, r.target, r.body, sensor).status;
    EXPECT_TRUE(as_sensor == 401 || as_sensor == 403)
        << r.method << " " << r.target << ": " << as_sensor;
  }
  // Nothing the refused requests asked for happened.
  auto admin = as(fleet_->admin);
  auto d = admin.call("GET", dest);
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.json().at("name"), "rbac");
  auto rl = admin.call("GET", rule);
  ASSERT_EQ(rl.status, 200);
  EXPECT_EQ(rl.json().at("enabled"), true);
  EXPECT_EQ(count("/api/v2/alerts/destinations", "destinations"), 1u);
  EXPECT_EQ(count("/api/v2/alerts/rules", "rules"), 1u);
  EXPECT_EQ(count("/api/v2/sensors/sensor-a/commands", "commands"), 0u);
  // Reading alerts is every user's.
  for (const auto* token : {&fleet_->viewer, &fleet_->analyst, &fleet_->admin})
    EXPECT_EQ(as(*token).call("GET", "/api/v2/alerts").status, 200);
  EXPECT_EQ(anonymous.get("/api/v2/alerts").status, 401);
}

struct BadCase {
  std::string name, method, target, body;
  std::string loc;  // the serialized "loc" one of the errors must have; "" to skip
};

std::vector<BadCase> bad_cases(const std::string& destination, const std::string& rule) {
  const std::string dest = "/api/v2/alerts/destinations", rules = "/api/v2/alerts/rules";
  const std::string long_text(20'000, 'n');
  auto rule_with = [&](const std::string& fields) {
    return R"({"name":"r","match":{},"cooldown_seconds":0,"destination_ids":[")" + destination +
           R"("])" + fields + "}";
  };
  return {
      {"destination: malformed JSON", "POST", dest, R"({"name":"x",)", ""},
      {"destination: not an object", "POST", dest, R"(["x"])", R"(["body"])"},
      {"destination: unknown key", "POST", dest,
       R"({"name":"x","kind":"webhook","url":"http://127.0.0.1:9/","bogus":1})",
       R"(["body","bogus"])"},
      {"destination: bad kind", "POST", dest, R"({"name":"x","kind":"email"})",
       R"(["body","kind"])"},
      {"destination: missing name", "POST", dest, R"({"kind":"webhook","url":"http://a/"})",
       R"(["body","name"])"},
      {"destination: name too long", "POST", dest,
       R"({"name":")" + long_text + R"(","kind":"webhook","url":"http://127.0.0.1:9/"})",
       R"(["body","name"])"},
      {"destination: name not a string", "POST", dest,
       R"({"name":7,"kind":"webhook","url":"http://127.0.0.1:9/"})", R"(["body","name"])"},
      {"destination: non-http url", "POST", dest,
       R"({"name":"x","kind":"webhook","url":"ftp://a/"})", R"(["body","url"])"},
      {"destination: webhook without url", "POST", dest, R"({"name":"x","kind":"webhook"})",
       R"(["body","url"])"},
      {"destination: url too long", "POST", dest,
       R"({"name":"x","kind":"webhook","url":"http://a/)" + long_text + R"("})",
       R"(["body","url"])"},
      {"destination: port out of range", "POST", dest,
       R"({"name":"x","kind":"syslog","host":"127.0.0.1","port":70000,"transport":"udp"})",
       R"(["body","port"])"},
      {"destination: port as string", "POST", dest,
       R"({"name":"x","kind":"syslog","host":"127.0.0.1","port":"514","transport":"udp"})",
       R"(["body","port"])"},
      {"destination: bad transport", "POST", dest,
       R"({"name":"x","kind":"syslog","host":"127.0.0.1","port":514,"transport":"sctp"})",
       R"(["body","transport"])"},
      {"destination: bad format", "POST", dest,
       R"({"name":"x","kind":"syslog","host":"127.0.0.1","port":514,"format":"xml"})",
       R"(["body","format"])"},
      {"destination: syslog without host", "POST", dest,
       R"({"name":"x","kind":"syslog","port":514})", R"(["body","host"])"},
      {"destination patch: unknown key", "PATCH", dest + "/" + destination, R"({"colour":"red"})",
       R"(["body","colour"])"},
      {"destination patch: bad url", "PATCH", dest + "/" + destination, R"({"url":"file:///etc"})",
       R"(["body","url"])"},
      {"rule: malformed JSON", "POST", rules, "{", ""},
      {"rule: unknown destination", "POST", rules,
       R"({"name":"r","match":{},"cooldown_seconds":0,"destination_ids":["00000000-0000-7000-8000-000000000000"]})",
       R"(["body","destination_ids",0])"},
      {"rule: destination ids not an array", "POST", rules,
       R"({"name":"r","match":{},"destination_ids":")" + destination + R"("})",
       R"(["body","destination_ids"])"},
      {"rule: unknown key", "POST", rules, rule_with(R"(,"priority":1)"), R"(["body","priority"])"},
      {"rule: unknown match key", "POST", rules,
       R"({"name":"r","match":{"colour":"red"},"destination_ids":[")" + destination + R"("]})",
       R"(["body","match","colour"])"},
      {"rule: bad min_severity", "POST", rules,
       R"({"name":"r","match":{"min_severity":"apocalyptic"},"destination_ids":[")" + destination +
           R"("]})",
       R"(["body","match","min_severity"])"},
      {"rule: min_score out of range", "POST", rules,
       R"({"name":"r","match":{"min_score":7.5},"destination_ids":[")" + destination + R"("]})",
       R"(["body","match","min_score"])"},
      {"rule: threat_types not strings", "POST", rules,
       R"({"name":"r","match":{"threat_types":[1]},"destination_ids":[")" + destination + R"("]})",
       R"(["body","match","threat_types",0])"},
      {"rule: threshold count zero", "POST", rules,
       rule_with(R"(,"threshold":{"count":0,"window_seconds":60,"per":"sensor"})"),
       R"(["body","threshold","count"])"},
      {"rule: threshold per galaxy", "POST", rules,
       rule_with(R"(,"threshold":{"count":2,"window_seconds":60,"per":"galaxy"})"),
       R"(["body","threshold","per"])"},
      {"rule: negative cooldown", "POST", rules,
       R"({"name":"r","match":{},"cooldown_seconds":-1,"destination_ids":[")" + destination +
           R"("]})",
       R"(["body","cooldown_seconds"])"},
      {"rule: enabled as string", "POST", rules, rule_with(R"(,"enabled":"yes")"),
       R"(["body","enabled"])"},
      {"rule: name too long", "POST", rules,
       R"({"name":")" + long_text + R"(","match":{},"destination_ids":[")" + destination + R"("]})",
       R"(["body","name"])"},
      {"rule patch: unknown destination", "PATCH", rules + "/" + rule,
       R"({"destination_ids":["00000000-0000-7000-8000-000000000000"]})",
       R"(["body","destination_ids",0])"},
      {"rule patch: unknown key", "PATCH", rules + "/" + rule, R"({"bogus":true})",
       R"(["body","bogus"])"},
      {"alerts: bad status", "GET", "/api/v2/alerts?status=burning", "", R"(["query","status"])"},
      {"alerts: bad page size", "GET", "/api/v2/alerts?page_size=0", "",
       R"(["query","page_size"])"},
      {"alerts: bad cursor", "GET", "/api/v2/alerts?cursor=bm9wZQ", "", R"(["query","cursor"])"},
      {"deliveries: bad status", "GET", "/api/v2/alerts/deliveries?status=lost", "",
       R"(["query","status"])"},
      {"command: missing command", "POST", "/api/v2/sensors/sensor-a/commands", R"({"args":{}})",
       R"(["body","command"])"},
      {"command: command not a string", "POST", "/api/v2/sensors/sensor-a/commands",
       R"({"command":5})", R"(["body","command"])"},
      {"command: command too long", "POST", "/api/v2/sensors/sensor-a/commands",
       R"({"command":")" + long_text + R"("})", R"(["body","command"])"},
      {"command: args not an object", "POST", "/api/v2/sensors/sensor-a/commands",
       R"({"command":"reboot","args":"now"})", R"(["body","args"])"},
      {"command: unknown key", "POST", "/api/v2/sensors/sensor-a/commands",
       R"({"command":"reboot","when":"now"})", R"(["body","when"])"},
      {"rule update: non-http url", "POST", "/api/v2/sensors/sensor-a/rules/update",
       R"({"url":"ftp://rules/x.tgz"})", R"(["body","url"])"},
      {"rule update: version not a string", "POST", "/api/v2/sensors/sensor-a/rules/update",
       R"({"rules_version":3})", R"(["body","rules_version"])"},
      {"rule update: unknown key", "POST", "/api/v2/sensors/sensor-a/rules/update",
       R"({"rules_version":"3","force":true})", R"(["body","force"])"},
  };
}

TEST_F(AlertingApiTest, BadInputIs422NamingTheFieldAndChangesNothing) {
  auto admin = as(fleet_->admin);
  auto before_dest = admin.call("GET", "/api/v2/alerts/destinations/" + *destination_).json();
  auto before_rule = admin.call("GET", "/api/v2/alerts/rules/" + *rule_).json();
  for (const auto& c : bad_cases(*destination_, *rule_)) {
    auto reply = admin.call(c.method, c.target, c.body);
    EXPECT_EQ(reply.status, 422) << c.name << ": " << reply.body.substr(0, 500);
    auto body = reply.json();
    if (reply.status != 422 || !body.is_object() || !body.at("detail").is_array()) {
      ADD_FAILURE() << c.name << ": not a validation error: " << reply.body.substr(0, 500);
      continue;
    }
    const auto& first = body.at("detail").at(0).as_object();
    EXPECT_TRUE(first.contains("msg") && first.contains("type")) << c.name;
    if (c.loc.empty()) continue;
    bool found = false;
    for (const auto& e : body.at("detail").as_array())
      found = found || json::serialize(e.at("loc")) == c.loc;
    EXPECT_TRUE(found) << c.name << ": expected loc " << c.loc << " in "
                       << reply.body.substr(0, 500);
  }
  EXPECT_EQ(count("/api/v2/alerts/destinations", "destinations"), 1u);
  EXPECT_EQ(count("/api/v2/alerts/rules", "rules"), 1u);
  EXPECT_EQ(count("/api/v2/sensors/sensor-a/commands", "commands"), 0u);
  EXPECT_EQ(admin.call("GET", "/api/v2/alerts/destinations/" + *destination_).json(), before_dest);
  EXPECT_EQ(admin.call("GET", "/api/v2/alerts/rules/" + *rule_).json(), before_rule);
}

TEST_F(AlertingApiTest, UnknownIdsAre404) {
  auto admin = as(fleet_->admin);
  const std::string ghost = "00000000-0000-7000-8000-000000000000";
  const std::vector<Route> routes = {
      {"GET", "/api/v2/alerts/destinations/" + ghost, ""},
      {"PATCH", "/api/v2/alerts/destinations/" + ghost, R"({"name":"x"})"},
      {"DELETE", "/api/v2/alerts/destinations/" + ghost, ""},
      {"POST", "/api/v2/alerts/destinations/" + ghost + "/test", ""},
      {"GET", "/api/v2/alerts/rules/" + ghost, ""},
      {"PATCH", "/api/v2/alerts/rules/" + ghost, R"({"enabled":false})"},
      {"DELETE", "/api/v2/alerts/rules/" + ghost, ""},
      {"POST", "/api/v2/alerts/" + ghost + "/acknowledge", ""},
      {"POST", "/api/v2/sensors/ghost-sensor/commands", R"({"command":"reboot"})"},
      {"POST", "/api/v2/sensors/ghost-sensor/rules/update", R"({"rules_version":"1"})"},
      {"GET", "/api/v2/sensors/ghost-sensor/commands", ""},
  };
  for (const auto& r : routes) {
    auto reply = admin.call(r.method, r.target, r.body);
    EXPECT_EQ(reply.status, 404) << r.method << " " << r.target << ": " << reply.body;
    EXPECT_TRUE(reply.json().is_object() && reply.json().at("detail").is_string())
        << r.method << " " << r.target << ": " << reply.body;
  }
}

}  // namespace
}  // namespace honeyman::testing::alerting_it
