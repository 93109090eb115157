#include "api/detail/live_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

namespace honeyman::api::detail {
namespace {

bus::EventPtr threat(const std::string& sensor, domain::Severity severity,
                     const std::string& detector) {
  domain::Threat t;
  t.id = uuid_v7(from_unix_micros(1'700'000'000'000'000));
  t.sensor_id = sensor;
  t.severity = severity;
  t.detector_type = detector;
  return bus::threat_event(t, {});
}

LiveFilter filter(std::string_view text) {
  auto parsed = parse_filter(boost::json::parse(text));
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : LiveFilter{};
}

TEST(LiveFilter, EmptyListsAllowEverything) {
  auto f = filter("{}");
  EXPECT_TRUE(f.matches(*threat("a", domain::Severity::low, "usb")));
  EXPECT_TRUE(f.matches(*bus::sensor_status_event("a", true, std::nullopt, {})));
}

TEST(LiveFilter, ListsAreOrWithinAndAcross) {
  auto f = filter(R"({"severity":["HIGH","critical"],"detector_type":["wifi"]})");
  EXPECT_TRUE(f.matches(*threat("a", domain::Severity::high, "wifi")));
  EXPECT_TRUE(f.matches(*threat("b", domain::Severity::critical, "wifi")));
  EXPECT_FALSE(f.matches(*threat("a", domain::Severity::low, "wifi")));
  EXPECT_FALSE(f.matches(*threat("a", domain::Severity::high, "ble")));
}

TEST(LiveFilter, SensorStatusFollowsTheSensorListOnly) {
  auto f = filter(R"({"severity":["critical"],"sensor_id":["s1"]})");
  EXPECT_TRUE(f.matches(*bus::sensor_status_event("s1", false, std::nullopt, {})));
  EXPECT_FALSE(f.matches(*bus::sensor_status_event("s2", false, std::nullopt, {})));
}

TEST(LiveFilter, MalformedFiltersAreRefused) {
  for (auto text :
       {R"([])", R"({"colour":["red"]})", R"({"severity":"high"})", R"({"sensor_id":[1]})"})
    EXPECT_FALSE(parse_filter(boost::json::parse(text))) << text;
}

TEST(LiveFilter, ValuesAreShortAndPrintableAndKeysAreQuotedSafely) {
  EXPECT_FALSE(
      parse_filter(boost::json::parse(R"({"sensor_id":[")" + std::string(129, 'a') + R"("]})")));
  EXPECT_FALSE(parse_filter(boost::json::parse(R"({"sensor_id":["a\u0001b"]})")));
  // An unknown key comes back in the error cut short and without its control bytes.
  std::string key;
  for (int i = 0; i < 1000; ++i) key += "\\u0001";
  auto bad = parse_filter(boost::json::parse(R"({")" + key + R"(":["x"]})"));
  ASSERT_FALSE(bad);
  EXPECT_LT(bad.error().message.size(), 80u);
  EXPECT_EQ(bad.error().message.find('\x01'), std::string::npos);
}

using namespace std::chrono_literals;

TEST(LiveLiveness, OnlyAPongCarryingARecentPingPayloadKeepsAClient) {
  const Liveness::Time t0{};
  Liveness l(t0, 10s);
  EXPECT_EQ(l.due(t0), Liveness::Action::none);
  EXPECT_EQ(l.due(t0 + 5s), Liveness::Action::ping);
  l.sent("p1", t0 + 5s);
  EXPECT_EQ(l.due(t0 + 6s), Liveness::Action::none);
  EXPECT_FALSE(l.pong("", t0 + 6s)) << "an unsolicited pong proves nothing";
  EXPECT_FALSE(l.pong("guess", t0 + 6s));
  EXPECT_EQ(l.due(t0 + 10s), Liveness::Action::drop);
  EXPECT_TRUE(l.pong("p1", t0 + 7s));
  EXPECT_EQ(l.due(t0 + 10s), Liveness::Action::ping);
  l.sent("p2", t0 + 10s);
  EXPECT_TRUE(l.pong("p1", t0 + 11s)) << "a late answer to the previous ping still counts";
  EXPECT_EQ(l.due(t0 + 14s), Liveness::Action::none);
  EXPECT_EQ(l.due(t0 + 15s), Liveness::Action::ping) << "pings go out every idle / 2";
  EXPECT_EQ(l.due(t0 + 21s), Liveness::Action::drop);
}

Frame numbered(int n) {
  return std::make_shared<const std::string>(std::to_string(n));
}

TEST(FrameQueue, IsFirstInFirstOutAcrossInterleavedPushesAndPops) {
  // Pops that never let the queue drain make it reclaim its taken slots (from 32 on): the order
  // and the count must survive that.
  FrameQueue q;
  EXPECT_TRUE(q.empty());
  int pushed = 0, popped = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7; ++i) q.push_back(numbered(pushed++));
    for (int i = 0; i < 5; ++i) ASSERT_EQ(*q.pop_front(), std::to_string(popped++));
    ASSERT_EQ(q.size(), static_cast<std::size_t>(pushed - popped));
  }
  while (!q.empty()) ASSERT_EQ(*q.pop_front(), std::to_string(popped++));
  EXPECT_EQ(popped, pushed);
  q.push_back(numbered(7));
  EXPECT_EQ(q.size(), 1u) << "usable again once drained";
  q.clear();
  EXPECT_TRUE(q.empty());
}

TEST(FrameQueue, GivesItsFramesBackWhenPopped) {
  FrameQueue q;
  auto f = numbered(1);
  q.push_back(f);
  q.push_back(numbered(2));
  EXPECT_EQ(f.use_count(), 2);
  EXPECT_EQ(q.pop_front(), f);
  EXPECT_EQ(f.use_count(), 1) << "a taken slot keeps no reference to its frame";
}

class LiveClientQueue : public ::testing::Test {
 protected:
  std::shared_ptr<LiveClient> client(QueueLimits limits) {
    return std::make_shared<LiveClient>(boost::asio::ip::tcp::socket(io_), auth::AccessClaims{},
                                        limits, clock_, 30s);
  }
  static Frame frame(std::size_t bytes) { return std::make_shared<const std::string>(bytes, 'x'); }
  // Runs what the client posted (writes fail on the unconnected socket) before it goes away.
  void TearDown() override { io_.run(); }

