// Alerting and sensor commands (SPEC §8): destinations and rules round-trip, an alert and its
// deliveries commit together, the outbox's claim is exclusive across stores (instances) until the
// lease runs out, finish_delivery needs the claim, and commands keep the agents' answers.
#include <set>
#include <thread>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using namespace std::chrono_literals;

class AlertingStoreTest : public StoreTest {
 protected:
  Alert alert(int i) {
    Alert a;
    a.id = uuid_v7(kT0 + i * 1s);
    a.rule_id = "rule-1";
    a.rule_name = "critical usb";
    a.fired_at = kT0 + i * 1s;
    a.sensor_id = i % 2 ? std::optional<std::string>("sensor-a") : std::nullopt;
    a.threat_ids = {uuid_v4(), uuid_v4()};
    a.count = 2;
    a.summary = boost::json::object{{"severity", "critical"}, {"i", i}};
    return a;
  }
  Delivery delivery(const Alert& a, std::string destination, Timestamp due) {
    Delivery d;
    d.id = uuid_v7(due);
    d.alert_id = a.id;
    d.destination_id = std::move(destination);
    d.created_at = a.fired_at;
    d.next_attempt_at = due;
    d.body = R"({"type":"alert"})";
    return d;
  }
};

TEST_P(AlertingStoreTest, DestinationsAndRulesRoundTrip) {
  AlertDestination d{
      uuid_v4(), "ops hook",
      "webhook", boost::json::object{{"url", "http://127.0.0.1:9/x"}, {"secret", "s3"}},
      kT0,       kT0};
  ASSERT_TRUE(store().create_destination(d));
  EXPECT_EQ(store().create_destination(d).error().code, Errc::conflict);
  auto found = store().find_destination(d.id).value();
  EXPECT_EQ(found.name, "ops hook");
  EXPECT_EQ(found.config.at("secret").as_string(), "s3");
  d.name = "renamed";
  d.updated_at = kT0 + 1s;
  ASSERT_TRUE(store().update_destination(d));
  EXPECT_EQ(store().list_destinations().value().at(0).name, "renamed");
  EXPECT_EQ(store().list_destinations().value().at(0).updated_at, kT0 + 1s);

  AlertRule r{
      uuid_v4(), "crit",
      true,      boost::json::object{{"match", boost::json::object{{"min_severity", "critical"}}}},
      kT0,       kT0};
  ASSERT_TRUE(store().create_rule(r));
  r.enabled = false;
  ASSERT_TRUE(store().update_rule(r));
  auto rule = store().find_rule(r.id).value();
  EXPECT_FALSE(rule.enabled);
  EXPECT_EQ(rule.definition, r.definition);
  ASSERT_TRUE(store().delete_rule(r.id));
  EXPECT_EQ(store().find_rule(r.id).error().code, Errc::not_found);
  EXPECT_EQ(store().delete_rule(r.id).error().code, Errc::not_found);
  EXPECT_EQ(store().update_rule(r).error().code, Errc::not_found);
  ASSERT_TRUE(store().delete_destination(d.id));
  EXPECT_TRUE(store().list_destinations().value().empty());
}

TEST_P(AlertingStoreTest, AlertsPageNewestFirstAndAcknowledge) {
  std::vector<Alert> alerts;
  for (int i = 0; i < 5; ++i) {
    alerts.push_back(alert(i));
    ASSERT_TRUE(store().insert_alert(alerts.back(), {}));
  }
  AlertQuery q;
  q.page_size = 2;
  std::vector<std::int64_t> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store().query_alerts(q).value();
    for (const auto& a : page.alerts) seen.push_back(a.summary.at("i").as_int64());
    if (page.next_cursor.empty()) break;
    q.cursor = page.next_cursor;
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{4, 3, 2, 1, 0}));
  const auto& one = alerts[1];
  auto acked = store().acknowledge_alert(one.id, "ana", kT0 + 1h).value();
  EXPECT_EQ(acked.status, "acknowledged");
  EXPECT_EQ(acked.acknowledged_by, "ana");
  EXPECT_EQ(acked.acknowledged_at, kT0 + 1h);
  EXPECT_EQ(acked.threat_ids.size(), 2u);
  EXPECT_EQ(acked.sensor_id, "sensor-a");
  AlertQuery firing;
  firing.status = "firing";
  EXPECT_EQ(store().query_alerts(firing).value().alerts.size(), 4u);
  AlertQuery by_sensor;
  by_sensor.sensor_id = "sensor-a";
  EXPECT_EQ(store().query_alerts(by_sensor).value().alerts.size(), 2u);
  EXPECT_EQ(store().acknowledge_alert(uuid_v4(), "ana", kT0).error().code, Errc::not_found);
  AlertQuery bad;
  bad.cursor = "not-a-cursor";
  EXPECT_EQ(store().query_alerts(bad).error().code, Errc::invalid_input);
}

