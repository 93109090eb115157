// Alerting (SPEC §8, issue #16) through the real binary, one server for the suite: destinations
// and rules over the API, a matching threat reaching a webhook signed and promptly (and the
// WebSocket), Slack and PagerDuty bodies against their schemas, thresholds, cooldowns, disabled
// rules, acknowledgement. Each test matches its own threat types, so the suite's rules do not
// see each other's threats. "Nothing fired" is checked after a barrier: a threat of another
// rule posted later whose alert has appeared (rules are evaluated in commit order).
#include <gtest/gtest.h>

#include <thread>

#include "integration/alerting_support.hpp"
#include "integration/mqtt_support.hpp"
#include "support/ws_client.hpp"

namespace honeyman::testing::alerting_it {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class AlertingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = AlertFleet::start({}, /*with_broker=*/true).release();
    receiver_ = new RecordingReceiver();
    AlertApi api = admin();
    auto barrier_hook = api.webhook("barrier", receiver_->url("/barrier"), "barrier-secret");
    barrier_rule_ = new std::string(
        id_of(api.simple_rule("barrier", {"barrier_probe"}, {id_of(barrier_hook)})));
  }
  static void TearDownTestSuite() {
    delete barrier_rule_;
    delete receiver_;
    delete fleet_;
  }
  static ServerProcess& server() { return *fleet_->server; }
  static AlertApi admin() { return AlertApi(server(), fleet_->admin); }
  static std::string threat(const std::string& type, const std::string& sensor = "sensor-a",
                            const std::string& severity = "high") {
    return post_threat(server(), sensor == "sensor-a" ? fleet_->sensor_a_key : fleet_->sensor_b_key,
                       sensor, type, severity);
  }
  // Every threat posted before returns has been through the rules: a later threat's alert is
  // there. The extra wait covers an engine that evaluates a batch's rules concurrently.
  static void barrier() {
    auto id = threat("barrier_probe");
    auto api = admin();
    EXPECT_TRUE(eventually([&] {
      for (auto& a : api.alerts_of_rule(*barrier_rule_))
        for (auto& t : a.at("threat_ids").as_array())
          if (t == id.c_str()) return true;
      return false;
    })) << "the barrier threat never fired its rule";
    std::this_thread::sleep_for(300ms);
  }

  static AlertFleet* fleet_;
  static RecordingReceiver* receiver_;
  static std::string* barrier_rule_;
};
AlertFleet* AlertingTest::fleet_ = nullptr;
RecordingReceiver* AlertingTest::receiver_ = nullptr;
std::string* AlertingTest::barrier_rule_ = nullptr;

TEST_F(AlertingTest, DestinationsAreCreatedReadChangedAndDeletedWithoutTheirSecrets) {
  auto api = admin();
  auto hook = api.webhook("ops hook", "http://127.0.0.1:9/hook", "s3cret-value");
  ASSERT_FALSE(hook.empty());
  EXPECT_EQ(hook.at("name"), "ops hook");
  EXPECT_EQ(hook.at("kind"), "webhook");
  EXPECT_EQ(hook.at("url"), "http://127.0.0.1:9/hook");
  EXPECT_EQ(hook.at("has_secret"), true);
  EXPECT_FALSE(hook.contains("secret"));
  for (auto key : {"created_at", "updated_at"}) EXPECT_TRUE(hook.at(key).is_string()) << key;
  auto pd = api.create_destination({{"name", "pager"},
                                    {"kind", "pagerduty"},
                                    {"url", "http://127.0.0.1:9/pd"},
                                    {"routing_key", std::string(32, 'r')}});
  EXPECT_FALSE(pd.contains("routing_key"));
  auto pd_text = json::serialize(pd);
  EXPECT_EQ(pd_text.find(std::string(32, 'r')), std::string::npos) << pd_text;

  auto path = "/api/v2/alerts/destinations/" + id_of(hook);
  auto read = api.call("GET", path);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.json(), json::value(hook));
  auto listed = api.call("GET", "/api/v2/alerts/destinations");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(ids_of(listed.json().at("destinations").as_array()).count(id_of(hook)), 1u);
  EXPECT_EQ(listed.body.find("s3cret-value"), std::string::npos);

  auto changed = api.call("PATCH", path, R"({"name":"ops hook 2"})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.json().at("name"), "ops hook 2");
  EXPECT_EQ(changed.json().at("has_secret"), true);
  EXPECT_EQ(changed.json().at("url"), "http://127.0.0.1:9/hook");
  EXPECT_EQ(api.call("GET", path).json().at("name"), "ops hook 2");

  auto deleted = api.call("DELETE", path).status;
  EXPECT_TRUE(deleted == 200 || deleted == 204) << deleted;  // the contract names neither
  EXPECT_EQ(api.call("GET", path).status, 404);
}

