// Threat ids made of the message (exactly-once storage) and the clock-skew policy.
#include <boost/json/parse.hpp>

#include "domain/domain_test_support.hpp"

namespace honeyman::domain {
namespace {
using namespace test_support;
using std::chrono::hours;
using std::chrono::seconds;

// The receipt time comes from a clock, as in ingest; the tests move it.
IngestContext skew_ctx(const ManualClock& clock, std::string_view message) {
  IngestContext ctx;
  ctx.authenticated_sensor_id = kSensor;
  ctx.now = clock.now();
  ctx.message = message;
  return ctx;
}

std::string skew_agent_threat(std::string_view timestamp) {
  json::object p = wire_object("agent-threat.json");
  p["timestamp"] = timestamp;
  return to_json_text(p);
}

Result<Threat> skew_normalise(const ManualClock& clock, const std::string& message) {
  return normalize_threat(json::parse(message), skew_ctx(clock, message));
}

TEST(ThreatIdempotence, TheSameMessageGetsTheSameIdWhenRedelivered) {
  ManualClock clock(kNow);
  const std::string message = skew_agent_threat("2026-08-08T14:03:27.512904");
  auto first = skew_normalise(clock, message);
  clock.advance(hours(3));  // a restart later, the broker redelivers it
  auto again = skew_normalise(clock, message);
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first->id, again->id);
  EXPECT_EQ(first->timestamp, again->timestamp);
  EXPECT_FALSE(first->timestamp_from_receipt);
  // A valid UUID, version 8, RFC 9562 variant.
  EXPECT_EQ(normalize_uuid(first->id), first->id);
  EXPECT_EQ(first->id[14], '8');
  EXPECT_NE(std::string("89ab").find(first->id[19]), std::string::npos) << first->id;
}

TEST(ThreatIdempotence, IdsDependOnSensorMessageAndPlace) {
  const std::string a = sha256_hex(skew_agent_threat("2026-08-08T14:03:27Z"));
  const std::string b = sha256_hex(skew_agent_threat("2026-08-08T14:03:28Z"));
  const std::optional<Timestamp> none;
  EXPECT_EQ(threat_id("s1", a, 0, none), threat_id("s1", a, 0, none));
  EXPECT_NE(threat_id("s1", a, 0, none), threat_id("s2", a, 0, none));
  EXPECT_NE(threat_id("s1", a, 0, none), threat_id("s1", b, 0, none));
  EXPECT_NE(threat_id("s1", a, 0, none), threat_id("s1", a, 1, none));
  // The separator keeps sensor and index apart: "s1" + "10" is not "s11" + "0".
  EXPECT_NE(threat_id("s1", a, 10, none), threat_id("s11", a, 0, none));
}

// Ids lead with the stated time, as UUID v7s do, so a sensor's inserts append to the id index.
TEST(ThreatIdempotence, IdsAscendWithTheStatedTime) {
  const std::string a = sha256_hex(skew_agent_threat("2026-08-08T14:03:27Z"));
  auto t0 = parse_timestamp("2026-08-08T14:03:27Z");
  ASSERT_TRUE(t0);
  auto early = threat_id("s1", a, 0, *t0);
  auto later = threat_id("s1", a, 0, *t0 + std::chrono::milliseconds(1));
  EXPECT_LT(early, later);
  EXPECT_EQ(early.substr(0, 13), "019fe1af-8f98");  // 1786197807000 ms
  EXPECT_EQ(threat_id("s1", a, 0, std::nullopt).substr(0, 13), "00000000-0000");
  // The hash part still tells messages of the same millisecond apart.
  EXPECT_NE(threat_id("s1", a, 0, *t0), threat_id("s1", a, 1, *t0));
}

TEST(ThreatIdempotence, EachThreatOfABatchHasItsOwnStableId) {
  ManualClock clock(kNow);
  const std::string item = skew_agent_threat("2026-08-08T14:03:27Z");
  const std::string batch = "[" + item + "," + item + "]";  // two identical detections
  auto first = normalize_threats(json::parse(batch), skew_ctx(clock, batch));
  clock.advance(seconds(30));
  auto again = normalize_threats(json::parse(batch), skew_ctx(clock, batch));
  ASSERT_TRUE(first && again);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_NE((*first)[0].id, (*first)[1].id);
  EXPECT_EQ((*first)[0].id, (*again)[0].id);
  EXPECT_EQ((*first)[1].id, (*again)[1].id);
  // Derived from the digest of the whole message (hashed once), the sensor and the place.
  EXPECT_EQ((*first)[1].id, threat_id(kSensor, sha256_hex(batch), 1,
                                      parse_timestamp("2026-08-08T14:03:27Z").value()));
  // A single object is the first threat of its message.
  auto single = normalize_threats(json::parse(item), skew_ctx(clock, item));
  ASSERT_TRUE(single);
  EXPECT_EQ(single->front().id, threat_id(kSensor, sha256_hex(item), 0,
                                          parse_timestamp("2026-08-08T14:03:27Z").value()));
}

TEST(ThreatClockSkew, ATimeWithinTheSkewIsKept) {
  ManualClock clock(kNow);
  // By default the past has no bound beyond the unset-clock floor (2020): late deliveries and
  // imports keep their time.
  for (auto ts : {"2026-08-09T15:00:00Z", "2020-01-01T00:00:00Z", "2026-08-08T14:03:27Z"}) {
    auto t = skew_normalise(clock, skew_agent_threat(ts));
    ASSERT_TRUE(t) << ts;
    EXPECT_EQ(t->timestamp, at(ts)) << ts;
    EXPECT_FALSE(t->clock_skew) << ts;
    EXPECT_FALSE(t->raw_event.contains("sensor_timestamp")) << ts;
  }
}

TEST(ThreatClockSkew, A1970OrNextYearTimeBecomesTheReceiptTime) {
  ManualClock clock(kNow);
  clock.advance(seconds(7));
  const auto receipt = clock.now();
  for (auto ts : {"1970-01-01T00:00:12Z", "2027-08-08T15:00:00Z", "2026-08-09T15:00:07.000001Z",
                  "2019-12-31T23:59:59Z"}) {
    auto t = skew_normalise(clock, skew_agent_threat(ts));
    ASSERT_TRUE(t) << ts;
    EXPECT_EQ(t->timestamp, receipt) << ts;
    EXPECT_TRUE(t->timestamp_from_receipt) << ts;
    ASSERT_TRUE(t->clock_skew) << ts;
    EXPECT_EQ(*t->clock_skew, at(ts) - receipt) << ts;
    EXPECT_EQ(t->raw_event.at("sensor_timestamp").as_string(), format_timestamp(at(ts)).c_str())
        << ts;
  }
}

TEST(ThreatClockSkew, TheCanonicalFormatFollowsThePolicyToo) {
  ManualClock clock(kNow);
  json::object p = wire_object("canonical-threat.json");
  p["timestamp"] = "1970-01-01T00:00:00Z";
  const std::string message = to_json_text(p);
  auto t = normalize_threat(p, skew_ctx(clock, message));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->timestamp, kNow);
  EXPECT_EQ(t->raw_event.at("sensor_timestamp"), "1970-01-01T00:00:00.000000Z");
  p.erase("timestamp");  // no time at all: the receipt time, but no skew to count
  auto none = normalize_threat(p, skew_ctx(clock, to_json_text(p)));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->timestamp, kNow);
  EXPECT_TRUE(none->timestamp_from_receipt);
  EXPECT_FALSE(none->clock_skew);
}

