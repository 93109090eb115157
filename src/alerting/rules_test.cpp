// Rules and destinations as the API takes them, and the RuleEngine's semantics: matching,
// thresholds per sensor and fleet-wide (once per window), cooldown, state across reloads.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "alerting/alerting.hpp"

namespace honeyman::alerting {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

const Timestamp kT0 = from_unix_micros(1'800'000'000'000'000);

domain::Threat threat(std::string sensor, domain::Severity severity = domain::Severity::critical,
                      std::string detector = "ble", double score = 0.9) {
  static int n = 0;
  domain::Threat t;
  t.id = "t" + std::to_string(++n);
  t.sensor_id = std::move(sensor);
  t.severity = severity;
  t.detector_type = std::move(detector);
  t.threat_type = "flipper_zero";
  t.threat_score = score;
  t.timestamp = kT0;
  return t;
}

RuleSpec spec_of(const char* body_text) {
  auto rule = rule_from_json(json::parse(body_text).as_object(), nullptr);
  EXPECT_TRUE(rule) << (rule ? "" : rule.error().message);
  rule->id = "r1";
  auto spec = rule_spec(*rule);
  EXPECT_TRUE(spec);
  return *spec;
}

std::vector<std::string> field_locations(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.fields) {
    std::string loc;
    for (const auto& part : f.loc) loc += (loc.empty() ? "" : ".") + part;
    out.push_back(loc);
  }
  return out;
}

TEST(AlertRules, MatchFiltersCombine) {
  auto spec = spec_of(R"({"name": "x", "destination_ids": [],
      "match": {"min_severity": "high", "detector_types": ["BLE", "usb"], "sensor_ids": ["a"],
                "min_score": 0.5}})");
  EXPECT_TRUE(spec.match.matches(threat("a")));
  EXPECT_FALSE(spec.match.matches(threat("b")));
  EXPECT_FALSE(spec.match.matches(threat("a", domain::Severity::medium)));
  EXPECT_FALSE(spec.match.matches(threat("a", domain::Severity::critical, "wifi")));
  EXPECT_FALSE(spec.match.matches(threat("a", domain::Severity::critical, "ble", 0.4)));
  EXPECT_FALSE(spec.match.matches_everything());
  EXPECT_TRUE(
      spec_of(R"({"name": "all", "match": {}, "destination_ids": []})").match.matches_everything());
}

TEST(AlertRules, BadBodiesNameEveryField) {
  auto rule = rule_from_json(json::parse(R"({"name": "", "match": {"min_severity": "huge",
      "min_score": 2, "colour": 1}, "threshold": {"count": 0, "per": "planet"},
      "cooldown_seconds": -1, "destination_ids": ["not-a-uuid"], "extra": true})")
                                 .as_object(),
                             nullptr);
  ASSERT_FALSE(rule);
  EXPECT_EQ(field_locations(rule.error()), std::vector<std::string>{"body.extra"});
  rule = rule_from_json(json::parse(R"({"name": "", "match": {"min_severity": "huge",
      "min_score": 2, "colour": 1}, "threshold": {"count": 0, "per": "planet"},
      "cooldown_seconds": -1, "destination_ids": ["not-a-uuid"]})")
                            .as_object(),
                        nullptr);
  ASSERT_FALSE(rule);
  auto locs = field_locations(rule.error());
  for (const char* want :
       {"body.name", "body.match.min_severity", "body.match.min_score", "body.match.colour",
        "body.threshold.count", "body.threshold.window_seconds", "body.threshold.per",
        "body.cooldown_seconds", "body.destination_ids.0"})
    EXPECT_NE(std::find(locs.begin(), locs.end(), want), locs.end()) << want;
  auto missing = rule_from_json(json::object{{"name", "n"}}, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_EQ(field_locations(missing.error()),
            (std::vector<std::string>{"body.match", "body.destination_ids"}));
}