// Deliveries page like alerts: newest id first, a filter narrows every page, the cursor
// continues exactly after the last row; a cursor that is no id and a page size outside 1..1000
// are refused by both queries.
TEST_P(AlertingStoreTest, DeliveriesPageNewestFirstAndBadPagesAreRefused) {
  auto a = alert(1), b = alert(2);
  std::vector<Delivery> of_a, of_b;
  for (int i = 0; i < 5; ++i) of_a.push_back(delivery(a, "a" + std::to_string(i), kT0 + i * 1s));
  for (int i = 0; i < 2; ++i)
    of_b.push_back(delivery(b, "b" + std::to_string(i), kT0 + 9s + i * 1s));
  ASSERT_TRUE(store().insert_alert(a, of_a));
  ASSERT_TRUE(store().insert_alert(b, of_b));
  DeliveryQuery q;
  q.alert_id = a.id;
  q.page_size = 2;
  std::vector<std::string> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store().query_deliveries(q).value();
    EXPECT_LE(page.deliveries.size(), 2u);
    for (const auto& d : page.deliveries) seen.push_back(d.destination_id);
    if (page.next_cursor.empty()) break;
    q.cursor = page.next_cursor;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a4", "a3", "a2", "a1", "a0"}));

  for (int size : {0, -1, 1001}) {
    DeliveryQuery deliveries;
    deliveries.page_size = size;
    EXPECT_EQ(store().query_deliveries(deliveries).error().code, Errc::invalid_input) << size;
    AlertQuery alerts;
    alerts.page_size = size;
    EXPECT_EQ(store().query_alerts(alerts).error().code, Errc::invalid_input) << size;
  }
  DeliveryQuery largest;
  largest.page_size = 1000;
  EXPECT_EQ(store().query_deliveries(largest).value().deliveries.size(), 7u);
  DeliveryQuery bad;
  bad.cursor = "42";
  EXPECT_EQ(store().query_deliveries(bad).error().code, Errc::invalid_input);
}

// The outbox: due rows only, one owner at a time, the lease's end frees them, the outcome
// needs the claim.
TEST_P(AlertingStoreTest, ClaimIsExclusiveUntilTheLeaseEnds) {
  auto a = alert(1);
  std::vector<Delivery> ds = {delivery(a, "d1", kT0), delivery(a, "d2", kT0 + 1s),
                              delivery(a, "d3", kT0 + 1h)};
  ASSERT_TRUE(store().insert_alert(a, ds));
  // A memory database exists once per Store: there the "other instance" is this one.
  const bool shared = url_.find(":memory:") != std::string::npos;
  auto again = shared ? nullptr : open_again();
  Store* other = shared ? &store() : again.get();
  auto first = store().claim_deliveries("one", kT0 + 2s, kT0 + 32s, 10).value();
  ASSERT_EQ(first.size(), 2u);  // d3 is not due
  EXPECT_TRUE(other->claim_deliveries("two", kT0 + 3s, kT0 + 33s, 10).value().empty());
  EXPECT_EQ(first[0].body, R"({"type":"alert"})");

  DeliveryOutcome retry{DeliveryOutcome::retry, kT0 + 4s, kT0 + 10s, "HTTP 500"};
  EXPECT_EQ(other->finish_delivery(first[0].id, "two", retry).error().code, Errc::conflict);
  ASSERT_TRUE(store().finish_delivery(first[0].id, "one", retry));
  // The other row's lease ran out: another owner takes it; the first owner lost it.
  auto taken = other->claim_deliveries("two", kT0 + 40s, kT0 + 70s, 10).value();
  ASSERT_EQ(taken.size(), 2u);  // the retried one (due at +10 s) and the abandoned one
  DeliveryOutcome done{DeliveryOutcome::delivered, kT0 + 41s, {}, ""};
  for (const auto& d : taken) {
    if (d.id != first[0].id)
      EXPECT_EQ(store().finish_delivery(d.id, "one", done).error().code, Errc::conflict);
    ASSERT_TRUE(other->finish_delivery(d.id, "two", done));
  }
  DeliveryQuery delivered;
  delivered.status = "delivered";
  auto page = store().query_deliveries(delivered).value();
  ASSERT_EQ(page.deliveries.size(), 2u);
  for (const auto& d : page.deliveries) {
    EXPECT_EQ(d.delivered_at, kT0 + 41s);
    EXPECT_EQ(d.attempts, d.id == first[0].id ? 2 : 1);
  }
  DeliveryOutcome failed{DeliveryOutcome::failed, kT0 + 2h, {}, "gave up"};
  auto last = store().claim_deliveries("one", kT0 + 2h, kT0 + 2h + 30s, 10).value();
  ASSERT_EQ(last.size(), 1u);
  ASSERT_TRUE(store().finish_delivery(last[0].id, "one", failed));
  DeliveryQuery failed_q;
  failed_q.status = "failed";
  auto f = store().query_deliveries(failed_q).value();
  ASSERT_EQ(f.deliveries.size(), 1u);
  EXPECT_EQ(f.deliveries[0].last_error, "gave up");
  EXPECT_TRUE(store().claim_deliveries("one", kT0 + 9h, kT0 + 10h, 10).value().empty());
}