TEST(ThreatClockSkew, TheLimitsAreConfigurable) {
  ManualClock clock(kNow);
  auto ctx = skew_ctx(clock, "m");
  ctx.clock_skew.max_future = seconds(60);
  ctx.clock_skew.max_past = hours(1);
  json::object p = wire_object("agent-threat.json");
  p["timestamp"] = format_timestamp(kNow + seconds(61));
  auto ahead = normalize_threat(p, ctx);
  p["timestamp"] = format_timestamp(kNow - hours(1));
  auto hour_ago = normalize_threat(p, ctx);
  ASSERT_TRUE(ahead && hour_ago);
  EXPECT_EQ(ahead->timestamp, kNow);
  EXPECT_EQ(hour_ago->timestamp, kNow - hours(1));
}

TEST(ThreatClockSkew, ARedeliveredSkewedMessageKeepsItsId) {
  ManualClock clock(kNow);
  const std::string message = skew_agent_threat("1970-01-01T00:00:00");
  auto first = skew_normalise(clock, message);
  clock.advance(hours(1));
  auto again = skew_normalise(clock, message);
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first->id, again->id);
  // Stamped at each receipt: the stores catch the copy by id (timestamp_from_receipt).
  EXPECT_NE(first->timestamp, again->timestamp);
  EXPECT_TRUE(again->timestamp_from_receipt);
}

}  // namespace
}  // namespace honeyman::domain
