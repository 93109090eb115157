// ResponseCache: fresh hits, one refresher after expiry while others get the previous answer,
// errors never cached, and nothing served once it is far too old. Time is passed in.
#include "api/detail/response_cache.hpp"

#include <gtest/gtest.h>

namespace honeyman::api::detail {
namespace {

using namespace std::chrono_literals;
using Clock = ResponseCache::Clock;

http::Response answer(std::string body, http::StatusCode status = http::StatusCode::ok) {
  http::Response r{status, 11};
  r.body() = std::move(body);
  return r;
}

std::string body_of(const std::optional<http::Response>& r) {
  return r ? r->body() : "<miss>";
}

TEST(ResponseCache, FreshHitsThenOneRefresherWhileOthersGetThePreviousAnswer) {
  ResponseCache cache(1000ms);
  const auto t0 = Clock::time_point{} + 1h;
  EXPECT_EQ(body_of(cache.lookup("/a", t0)), "<miss>");
  EXPECT_EQ(body_of(cache.lookup("/a", t0)), "<miss>");  // nothing yet: both compute
  cache.store("/a", answer("one"), t0);
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 999ms)), "one");
  EXPECT_EQ(body_of(cache.lookup("/b", t0 + 999ms)), "<miss>");  // keys are whole targets
  // Expired: the first caller refreshes, the others keep the previous answer meanwhile.
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 1000ms)), "<miss>");
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 1001ms)), "one");
  cache.store("/a", answer("two"), t0 + 1000ms);
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 1500ms)), "two");
}

TEST(ResponseCache, ClearDropsEntriesAndAnswersStartedBeforeIt) {
  ResponseCache cache(1000ms);
  const auto t0 = Clock::time_point{} + 1h;
  cache.store("/a", answer("old"), t0);
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 10ms)), "old");
  // A read began before the write and finishes after it: its answer must not be kept.
  EXPECT_EQ(body_of(cache.lookup("/b", t0 + 20ms)), "<miss>");
  cache.clear(t0 + 30ms);
  cache.store("/b", answer("stale"), t0 + 20ms);
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 40ms)), "<miss>");
  EXPECT_EQ(body_of(cache.lookup("/b", t0 + 40ms)), "<miss>");
  cache.store("/b", answer("fresh"), t0 + 40ms);
  EXPECT_EQ(body_of(cache.lookup("/b", t0 + 50ms)), "fresh");
}

TEST(ResponseCache, ErrorsAreNotKeptAndEndTheRefresh) {
  ResponseCache cache(1000ms);
  const auto t0 = Clock::time_point{} + 1h;
  cache.store("/a", answer("boom", http::StatusCode::service_unavailable), t0);
  EXPECT_EQ(body_of(cache.lookup("/a", t0)), "<miss>");
  cache.store("/a", answer("one"), t0);
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 2s)), "<miss>");  // this caller refreshes...
  cache.store("/a", answer("busy", http::StatusCode::service_unavailable),
              t0 + 2s);                                           // ...and fails
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 2100ms)), "<miss>");  // so the next one tries again
}

TEST(ResponseCache, NeverServesAnswersOlderThanFiveTtls) {
  ResponseCache cache(1000ms);
  const auto t0 = Clock::time_point{} + 1h;
  cache.store("/a", answer("one"), t0);
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 1s)), "<miss>");  // refresher that never returns
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 4999ms)), "one");
  EXPECT_EQ(body_of(cache.lookup("/a", t0 + 5s)), "<miss>");
}

TEST(ResponseCache, ZeroTtlIsDisabled) {
  EXPECT_FALSE(ResponseCache(0ms).enabled());
  EXPECT_TRUE(ResponseCache(1ms).enabled());
}

}  // namespace
}  // namespace honeyman::api::detail