TEST(AlertRules, PatchKeepsWhatItDoesNotName) {
  auto rule = rule_from_json(json::parse(R"({"name": "a", "match": {"min_severity": "high"},
      "threshold": {"count": 3, "window_seconds": 60}, "cooldown_seconds": 5,
      "destination_ids": []})")
                                 .as_object(),
                             nullptr);
  ASSERT_TRUE(rule);
  auto patched = rule_from_json(json::object{{"enabled", false}}, &*rule);
  ASSERT_TRUE(patched);
  EXPECT_FALSE(patched->enabled);
  EXPECT_EQ(patched->definition, rule->definition);
  auto cleared = rule_from_json(json::object{{"threshold", nullptr}}, &*rule);
  ASSERT_TRUE(cleared);
  EXPECT_TRUE(cleared->definition.at("threshold").is_null());
}

TEST(AlertDestinations, ValidatedPerKindSecretsHidden) {
  auto d = destination_from_json(json::parse(R"({"name": "h", "kind": "webhook",
      "url": "https://example.org/x", "secret": "s"})")
                                     .as_object(),
                                 nullptr);
  ASSERT_TRUE(d);
  auto shown = destination_json(*d);
  EXPECT_FALSE(shown.contains("secret"));
  EXPECT_TRUE(shown.at("has_secret").as_bool());
  auto pd = destination_from_json(
      json::parse(R"({"name": "p", "kind": "pagerduty", "routing_key": "k"})").as_object(),
      nullptr);
  ASSERT_TRUE(pd);
  EXPECT_EQ(pd->config.at("url").as_string(), kPagerDutyEventsUrl);
  EXPECT_FALSE(destination_json(*pd).contains("routing_key"));
  auto syslog = destination_from_json(
      json::parse(R"({"name": "s", "kind": "syslog", "host": "siem"})").as_object(), nullptr);
  ASSERT_TRUE(syslog);
  EXPECT_EQ(syslog->config.at("port").as_int64(), 514);
  EXPECT_EQ(syslog->config.at("transport").as_string(), "udp");
  EXPECT_EQ(syslog->config.at("format").as_string(), "cef");
  // A PATCH that leaves the secret out keeps it.
  auto renamed = destination_from_json(json::object{{"name", "h2"}}, &*d);
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->config.at("secret").as_string(), "s");
  for (const char* bad :
       {R"({"name": "h", "kind": "webhook", "url": "ftp://x/y"})",
        R"({"name": "h", "kind": "webhook"})", R"({"name": "h", "kind": "sms"})",
        R"({"name": "s", "kind": "syslog", "host": "x", "port": 70000})",
        R"({"name": "s", "kind": "syslog", "host": "x", "transport": "quic"})",
        R"({"name": "s", "kind": "syslog", "host": "x", "format": "xml"})",
        R"({"name": "p", "kind": "pagerduty"})", R"({"kind": "slack", "url": "https://x/"})"})
    EXPECT_FALSE(destination_from_json(json::parse(bad).as_object(), nullptr)) << bad;
}

TEST(RuleEngine, WithoutThresholdEveryMatchFiresPerSensorCooldown) {
  RuleEngine engine;
  engine.set_rules({spec_of(R"({"name": "c", "match": {"min_severity": "critical"},
      "cooldown_seconds": 60, "destination_ids": []})")});
  EXPECT_EQ(engine.evaluate(threat("a"), kT0).size(), 1u);
  EXPECT_EQ(engine.evaluate(threat("a"), kT0 + 30s).size(), 0u);  // a's cooldown
  EXPECT_EQ(engine.evaluate(threat("b"), kT0 + 30s).size(), 1u);  // b has its own
  EXPECT_EQ(engine.evaluate(threat("a", domain::Severity::high), kT0 + 61s).size(), 0u);
  auto fired = engine.evaluate(threat("a"), kT0 + 61s);
  ASSERT_EQ(fired.size(), 1u);
  RuleEngine::complete(fired[0]);
  EXPECT_FALSE(fired[0].alert.id.empty());
  EXPECT_EQ(fired[0].alert.fired_at, kT0 + 61s);
  EXPECT_EQ(fired[0].alert.sensor_id, "a");
  EXPECT_EQ(fired[0].alert.count, 1);
  EXPECT_EQ(fired[0].alert.rule_name, "c");
  EXPECT_EQ(fired[0].alert.summary.at("severity").as_string(), "critical");
}

TEST(RuleEngine, ThresholdFiresOncePerWindowThenCountsAgain) {
  RuleEngine engine;
  engine.set_rules({spec_of(R"({"name": "t", "match": {},
      "threshold": {"count": 3, "window_seconds": 60, "per": "sensor"},
      "destination_ids": ["0193a5f2-7c1e-7d3a-9b2e-1f4c5d6e7f80"]})")});
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto t = threat("a");
    ids.push_back(t.id);
    EXPECT_TRUE(engine.evaluate(t, kT0 + i * 1s).empty());
  }
  auto third = threat("a");
  auto fired = engine.evaluate(third, kT0 + 2s);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].alert.count, 3);
  EXPECT_EQ(fired[0].alert.threat_ids,
            (std::vector<std::string>{third.id, ids[1], ids[0]}));  // newest first
  EXPECT_EQ(fired[0].destination_ids.size(), 1u);
  // Counting starts again: two more are not enough.
  EXPECT_TRUE(engine.evaluate(threat("a"), kT0 + 3s).empty());
  EXPECT_TRUE(engine.evaluate(threat("a"), kT0 + 4s).empty());
  EXPECT_EQ(engine.evaluate(threat("a"), kT0 + 5s).size(), 1u);
  // Spread wider than the window: never three within 60 s.
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(engine.evaluate(threat("b"), kT0 + i * 31s).empty());
}