TEST_F(AlertingTest, TheTestRouteSendsASignedMessageNowAndReportsTheAnswer) {
  RecordingReceiver hook;
  auto api = admin();
  auto dest = api.webhook("probe", hook.url(), "probe-secret");
  auto path = "/api/v2/alerts/destinations/" + id_of(dest) + "/test";
  auto ok = api.call("POST", path);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json().at("ok"), true) << ok.body;
  EXPECT_EQ(ok.json().at("status"), 200) << ok.body;
  auto got = hook.receiver().wait_for(1, 10s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].header("X-Honeyman-Signature"), expected_signature("probe-secret", got[0].body));

  hook.answer(503);
  auto refused = api.call("POST", path);
  ASSERT_EQ(refused.status, 200) << refused.body;
  EXPECT_EQ(refused.json().at("ok"), false) << refused.body;
  EXPECT_EQ(refused.json().at("status"), 503) << refused.body;
  EXPECT_TRUE(refused.json().at("error").is_string()) << refused.body;
}

TEST_F(AlertingTest, AMatchingThreatReachesTheWebhookSignedWithinASecond) {
  RecordingReceiver hook;
  auto api = admin();
  auto dest = api.webhook("soc", hook.url("/soc"), "whsec-matching");
  auto rule = api.create_rule({{"name", "usb high"},
                               {"match",
                                {{"min_severity", "high"},
                                 {"detector_types", {"usb"}},
                                 {"threat_types", {"hid_attack", "hid_attack_low"}},
                                 {"sensor_ids", {"sensor-a"}}}},
                               {"cooldown_seconds", 0},
                               {"destination_ids", {id_of(dest)}}});
  ASSERT_FALSE(rule.empty());
  EXPECT_EQ(rule.at("enabled"), true);
  EXPECT_TRUE(rule.at("threshold").is_null());
  WsClient ws("127.0.0.1", server().port());
  ASSERT_EQ(ws.connect("/api/v2/ws?token=" + fleet_->viewer), 101) << ws.refusal_body();
  ASSERT_TRUE(ws.next_of_type("welcome"));

  threat("hid_attack_low", "sensor-a", "medium");  // below min_severity
  threat("hid_attack", "sensor-b");                // another sensor
  auto committed = std::chrono::steady_clock::now();
  auto tid = threat("hid_attack");
  auto got = hook.receiver().wait_for(1, 10s);
  ASSERT_EQ(got.size(), 1u) << server().log();
  EXPECT_LE(got[0].received_steady - committed, 1s) << "the webhook came late";

  const auto& r = got[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/soc");
  EXPECT_TRUE(r.header("Content-Type").starts_with("application/json")) << r.header("Content-Type");
  EXPECT_EQ(r.header("X-Honeyman-Signature"), expected_signature("whsec-matching", r.body));
  auto body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("type"), "alert");
  auto alerts = api.alerts_of_rule(id_of(rule));
  ASSERT_EQ(alerts.size(), 1u);
  const auto& alert = alerts[0].as_object();
  EXPECT_EQ(body.at("data"), alert) << "the webhook's alert differs from GET /alerts'";
  EXPECT_EQ(alert.at("rule_id"), rule.at("id"));
  EXPECT_EQ(alert.at("rule_name"), "usb high");
  EXPECT_EQ(alert.at("sensor_id"), "sensor-a");
  EXPECT_EQ(alert.at("threat_ids"), json::array({json::value(tid)}));
  EXPECT_EQ(alert.at("count"), 1);
  EXPECT_EQ(alert.at("status"), "firing");
  EXPECT_TRUE(alert.at("acknowledged_by").is_null());
  EXPECT_TRUE(alert.at("fired_at").is_string());
  const auto& summary = alert.at("summary").as_object();
  EXPECT_EQ(summary.at("threat_id"), tid.c_str());
  EXPECT_EQ(summary.at("severity"), "high");
  EXPECT_EQ(summary.at("threat_type"), "hid_attack");
  EXPECT_EQ(summary.at("detector_type"), "usb");
  EXPECT_EQ(summary.at("sensor_id"), "sensor-a");
  auto stored = server().client().get("/api/v2/threats/" + tid, bearer(fleet_->viewer)).json();
  EXPECT_EQ(summary.at("timestamp"), stored.at("timestamp"));

  auto deliveries = api.deliveries("alert_id=" + id_of(alert));
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(r.header("X-Honeyman-Delivery"), deliveries[0].at("id").as_string());
  EXPECT_EQ(deliveries[0].at("destination_id"), dest.at("id"));
  EXPECT_TRUE(eventually(
      [&] { return api.deliveries("alert_id=" + id_of(alert))[0].at("status") == "delivered"; }));

  auto live = ws.next_of_type("alert", 10s);
  ASSERT_TRUE(live) << "no alert on the WebSocket";
  EXPECT_EQ(live->at("data").at("id"), alert.at("id"));
  EXPECT_TRUE(live->as_object().contains("timestamp"));

  barrier();
  EXPECT_EQ(hook.receiver().requests().size(), 1u) << "a non-matching threat was sent";
  EXPECT_EQ(api.alerts_of_rule(id_of(rule)).size(), 1u);
}

