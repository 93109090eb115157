// The Redis bus against the throwaway Redis of scripts/test-servers (HONEYMAN_TEST_REDIS_URL):
// what one instance publishes reaches the other's listeners, byte for byte, and nobody twice;
// the plain text channel on the same transport reaches the other instances only.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "bus/bus.hpp"
#include "support/wait.hpp"

namespace honeyman::bus {
namespace {

struct Inbox {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> frames;
  void add(const EventBatch& batch) {
    std::lock_guard lock(mutex);
    for (const auto& e : batch) frames.push_back(*e->frame);
    cv.notify_all();
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return frames.size() >= n; });
  }
};

TEST(RedisBus, InstancesReceiveEachOthersEventsOnce) {
  const char* url = std::getenv("HONEYMAN_TEST_REDIS_URL");
  ASSERT_TRUE(url && *url) << "HONEYMAN_TEST_REDIS_URL is not set (scripts/test-servers start)";
  BusConfig config;
  config.redis_url = url;
  config.channel = "honeyman:test:" + uuid_v4();
  auto a = make_redis_bus(config), b = make_redis_bus(config);
  ASSERT_TRUE(a && b);
  Inbox at_a, at_b;
  (*a)->subscribe([&](const EventBatch& e) { at_a.add(e); });
  (*b)->subscribe([&](const EventBatch& e) { at_b.add(e); });
  ASSERT_TRUE(testing::eventually([&] { return (*a)->connected() && (*b)->connected(); }));

  domain::Threat t;
  t.id = uuid_v7(system_clock().now());
  t.sensor_id = "s1";
  t.threat_type = "x";
  t.detector_type = "usb";
  auto threat = threat_event(t, system_clock().now());
  auto status = sensor_status_event("s1", true, std::nullopt, system_clock().now());
  (*a)->publish({threat, status});
  ASSERT_TRUE(at_b.wait_for(2));
  ASSERT_TRUE(at_a.wait_for(2));
  // No waiting for an echo that should not come: Redis delivers a channel's messages to each
  // subscriber in publication order, so a marker published by b after it received a's events
  // reaches a after any echo of them would have; likewise a marker from a for b's own echo.
  auto from_b = sensor_status_event("marker-b", true, std::nullopt, system_clock().now());
  (*b)->publish({from_b});
  ASSERT_TRUE(at_a.wait_for(3));
  auto from_a = sensor_status_event("marker-a", false, std::nullopt, system_clock().now());
  (*a)->publish({from_a});
  ASSERT_TRUE(at_b.wait_for(4));
  ASSERT_TRUE(at_a.wait_for(4));
  std::vector<std::string> expected{*threat->frame, *status->frame, *from_b->frame, *from_a->frame};
  EXPECT_EQ(at_b.frames, expected);
  EXPECT_EQ(at_a.frames, expected) << "the publisher's own listeners get each event once";
  EXPECT_EQ((*b)->counters().received, 3u);  // threat, status, marker-a
  EXPECT_EQ((*a)->counters().received, 1u);  // marker-b
}

TEST(RedisTextChannel, MessagesReachTheOtherInstancesNotTheSender) {
  const char* url = std::getenv("HONEYMAN_TEST_REDIS_URL");
  ASSERT_TRUE(url && *url) << "HONEYMAN_TEST_REDIS_URL is not set (scripts/test-servers start)";
  BusConfig config;
  config.redis_url = url;
  config.channel = "honeyman:test:" + uuid_v4();
  auto a = make_redis_channel(config), b = make_redis_channel(config);
  ASSERT_TRUE(a && b);
  Inbox at_a, at_b;
  auto listener = [](Inbox& inbox) {
    return [&inbox](std::string_view m) {
      std::lock_guard lock(inbox.mutex);
      inbox.frames.emplace_back(m);
      inbox.cv.notify_all();
    };
  };
  (*a)->listen(listener(at_a));
  (*b)->listen(listener(at_b));
  for (int i = 0; i < 100 && !((*a)->connected() && (*b)->connected()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE((*a)->connected() && (*b)->connected());
  (*a)->publish("from a\nwith a newline");
  ASSERT_TRUE(at_b.wait_for(1));
  // Redis queued the echo of "from a" to a before b's copy: on a's connection it comes before
  // "from b", so once a has "from b" an echo would have shown.
  (*b)->publish("from b");
  ASSERT_TRUE(at_a.wait_for(1));
  std::lock_guard lock_a(at_a.mutex);
  std::lock_guard lock_b(at_b.mutex);
  EXPECT_EQ(at_b.frames, (std::vector<std::string>{"from a\nwith a newline"}));
  EXPECT_EQ(at_a.frames, (std::vector<std::string>{"from b"}));
}

}  // namespace
}  // namespace honeyman::bus