TEST(RuleEngine, FleetThresholdCountsEverySensorTogether) {
  RuleEngine engine;
  engine.set_rules({spec_of(R"({"name": "f", "match": {"detector_types": ["ble"]},
      "threshold": {"count": 3, "window_seconds": 10, "per": "fleet"},
      "cooldown_seconds": 100, "destination_ids": []})")});
  EXPECT_TRUE(engine.evaluate(threat("a"), kT0).empty());
  EXPECT_TRUE(engine.evaluate(threat("b"), kT0 + 1s).empty());
  auto fired = engine.evaluate(threat("c"), kT0 + 2s);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_FALSE(fired[0].alert.sensor_id);  // fleet-wide
  // Cooldown: matches within it are not counted.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(engine.evaluate(threat("d"), kT0 + 3s + i * 1s).empty());
  EXPECT_TRUE(engine.evaluate(threat("a"), kT0 + 103s).empty());
  EXPECT_TRUE(engine.evaluate(threat("a"), kT0 + 104s).empty());
  EXPECT_EQ(engine.evaluate(threat("a"), kT0 + 105s).size(), 1u);
}

TEST(RuleEngine, ReloadKeepsStateOfUnchangedRulesAndDropsDisabled) {
  auto spec = spec_of(R"({"name": "t", "match": {},
      "threshold": {"count": 2, "window_seconds": 60}, "destination_ids": []})");
  RuleEngine engine;
  engine.set_rules({spec});
  EXPECT_TRUE(engine.evaluate(threat("a"), kT0).empty());
  engine.set_rules({spec});  // a reload with the same definition: the first match still counts
  EXPECT_EQ(engine.evaluate(threat("a"), kT0 + 1s).size(), 1u);
  auto changed = spec;
  changed.threshold->count = 3;
  engine.set_rules({changed});
  EXPECT_TRUE(engine.evaluate(threat("a"), kT0 + 2s).empty());
  auto off = spec;
  off.enabled = false;
  engine.set_rules({off});
  EXPECT_EQ(engine.rule_count(), 0u);
  EXPECT_TRUE(engine.evaluate(threat("a"), kT0 + 3s).empty());
}

}  // namespace
}  // namespace honeyman::alerting