// The agent's way in: a threat published over MQTT with the sensor's own broker account.
TEST_F(AlertingTest, AThreatPublishedOverMqttFiresTheRuleToo) {
  RecordingReceiver hook;
  auto api = admin();
  auto dest = api.webhook("mqtt", hook.url(), "whsec-mqtt");
  auto rule = api.simple_rule("over mqtt", {"flipper_zero"}, {id_of(dest)});
  auto creds = onboard(server(), fleet_->admin, "alert-mqtt-01");
  auto sensor = connect_sensor(*fleet_->broker, creds);
  auto sample = wire_sample("agent-threat.json").as_object();
  sample["sensor_id"] = "alert-mqtt-01";
  ASSERT_TRUE(sensor->publish(broker::sensor_topic("alert-mqtt-01", broker::TopicKind::threats),
                              json::serialize(sample)));
  auto got = hook.receiver().wait_for(1, 15s);
  ASSERT_EQ(got.size(), 1u) << server().log();
  EXPECT_EQ(got[0].header("X-Honeyman-Signature"), expected_signature("whsec-mqtt", got[0].body));
  auto alert = json::parse(got[0].body).at("data");
  EXPECT_EQ(alert.at("rule_id"), rule.at("id"));
  EXPECT_EQ(alert.at("sensor_id"), "alert-mqtt-01");
  EXPECT_EQ(alert.at("summary").at("detector_type"), "ble");
  EXPECT_EQ(alert.at("summary").at("severity"), "critical");
}

TEST_F(AlertingTest, SlackAndPagerDutyBodiesFollowTheirSchemas) {
  RecordingReceiver hook;
  auto api = admin();
  const std::string routing_key = "R0UT1NGKEY0123456789abcdefABCDEF";
  auto slack =
      api.create_destination({{"name", "slack"}, {"kind", "slack"}, {"url", hook.url("/slack")}});
  auto pd = api.create_destination({{"name", "pd"},
                                    {"kind", "pagerduty"},
                                    {"url", hook.url("/pagerduty")},
                                    {"routing_key", routing_key}});
  auto rule = api.simple_rule("chat ops", {"chat_ops_probe"}, {id_of(slack), id_of(pd)});
  threat("chat_ops_probe");
  auto got = hook.receiver().wait_for(2, 15s);
  ASSERT_EQ(got.size(), 2u) << server().log();
  auto alerts = api.wait_alerts(id_of(rule), 1);
  ASSERT_EQ(alerts.size(), 1u);
  for (const auto& r : got) {
    EXPECT_TRUE(r.header("Content-Type").starts_with("application/json"));
    if (r.target == "/slack") {
      EXPECT_EQ(schema_errors("slack-webhook.json", r.body), "") << r.body;
    } else {
      ASSERT_EQ(r.target, "/pagerduty");
      EXPECT_EQ(schema_errors("pagerduty-events-v2.json", r.body), "") << r.body;
      auto body = json::parse(r.body);
      EXPECT_EQ(body.at("dedup_key"), alerts[0].at("id"));
      EXPECT_EQ(body.at("routing_key"), routing_key.c_str());
      EXPECT_EQ(body.at("event_action"), "trigger");
      EXPECT_EQ(body.at("payload").at("severity"), "error");  // high
    }
  }
}