// Four stores (instances) claiming the same 200 rows at once: every row is claimed once.
TEST_P(AlertingStoreTest, ConcurrentClaimsNeverShareARow) {
  auto a = alert(1);
  std::vector<Delivery> ds;
  for (int i = 0; i < 200; ++i) ds.push_back(delivery(a, "d" + std::to_string(i), kT0 + i * 1ms));
  ASSERT_TRUE(store().insert_alert(a, ds));
  const bool shared = url_.find(":memory:") != std::string::npos;
  std::vector<std::unique_ptr<Store>> opened;
  std::vector<Store*> stores;
  for (int i = 0; i < 4; ++i) {
    if (!shared) opened.push_back(open_again());
    stores.push_back(shared ? &store() : opened.back().get());
  }
  std::vector<std::vector<std::string>> got(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int round = 0; round < 40; ++round) {
        auto claimed = stores[i]->claim_deliveries("w" + std::to_string(i), kT0 + 1s, kT0 + 1h, 7);
        if (!claimed) continue;  // SQLite: busy beyond its timeout is possible; try again
        for (auto& d : *claimed) got[i].push_back(d.id);
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  std::size_t total = 0;
  for (const auto& g : got) {
    total += g.size();
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(total, 200u);
  EXPECT_EQ(all.size(), 200u);
}

// Alerts written together are all or none: a duplicate id in the batch writes nothing.
TEST_P(AlertingStoreTest, AlertsWrittenTogetherAreAllOrNone) {
  auto a = alert(1), b = alert(2);
  ASSERT_TRUE(
      store().insert_alerts({{a, {delivery(a, "d1", kT0)}}, {b, {delivery(b, "d1", kT0)}}}));
  EXPECT_EQ(store().query_alerts({}).value().alerts.size(), 2u);
  EXPECT_EQ(store().query_deliveries({}).value().deliveries.size(), 2u);
  auto c = alert(3);
  EXPECT_EQ(store().insert_alerts({{c, {}}, {a, {}}}).error().code, Errc::conflict);
  EXPECT_EQ(store().find_alert(c.id).error().code, Errc::not_found);
}

TEST_P(AlertingStoreTest, CommandsKeepTheAgentsAnswers) {
  SensorCommand c{uuid_v4(), "sensor-a", "command", "restart",    boost::json::object{{"delay", 5}},
                  "sent",    kT0,        "admin",   std::nullopt, std::nullopt};
  ASSERT_TRUE(store().insert_command(c));
  auto later = c;
  later.id = uuid_v4();
  later.issued_at = kT0 + 1s;
  ASSERT_TRUE(store().insert_command(later));
  EXPECT_EQ(store().set_command_result(c.id, "sensor-b", "succeeded", "ok", kT0 + 2s).error().code,
            Errc::not_found);
  ASSERT_TRUE(store().set_command_result(c.id, "sensor-a", "failed", "no such service", kT0 + 2s));
  auto history = store().list_commands("sensor-a", 10).value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].id, later.id);
  EXPECT_EQ(history[1].status, "failed");
  EXPECT_EQ(history[1].message, "no such service");
  EXPECT_EQ(history[1].updated_at, kT0 + 2s);
  EXPECT_EQ(history[1].args, c.args);
  EXPECT_TRUE(store().list_commands("sensor-b", 10).value().empty());
}

HONEYMAN_STORE_SUITE(AlertingStoreTest);

}  // namespace
}  // namespace honeyman::store::testing