  boost::asio::io_context io_;
  ManualClock clock_;
};

TEST_F(LiveClientQueue, IsBoundedInBytesAsInFrames) {
  auto c = client({.frames = 100, .bytes = 1000});
  EXPECT_TRUE(c->send(frame(400)));
  EXPECT_TRUE(c->send(frame(400)));
  EXPECT_EQ(c->queued_bytes(), 800u);
  EXPECT_FALSE(c->send(frame(400))) << "1,200 bytes waiting is over the 1,000-byte bound";
  EXPECT_TRUE(c->closing());
  EXPECT_EQ(c->queued_bytes(), 0u) << "a dropped client's queue is freed";
}

TEST_F(LiveClientQueue, IsStillBoundedInFrames) {
  auto c = client({.frames = 2, .bytes = 1 << 20});
  EXPECT_TRUE(c->send(frame(10)));
  EXPECT_TRUE(c->send(frame(10)));
  EXPECT_FALSE(c->send(frame(10)));
  EXPECT_TRUE(c->closing());
}

TEST_F(LiveClientQueue, OneFrameLargerThanTheBoundGoesToAnEmptyQueue) {
  auto c = client({.frames = 100, .bytes = 1000});
  EXPECT_TRUE(c->send(frame(5000)));
  EXPECT_FALSE(c->closing());
  EXPECT_FALSE(c->send(frame(1)));
}

TEST_F(LiveClientQueue, HeldEventsDuringAReplayCountTheirBytes) {
  auto c = client({.frames = 100, .bytes = 1000});
  c->hold();
  domain::Threat t;
  t.id = uuid_v7(from_unix_micros(1'700'000'000'000'000));
  t.sensor_id = "s";
  t.threat_type = std::string(600, 'y');
  auto e = bus::threat_event(t, {});
  ASSERT_GT(e->frame->size(), 600u);
  EXPECT_TRUE(c->deliver({e}));
  EXPECT_FALSE(c->deliver({e})) << "two held events are over the 1,000-byte bound";
  EXPECT_TRUE(c->closing());
}

}  // namespace
}  // namespace honeyman::api::detail