TEST_F(AlertingTest, AThresholdFiresOncePerWindowThenCountsFromZero) {
  RecordingReceiver hook;
  auto api = admin();
  auto dest = api.webhook("threshold", hook.url(), "k");
  auto rule =
      api.create_rule({{"name", "three in a minute"},
                       {"match", {{"threat_types", {"brute_force"}}}},
                       {"threshold", {{"count", 3}, {"window_seconds", 60}, {"per", "sensor"}}},
                       {"cooldown_seconds", 0},
                       {"destination_ids", {id_of(dest)}}});
  ASSERT_EQ(rule.at("threshold").at("count"), 3);
  auto rule_id = id_of(rule);
  std::vector<std::string> first;
  for (int i = 0; i < 3; ++i) first.push_back(threat("brute_force"));
  threat("brute_force", "sensor-b");  // counted for sensor-b only
  auto alerts = api.wait_alerts(rule_id, 1);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].at("count"), 3);
  EXPECT_EQ(alerts[0].at("sensor_id"), "sensor-a");
  std::set<std::string> fired;
  for (auto& t : alerts[0].at("threat_ids").as_array()) fired.insert(std::string(t.as_string()));
  EXPECT_EQ(fired, std::set<std::string>(first.begin(), first.end()));

  threat("brute_force");
  threat("brute_force");
  barrier();
  EXPECT_EQ(api.alerts_of_rule(rule_id).size(), 1u) << "fired again before the count was met";

  threat("brute_force");  // the third since the alert
  EXPECT_EQ(api.wait_alerts(rule_id, 2).size(), 2u);
  barrier();
  EXPECT_EQ(api.alerts_of_rule(rule_id).size(), 2u);
}

TEST_F(AlertingTest, AFleetThresholdCountsEverySensorTogether) {
  auto api = admin();
  auto dest = api.webhook("fleet", receiver_->url("/fleet"), "k");
  auto rule =
      api.create_rule({{"name", "fleet pair"},
                       {"match", {{"threat_types", {"fleet_scan"}}}},
                       {"threshold", {{"count", 2}, {"window_seconds", 60}, {"per", "fleet"}}},
                       {"cooldown_seconds", 0},
                       {"destination_ids", {id_of(dest)}}});
  threat("fleet_scan", "sensor-a");
  threat("fleet_scan", "sensor-b");
  auto alerts = api.wait_alerts(id_of(rule), 1);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].at("sensor_id").is_null());
  EXPECT_EQ(alerts[0].at("count"), 2);
}

TEST_F(AlertingTest, ACooldownSilencesTheRuleForThatSensorOnly) {
  auto api = admin();
  auto dest = api.webhook("cooldown", receiver_->url("/cooldown"), "k");
  auto each = api.simple_rule("each once an hour", {"cooldown_probe"}, {id_of(dest)}, 3600);
  auto counted =
      api.create_rule({{"name", "pairs once an hour"},
                       {"match", {{"threat_types", {"cooldown_pair"}}}},
                       {"threshold", {{"count", 2}, {"window_seconds", 60}, {"per", "sensor"}}},
                       {"cooldown_seconds", 3600},
                       {"destination_ids", {id_of(dest)}}});
  threat("cooldown_probe");
  threat("cooldown_pair");
  threat("cooldown_pair");
  ASSERT_EQ(api.wait_alerts(id_of(each), 1).size(), 1u);
  ASSERT_EQ(api.wait_alerts(id_of(counted), 1).size(), 1u);

  // Within the cooldown: not alerted, and (threshold) not counted either.
  for (int i = 0; i < 3; ++i) threat("cooldown_probe");
  for (int i = 0; i < 4; ++i) threat("cooldown_pair");
  threat("cooldown_probe", "sensor-b");  // another sensor has its own cooldown
  auto per_sensor = api.wait_alerts(id_of(each), 2);
  barrier();
  EXPECT_EQ(api.alerts_of_rule(id_of(counted)).size(), 1u);
  auto all = api.alerts_of_rule(id_of(each));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].at("sensor_id"), "sensor-b");  // newest first
}

