// What the live feed asks of a store: replay after a threat id (threats_after) and the liveness
// sweep that announces each online/offline change exactly once (sweep_sensor_status).
#include <algorithm>
#include <atomic>
#include <thread>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

class LiveTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    add_sensors(store(), {"sensor-a", "sensor-b"});
  }
  std::vector<SensorStatusChange> sweep(Store& s, Timestamp online_since) {
    auto changes = s.sweep_sensor_status(online_since);
    EXPECT_TRUE(changes) << changes.error().message;
    return changes ? *changes : std::vector<SensorStatusChange>{};
  }
  void heartbeat(const std::string& sensor_id, Timestamp at) {
    domain::Heartbeat hb;
    hb.sensor_id = sensor_id;
    hb.timestamp = at;
    ASSERT_TRUE(store().record_heartbeats({hb}));
  }
};

// Insertion order, not id order: ids are made of the messages (not time-ordered), so the ids
// of this batch are given in descending order.
TEST_P(LiveTest, ThreatsAfterAnIdComeInInsertionOrderUpToTheLimit) {
  std::vector<domain::Threat> threats;
  for (int i = 0; i < 6; ++i)
    threats.push_back(make_threat({.timestamp = kT0 + std::chrono::seconds(i)}));
  std::sort(threats.begin(), threats.end(),
            [](const auto& a, const auto& b) { return a.id > b.id; });
  insert(store(), {threats.begin(), threats.begin() + 3});
  insert(store(), {threats.begin() + 3, threats.end()});
  auto ids = ids_of(threats);
  auto after = store().threats_after(ids[1], 10);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(ids_of(*after), std::vector<std::string>(ids.begin() + 2, ids.end()));
  auto limited = store().threats_after(ids[1], 2);
  ASSERT_TRUE(limited);
  EXPECT_EQ(ids_of(*limited), std::vector<std::string>(ids.begin() + 2, ids.begin() + 4));
  auto none = store().threats_after(ids.back(), 10);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(code_of(store().threats_after("not-a-uuid", 10)), Errc::invalid_input);
  EXPECT_TRUE(store().threats_after(uuid_v4(), 10).value().empty());  // not stored (any more)
}

TEST_P(LiveTest, SweepReportsEachChangeOnce) {
  heartbeat("sensor-a", kT0);
  auto online = sweep(store(), kT0 - std::chrono::minutes(3));
  ASSERT_EQ(online.size(), 1u);
  EXPECT_EQ(online[0].sensor_id, "sensor-a");
  EXPECT_TRUE(online[0].is_online);
  EXPECT_EQ(online[0].last_heartbeat, kT0);
  EXPECT_TRUE(sweep(store(), kT0 - std::chrono::minutes(3)).empty());
  auto offline = sweep(store(), kT0 + std::chrono::seconds(1));
  ASSERT_EQ(offline.size(), 1u);
  EXPECT_EQ(offline[0].sensor_id, "sensor-a");
  EXPECT_FALSE(offline[0].is_online);
  EXPECT_TRUE(sweep(store(), kT0 + std::chrono::seconds(1)).empty());
}

// Several instances sweep at the same moment: the change is reported by exactly one of them.
TEST_P(LiveTest, ConcurrentSweepsReportAChangeOnce) {
  heartbeat("sensor-a", kT0);
  heartbeat("sensor-b", kT0);
  // A memory database exists once per Store, so there the threads share this one.
  const bool shared = url_.find(":memory:") != std::string::npos;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < 4 && !shared; ++i) stores.push_back(open_again());
  std::vector<Store*> sweepers;
  for (int i = 0; i < 4; ++i) sweepers.push_back(shared ? &store() : stores[i].get());
  std::atomic<int> reported{0};
  std::vector<std::thread> threads;
  for (auto* s : sweepers)
    threads.emplace_back([&, s] {
      for (int round = 0; round < 5; ++round) {
        auto changes = s->sweep_sensor_status(kT0 - std::chrono::minutes(3));
        if (changes) reported += static_cast<int>(changes->size());
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(reported.load(), 2);
}

HONEYMAN_STORE_SUITE(LiveTest);

}  // namespace
}  // namespace honeyman::store::testing
