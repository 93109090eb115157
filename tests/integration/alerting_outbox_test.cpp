// The alert outbox (SPEC §8, issue #16): deliveries retried with backoff survive a restart and
// reach the receiver exactly once among its 2xx answers; two instances on one database never
// deliver one delivery twice. The receiver decides, request by request, what it answers and
// records it, so "exactly once" is counted by X-Honeyman-Delivery among the 2xx answers.
#include <gtest/gtest.h>

#include <thread>

#include "integration/alerting_support.hpp"

namespace honeyman::testing::alerting_it {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// The alert id each delivery carried, from the bodies the receiver got (every attempt of one
// delivery must carry the same bytes).
std::map<std::string, std::string> alert_per_delivery(const RecordingReceiver& receiver) {
  std::map<std::string, std::string> alert_of;
  std::map<std::string, std::string> body_of;
  for (auto& [request, status] : receiver.answered()) {
    auto delivery = request.header("X-Honeyman-Delivery");
    auto [it, first] = body_of.emplace(delivery, request.body);
    EXPECT_TRUE(first || it->second == request.body)
        << "delivery " << delivery << " changed its body between attempts";
    auto body = json::parse(request.body);
    alert_of[delivery] = std::string(body.at("data").at("id").as_string());
  }
  return alert_of;
}

// Waits until the receiver has answered 2xx to `n` distinct deliveries, then a little longer
// (several retry periods) so a duplicate would have time to arrive.
void wait_successes(const RecordingReceiver& receiver, std::size_t n) {
  EXPECT_TRUE(eventually([&] { return receiver.successes_per_delivery().size() >= n; }, 60s))
      << receiver.successes_per_delivery().size() << " of " << n << " delivered";
  std::this_thread::sleep_for(1500ms);
}

TEST(AlertOutboxTest, RetriesSurviveARestartAndEachDeliveryArrivesOnce) {
  RecordingReceiver receiver;
  receiver.answer(500);
  ServerProcess server(alerting_env());
  server.add_user("root", "admin", "admin-password-1");
  auto key = server.add_sensor("sensor-a", "Sensor A");
  server.start();
  AlertApi api(server, server.login("root", "admin-password-1"));
  auto dest = api.webhook("flaky", receiver.url(), "restart-secret");
  auto rule = api.simple_rule("restart", {"restart_probe"}, {id_of(dest)});
  auto rule_id = id_of(rule);
  constexpr std::size_t kAlerts = 3;
  for (std::size_t i = 0; i < kAlerts; ++i) post_threat(server, key, "sensor-a", "restart_probe");

  // Every delivery failed at least twice (so it was retried) before the restart.
  ASSERT_TRUE(eventually(
      [&] {
        auto attempts = receiver.attempts_per_delivery();
        if (attempts.size() < kAlerts) return false;
        for (auto& [id, n] : attempts)
          if (n < 2) return false;
        return true;
      },
      30s))
      << server.log();
  ASSERT_EQ(server.stop(), 0) << server.log();
  receiver.answer(200);
  server.start();
  AlertApi after(server, server.login("root", "admin-password-1"));
  wait_successes(receiver, kAlerts);

  auto successes = receiver.successes_per_delivery();
  EXPECT_EQ(successes.size(), kAlerts);
  for (auto& [delivery, n] : successes)
    EXPECT_EQ(n, 1) << "delivery " << delivery << " was accepted " << n << " times";
  auto alerts = after.alerts_of_rule(rule_id);
  ASSERT_EQ(alerts.size(), kAlerts);
  std::set<std::string> delivered_alerts;
  auto alert_of = alert_per_delivery(receiver);
  for (auto& [delivery, n] : successes) delivered_alerts.insert(alert_of[delivery]);
  EXPECT_EQ(delivered_alerts, ids_of(alerts));

  for (auto& alert : alerts) {
    auto deliveries = after.deliveries("alert_id=" + std::string(alert.at("id").as_string()));
    ASSERT_EQ(deliveries.size(), 1u);
    const auto& d = deliveries[0].as_object();
    EXPECT_EQ(d.at("status"), "delivered");
    EXPECT_GT(d.at("attempts").as_int64(), 1);
    EXPECT_TRUE(d.at("delivered_at").is_string());
    EXPECT_EQ(successes.count(std::string(d.at("id").as_string())), 1u);
  }
  auto delivered = ids_of(after.deliveries("status=delivered"));
  EXPECT_EQ(delivered.size(), kAlerts);
  EXPECT_TRUE(after.deliveries("status=pending").empty());
  EXPECT_TRUE(after.deliveries("status=failed").empty());
  for (auto& [request, status] : receiver.answered())
    EXPECT_EQ(request.header("X-Honeyman-Signature"),
              expected_signature("restart-secret", request.body));
}

// Both instances run the outbox; the receiver refuses the first requests so that retries, due
// at the same moments on both, compete for the same rows.
TEST(AlertOutboxTest, TwoInstancesOnOneDatabaseDeliverEachDeliveryOnce) {
  RecordingReceiver receiver;
  receiver.answer_with([](std::size_t index) { return index < 6 ? 500 : 200; });
  auto env = alerting_env();
  env["ALERT_RELOAD_SECONDS"] = "1";
  ServerProcess first(env);
  first.add_user("root", "admin", "admin-password-1");
  auto key = first.add_sensor("sensor-a", "Sensor A");
  first.start();
  ServerProcess second(first.env());
  second.start();
  AlertApi api(first, first.login("root", "admin-password-1"));
  auto dest = api.webhook("shared", receiver.url(), "cluster-secret");
  auto rule = api.simple_rule("cluster", {"cluster_probe"}, {id_of(dest)});
  auto rule_id = id_of(rule);

  // The second instance knows the rule once a threat it stored fired it.
  ASSERT_TRUE(eventually(
      [&] {
        auto id = post_threat(second, key, "sensor-a", "cluster_probe");
        std::this_thread::sleep_for(300ms);
        for (auto& a : api.alerts_of_rule(rule_id))
          if (a.at("threat_ids").at(0) == id.c_str()) return true;
        return false;
      },
      20s))
      << "the second instance never loaded the rule\n"
      << second.log();
  for (int i = 0; i < 10; ++i)
    post_threat(i % 2 == 0 ? first : second, key, "sensor-a", "cluster_probe");
  auto alerts = api.wait_alerts(rule_id, 11);
  wait_successes(receiver, alerts.size());
  alerts = api.alerts_of_rule(rule_id);

  // What the receiver did not tell apart from a 2xx (status 0: never answered) would show too.
  std::map<std::string, int> per_delivery;
  std::vector<int> odd_statuses;
  for (auto& [request, status] : receiver.answered()) {
    if (status == 200) ++per_delivery[request.header("X-Honeyman-Delivery")];
    if (status != 200 && status != 500) odd_statuses.push_back(status);
  }
  EXPECT_TRUE(odd_statuses.empty());
  EXPECT_EQ(per_delivery.size(), alerts.size());
  for (auto& [delivery, n] : per_delivery)
    EXPECT_EQ(n, 1) << "delivery " << delivery << " was accepted " << n << " times";
  std::set<std::string> delivered_alerts;
  auto alert_of = alert_per_delivery(receiver);
  for (auto& [delivery, n] : per_delivery) delivered_alerts.insert(alert_of[delivery]);
  EXPECT_EQ(delivered_alerts, ids_of(alerts));
  auto deliveries = api.deliveries("status=delivered");
  EXPECT_EQ(deliveries.size(), alerts.size());
  EXPECT_TRUE(api.deliveries("status=pending").empty());
}

// A receiver that never answers costs one attempt its timeout, not the outbox its progress.
TEST(AlertOutboxTest, AHangingReceiverTimesOutAndIsRetried) {
  RecordingReceiver receiver;
  receiver.answer_with([](std::size_t index) { return index == 0 ? WebhookReceiver::kHang : 200; });
  auto env = alerting_env();
  env["ALERT_HTTP_TIMEOUT_MS"] = "1000";
  ServerProcess server(env);
  server.add_user("root", "admin", "admin-password-1");
  auto key = server.add_sensor("sensor-a", "Sensor A");
  server.start();
  AlertApi api(server, server.login("root", "admin-password-1"));
  auto dest = api.webhook("hangs", receiver.url(), "hang-secret");
  auto rule = api.simple_rule("hang", {"hang_probe"}, {id_of(dest)});
  post_threat(server, key, "sensor-a", "hang_probe");
  ASSERT_EQ(receiver.receiver().wait_for(1, 15s).size(), 1u);  // and it hangs
  post_threat(server, key, "sensor-a", "hang_probe");
  auto alerts = api.wait_alerts(id_of(rule), 2);
  wait_successes(receiver, 2);

  auto successes = receiver.successes_per_delivery();
  EXPECT_EQ(successes.size(), 2u);
  for (auto& [delivery, n] : successes) EXPECT_EQ(n, 1) << delivery;
  auto hung = receiver.answered().front().first.header("X-Honeyman-Delivery");
  EXPECT_EQ(successes.count(hung), 1u) << "the delivery that hung was never retried";
  for (auto& d : api.deliveries("status=delivered"))
    if (d.at("id") == hung.c_str()) EXPECT_GE(d.at("attempts").as_int64(), 2);
  EXPECT_EQ(api.deliveries("status=delivered").size(), 2u);
}

}  // namespace
}  // namespace honeyman::testing::alerting_it
