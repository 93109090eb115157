#include "bus/bus.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>

namespace honeyman::bus {
namespace {

domain::Threat sample_threat() {
  domain::Threat t;
  t.id = uuid_v7(from_unix_micros(1'700'000'000'000'000));
  t.timestamp = from_unix_micros(1'700'000'000'000'000);
  t.sensor_id = "sensor-a";
  t.threat_type = "rogue_ap";
  t.detector_type = "wifi";
  t.severity = domain::Severity::high;
  t.threat_score = 0.75;
  t.device_name = "evil";
  return t;
}

TEST(BusEvents, ThreatFrameHasTheSpecShapeAndTheCommitTime) {
  auto committed = from_unix_micros(1'700'000'001'000'000);
  auto event = threat_event(sample_threat(), committed);
  auto frame = boost::json::parse(*event->frame).as_object();
  EXPECT_EQ(frame.at("type").as_string(), "threat");
  EXPECT_EQ(frame.at("timestamp").as_string(), format_timestamp(committed));
  auto data = frame.at("data").as_object();
  EXPECT_EQ(data.size(), 10u);
  EXPECT_EQ(data.at("severity").as_string(), "high");
  EXPECT_EQ(data.at("device_name").as_string(), "evil");
  EXPECT_TRUE(data.at("latitude").is_null());
  EXPECT_EQ(event->detector_type, "wifi");
}

TEST(BusEvents, ThreatFrameBytesAreStable) {
  // Live clients and other instances parse these bytes: key order and number format included.
  auto t = sample_threat();
  t.id = "018bcfe5-6800-7000-8000-000000000001";
  t.latitude = 36.1147;
  t.longitude = -115.1728;
  t.device_name.reset();
  auto event = threat_event(t, from_unix_micros(1'700'000'001'000'000));
  EXPECT_EQ(*event->frame,
            R"({"type":"threat","data":{"id":"018bcfe5-6800-7000-8000-000000000001",)"
            R"("timestamp":"2023-11-14T22:13:20.000000Z","sensor_id":"sensor-a",)"
            R"("threat_type":"rogue_ap","severity":"high","detector_type":"wifi",)"
            R"("threat_score":0.75,"device_name":null,"latitude":36.1147,)"
            R"("longitude":-115.1728},"timestamp":"2023-11-14T22:13:21.000000Z"})");
}

TEST(BusEvents, ParseRebuildsTheFilterFields) {
  auto original = threat_event(sample_threat(), from_unix_micros(1'700'000'001'000'000));
  auto parsed = parse_event(*original->frame);
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)->kind, EventKind::threat);
  EXPECT_EQ((*parsed)->id, original->id);
  EXPECT_EQ((*parsed)->sensor_id, "sensor-a");
  EXPECT_EQ((*parsed)->severity, "high");
  EXPECT_EQ((*parsed)->detector_type, "wifi");
  auto status = parse_event(*sensor_status_event("s1", false, std::nullopt, {})->frame);
  ASSERT_TRUE(status);
  EXPECT_EQ((*status)->kind, EventKind::sensor_status);
  EXPECT_EQ((*status)->sensor_id, "s1");
  // Rate-limit usage no longer travels as an event (http exchanges it on a channel of its own).
  EXPECT_FALSE(parse_event(R"({"type":"rate_usage","data":{"instance":"x","usage":[]}})"));
  EXPECT_FALSE(parse_event("{\"type\":\"other\",\"data\":{}}"));
  EXPECT_FALSE(parse_event("not json"));
}

TEST(LocalBus, EveryListenerGetsTheSameBuffer) {
  auto bus = make_local_bus({});
  std::mutex m;
  std::condition_variable cv;
  std::vector<const std::string*> seen;
  for (int i = 0; i < 2; ++i)
    bus->subscribe([&](const EventBatch& batch) {
      std::lock_guard lock(m);
      for (const auto& e : batch) seen.push_back(e->frame.get());
      cv.notify_all();
    });
  auto event = threat_event(sample_threat(), {});
  bus->publish({event});
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return seen.size() == 2; }));
  EXPECT_EQ(seen[0], event->frame.get());
  EXPECT_EQ(seen[1], event->frame.get());
}

TEST(RedisBus, RefusesAMalformedUrl) {
  BusConfig config;
  config.redis_url = "http://localhost";
  EXPECT_FALSE(make_redis_bus(config));
  config.redis_url = "redis://localhost:6379/x";
  EXPECT_FALSE(make_redis_bus(config));
}

}  // namespace
}  // namespace honeyman::bus
