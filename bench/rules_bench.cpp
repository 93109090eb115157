// The rule engine's cost per committed threat (issue #16: "bounded work per threat, measured"):
// RuleEngine::evaluate over N threats from 500 sensors against R rules (a mix of plain filters
// and threshold rules, per sensor and fleet-wide, with cooldowns), built by bench/rules-bench.
//   rules_bench <rules> <threats>   prints: ns per threat, alerts fired
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "alerting/alerting.hpp"

using namespace honeyman;

int main(int argc, char** argv) {
  const int rule_count = argc > 1 ? std::atoi(argv[1]) : 100;
  const int threat_count = argc > 2 ? std::atoi(argv[2]) : 1'000'000;
  const char* severities[] = {"info", "low", "medium", "high", "critical"};
  const char* detectors[] = {"usb", "wifi", "ble", "network", "airdrop"};
  std::vector<alerting::RuleSpec> rules;
  std::mt19937 rng(42);
  for (int i = 0; i < rule_count; ++i) {
    alerting::RuleSpec r;
    r.id = "r" + std::to_string(i);
    r.name = r.id;
    r.match.min_severity = domain::parse_severity(severities[2 + i % 3]);
    if (i % 2 == 0) r.match.detector_types = {detectors[i % 5]};
    if (i % 3 == 0) r.match.threat_types = {"type_" + std::to_string(i % 40)};
    if (i % 7 == 0) r.match.sensor_ids = {"sensor-" + std::to_string(i % 500)};
    if (i % 5 == 0) r.match.min_score = 0.5;
    if (i % 4 == 0)
      r.threshold = alerting::Threshold{5 + i % 20, std::chrono::seconds(60), i % 8 != 0};
    r.cooldown = std::chrono::seconds(i % 2 ? 300 : 0);
    rules.push_back(std::move(r));
  }
  alerting::RuleEngine engine;
  engine.set_rules(rules);
  std::vector<domain::Threat> threats(4096);
  for (auto& t : threats) {
    t.id = uuid_v4();
    t.sensor_id = "sensor-" + std::to_string(rng() % 500);
    t.severity = static_cast<domain::Severity>(rng() % 5);
    t.detector_type = detectors[rng() % 5];
    t.threat_type = "type_" + std::to_string(rng() % 40);
    t.threat_score = (rng() % 100) / 100.0;
  }
  auto now = from_unix_micros(1'800'000'000'000'000);
  std::size_t fired = 0;
  auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < threat_count; ++i) {
    now += std::chrono::microseconds(100);  // 10,000 threats/s of commit time
    fired += engine.evaluate(threats[i % threats.size()], now).size();
  }
  auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - began);
  std::printf("%.1f %zu\n", ns.count() / threat_count, fired);
}