TEST_F(AlertingTest, ADisabledRuleFiresNothingUntilEnabledAgain) {
  auto api = admin();
  auto dest = api.webhook("toggle", receiver_->url("/toggle"), "k");
  auto rule = api.simple_rule("toggled", {"toggle_probe"}, {id_of(dest)});
  auto path = "/api/v2/alerts/rules/" + id_of(rule);
  auto off = api.call("PATCH", path, R"({"enabled":false})");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(off.json().at("enabled"), false);
  threat("toggle_probe");
  barrier();
  EXPECT_EQ(api.alerts_of_rule(id_of(rule)).size(), 0u);

  ASSERT_EQ(api.call("PATCH", path, R"({"enabled":true})").status, 200);
  threat("toggle_probe");
  EXPECT_EQ(api.wait_alerts(id_of(rule), 1).size(), 1u);

  auto deleted = api.call("DELETE", path).status;
  EXPECT_TRUE(deleted == 200 || deleted == 204) << deleted;
  EXPECT_EQ(api.call("GET", path).status, 404);
}

TEST_F(AlertingTest, AnalystsAcknowledgeAlertsViewersCannot) {
  auto api = admin();
  auto dest = api.webhook("ack", receiver_->url("/ack"), "k");
  auto rule = api.simple_rule("acked", {"ack_probe"}, {id_of(dest)});
  threat("ack_probe");
  auto alerts = api.wait_alerts(id_of(rule), 1);
  ASSERT_EQ(alerts.size(), 1u);
  auto path = "/api/v2/alerts/" + std::string(alerts[0].at("id").as_string()) + "/acknowledge";

  EXPECT_EQ(AlertApi(server(), fleet_->viewer).call("POST", path).status, 403);
  EXPECT_EQ(server().client().post(path, json::object{}).status, 401);
  auto viewed = AlertApi(server(), fleet_->viewer).alerts("rule_id=" + id_of(rule));
  ASSERT_EQ(viewed.size(), 1u);  // viewers may read
  EXPECT_EQ(viewed[0].at("status"), "firing");

  auto acked = AlertApi(server(), fleet_->analyst).call("POST", path);
  ASSERT_EQ(acked.status, 200) << acked.body;
  EXPECT_EQ(acked.json().at("status"), "acknowledged");
  EXPECT_EQ(acked.json().at("acknowledged_by"), "ana");
  EXPECT_TRUE(acked.json().at("acknowledged_at").is_string());
  auto by_status = api.alerts("status=acknowledged&rule_id=" + id_of(rule));
  EXPECT_EQ(ids_of(by_status), ids_of(alerts));
  EXPECT_TRUE(api.alerts("status=firing&rule_id=" + id_of(rule)).empty());
}

TEST_F(AlertingTest, AlertsArePagedNewestFirstAndFilteredBySensor) {
  auto api = admin();
  auto dest = api.webhook("pages", receiver_->url("/pages"), "k");
  auto rule = api.simple_rule("paged", {"page_probe"}, {id_of(dest)});
  for (int i = 0; i < 3; ++i) threat("page_probe");
  threat("page_probe", "sensor-b");
  auto all = api.wait_alerts(id_of(rule), 4);
  ASSERT_EQ(all.size(), 4u);
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_GE(all[i - 1].at("fired_at").as_string(), all[i].at("fired_at").as_string());
  std::vector<std::string> paged;
  std::string cursor;
  for (int i = 0; i < 10; ++i) {
    auto reply = api.call("GET", "/api/v2/alerts?page_size=1&rule_id=" + id_of(rule) +
                                     (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto body = reply.json();
    for (auto& a : body.at("alerts").as_array())
      paged.push_back(std::string(a.at("id").as_string()));
    if (body.at("next_cursor").is_null()) break;
    cursor = std::string(body.at("next_cursor").as_string());
  }
  std::vector<std::string> expected;
  for (auto& a : all) expected.push_back(std::string(a.at("id").as_string()));
  EXPECT_EQ(paged, expected);
  auto b = api.alerts("sensor_id=sensor-b&rule_id=" + id_of(rule));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].at("sensor_id"), "sensor-b");
}

}  // namespace
}  // namespace honeyman::testing::alerting_it
