#include "http/http.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>

#include "http/detail/rate_limiter.hpp"
#include "http/detail/route_metrics.hpp"
#include "http/detail/wire.hpp"

namespace honeyman::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

Handler noop() {
  return [](RequestContext&) -> asio::awaitable<Response> { co_return Response{}; };
}

Router sample_router() {
  Router r;
  r.add({Verb::get, "/api/v2/threats", Access::viewer, RateClass::normal, noop(), ""});
  r.add({Verb::post, "/api/v2/threats", Access::sensor_or_analyst, RateClass::normal, noop(), ""});
  r.add({Verb::get, "/api/v2/threats/{threat_id}", Access::viewer, RateClass::normal, noop(), ""});
  r.add(
      {Verb::get, "/api/v2/threats/latest", Access::viewer, RateClass::normal, noop(), "literal"});
  r.add({Verb::put, "/api/v2/threats/{threat_id}/acknowledge", Access::analyst, RateClass::normal,
         noop(), ""});
  return r;
}

TEST(Router, MatchesParamsAndPrefersLiterals) {
  auto r = sample_router();
  auto m = r.match(Verb::get, "/api/v2/threats/abc");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->pattern, "/api/v2/threats/{threat_id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"threat_id", "abc"}));
  auto literal = r.match(Verb::get, "/api/v2/threats/latest");
  ASSERT_TRUE(literal.route);
  EXPECT_EQ(literal.route->summary, "literal");
  EXPECT_TRUE(r.match(Verb::put, "/api/v2/threats/x/acknowledge").route);
}

TEST(Router, DistinguishesNotFoundFromWrongMethod) {
  auto r = sample_router();
  auto wrong = r.match(Verb::delete_, "/api/v2/threats");
  EXPECT_FALSE(wrong.route);
  EXPECT_TRUE(wrong.path_exists);
  EXPECT_EQ(r.allowed_methods("/api/v2/threats"), "GET, POST");
  auto missing = r.match(Verb::get, "/api/v2/nothing");
  EXPECT_FALSE(missing.route);
  EXPECT_FALSE(missing.path_exists);
  EXPECT_FALSE(r.match(Verb::get, "/api/v2/threats/a/b").route);
}

TEST(Router, TrailingSlashIsTheSamePath) {
  auto r = sample_router();
  EXPECT_TRUE(r.match(Verb::get, "/api/v2/threats/").route);
  auto m = r.match(Verb::put, "/api/v2/threats/x/acknowledge/");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params.at(0).second, "x");
  EXPECT_FALSE(r.match(Verb::get, "/").route);
  EXPECT_FALSE(r.match(Verb::get, "").route);
}

TEST(Router, EarlierLiteralWinsBetweenEquallySpecificPatterns) {
  Router r;
  r.add({Verb::get, "/a/{x}/c", Access::anyone, RateClass::normal, noop(), "param first"});
  r.add({Verb::get, "/a/b/{y}", Access::anyone, RateClass::normal, noop(), "literal first"});
  auto m = r.match(Verb::get, "/a/b/c");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->summary, "literal first");
  EXPECT_EQ(r.match(Verb::get, "/a/z/c").route->summary, "param first");
}

TEST(Router, PathParamLookupAndDeepPaths) {
  Request req{Verb::get, "/", 11};
  RequestContext ctx{req, {}, {{"sensor_id", "s1"}}, {}, "127.0.0.1", {}};
  EXPECT_EQ(ctx.path_param("sensor_id"), "s1");
  EXPECT_EQ(ctx.path_param("other"), "");
  auto r = sample_router();
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "/x";
  EXPECT_FALSE(r.match(Verb::get, deep).route);
  EXPECT_EQ(to_string(Access::sensor_or_analyst), "sensor_or_analyst");
}

TEST(Router, FallbackTakesOnlyPathsNoRouteHasOutsideTheReservedPrefixes) {
  auto r = sample_router();
  r.add({Verb::get, "/health", Access::anyone, RateClass::exempt, noop(), "health"});
  EXPECT_FALSE(r.match(Verb::get, "/threats").route);  // none set yet
  r.set_fallback({Verb::get, "console", Access::anyone, RateClass::exempt, noop(), "spa"},
                 {"/api/v2", "/health"});
  auto spa = r.match(Verb::get, "/sensors/abc");
  ASSERT_TRUE(spa.route);
  EXPECT_EQ(spa.route, r.fallback());
  EXPECT_EQ(spa.params, (decltype(spa.params){{"path", "/sensors/abc"}}));
  EXPECT_EQ(r.match(Verb::get, "/").route, r.fallback());
  EXPECT_EQ(r.match(Verb::get, "/api/v2/threats/x").route->pattern,
            "/api/v2/threats/{threat_id}");  // routes win
  EXPECT_EQ(r.match(Verb::get, "/health").route->summary, "health");
  for (auto reserved : {"/api/v2/nothing", "/api/v2", "/health/x"}) {
    auto m = r.match(Verb::get, reserved);
    EXPECT_FALSE(m.route) << reserved;
    EXPECT_FALSE(m.path_exists) << reserved;
  }
  EXPECT_EQ(r.match(Verb::get, "/api/v2x").route, r.fallback());  // whole segments only
  // Another method on a fallback path: 405 with Allow: GET.
  auto post = r.match(Verb::post, "/sensors/abc");
  EXPECT_FALSE(post.route);
  EXPECT_TRUE(post.path_exists);
  EXPECT_EQ(r.allowed_methods("/sensors/abc"), "GET");
  EXPECT_EQ(r.allowed_methods("/api/v2/nothing"), "");
  // Not a route: the OpenAPI document, built from routes(), does not list it.
  for (const auto& route : r.routes()) EXPECT_NE(route.summary, "spa");
}

TEST(Rbac, FullMatrix) {
  Principal none, sensor, viewer, analyst, admin;
  sensor.kind = Principal::Kind::sensor;
  for (auto* p : {&viewer, &analyst, &admin}) p->kind = Principal::Kind::user;
  viewer.grants = Access::viewer;
  analyst.grants = Access::analyst;
  admin.grants = Access::admin;
  struct Row {
    Access access;
    bool none, sensor, viewer, analyst, admin;
  };
  const Row rows[] = {
      {Access::anyone, true, true, true, true, true},
      {Access::viewer, false, false, true, true, true},
      {Access::analyst, false, false, false, true, true},
      {Access::admin, false, false, false, false, true},
      {Access::sensor, false, true, false, false, false},
      {Access::sensor_or_analyst, false, true, false, true, true},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(std::string(to_string(row.access)));
    EXPECT_EQ(allows(row.access, none), row.none);
    EXPECT_EQ(allows(row.access, sensor), row.sensor);
    EXPECT_EQ(allows(row.access, viewer), row.viewer);
    EXPECT_EQ(allows(row.access, analyst), row.analyst);
    EXPECT_EQ(allows(row.access, admin), row.admin);
  }
}

TEST(Responses, ValidationErrorsUseFastApiShapeWithIntegerIndices) {
  auto res =
      error_response(validation_error({{{"body", "3", "threat_score"}, "bad", "float_type"}}));
  EXPECT_EQ(res.result(), StatusCode::unprocessable_entity);
  auto body = boost::json::parse(res.body());
  EXPECT_EQ(body.at("detail").at(0).at("loc"), (boost::json::array{"body", 3, "threat_score"}));
  EXPECT_EQ(body.at("detail").at(0).at("type"), "float_type");
}

TEST(Responses, RateLimitCarriesRetryAfter) {
  auto e = make_error(Errc::rate_limited, "slow down");
  e.retry_after_seconds = 7;
  auto res = error_response(e);
  EXPECT_EQ(res.result(), StatusCode::too_many_requests);
  EXPECT_EQ(res[boost::beast::http::field::retry_after], "7");
  EXPECT_EQ(boost::json::parse(res.body()).at("detail"), "slow down");
}

TEST(Responses, UnauthorizedAsksForBearer) {
  auto res = error_response(make_error(Errc::unauthorized, "Not authenticated"));
  EXPECT_EQ(res.result(), StatusCode::unauthorized);
  EXPECT_EQ(res[boost::beast::http::field::www_authenticate], "Bearer");
  EXPECT_EQ(res[boost::beast::http::field::content_type], "application/json");
  EXPECT_EQ(res.body(), R"({"detail":"Not authenticated"})");
}

TEST(Responses, StatusMapping) {
  EXPECT_EQ(http_status(Errc::ok), StatusCode::ok);
  EXPECT_EQ(http_status(Errc::invalid_input), StatusCode::unprocessable_entity);
  EXPECT_EQ(http_status(Errc::bad_request), StatusCode::bad_request);
  EXPECT_EQ(http_status(Errc::unauthorized), StatusCode::unauthorized);
  EXPECT_EQ(http_status(Errc::forbidden), StatusCode::forbidden);
  EXPECT_EQ(http_status(Errc::rate_limited), StatusCode::too_many_requests);
  EXPECT_EQ(http_status(Errc::internal), StatusCode::internal_server_error);
  EXPECT_EQ(http_status(Errc::not_found), StatusCode::not_found);
  EXPECT_EQ(http_status(Errc::conflict), StatusCode::conflict);
  EXPECT_EQ(http_status(Errc::unavailable), StatusCode::service_unavailable);
  EXPECT_EQ(http_status(Errc::payload_too_large), StatusCode::payload_too_large);
}

TEST(Wire, HeadCarriesStandardHeadersUnlessTheResponseSetsThem) {
  auto res = json_response(StatusCode::ok, boost::json::object{{"a", 1}});
  res.set("Content-Security-Policy", "default-src 'self'");
  std::string head;
  detail::serialize_head(res, head);
  EXPECT_EQ(head,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 7\r\n"
            "Content-Security-Policy: default-src 'self'\r\n"
            "Server: honeyman\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "X-Frame-Options: DENY\r\n"
            "Referrer-Policy: no-referrer\r\n"
            "Cache-Control: no-store\r\n"
            "\r\n");
  Response old{StatusCode::too_many_requests, 10};
  old.keep_alive(false);
  detail::serialize_head(old, head);
  EXPECT_EQ(head.substr(0, head.find("\r\n")), "HTTP/1.0 429 Too Many Requests");
}

Request json_request(std::string body, std::string type = "application/json") {
  Request req{Verb::post, "/", 11};
  if (!type.empty()) req.set(boost::beast::http::field::content_type, type);
  req.body() = std::move(body);
  return req;
}

TEST(JsonBody, ParsesAndRefuses) {
  EXPECT_TRUE(parse_json_body(json_request(R"({"a":1})")));
  EXPECT_TRUE(parse_json_body(json_request(R"([1])", "application/json; charset=utf-8")));
  auto empty = parse_json_body(json_request(""));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().fields.at(0).type, "missing");
  auto bad = parse_json_body(json_request("{\"a\": x}"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_input);
  EXPECT_EQ(bad.error().fields.at(0).type, "json_invalid");
  EXPECT_EQ(bad.error().fields.at(0).loc, (std::vector<std::string>{"body", "6"}));
  auto wrong_type = parse_json_body(json_request("{}", "text/plain"));
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().code, Errc::bad_request);
  EXPECT_TRUE(parse_json_body(json_request("{}", "Application/JSON ; charset=UTF-8")));
  EXPECT_TRUE(parse_json_body(json_request("{}", "")));  // no Content-Type: assume JSON
  std::string deep(100, '[');
  EXPECT_FALSE(parse_json_body(json_request(deep + std::string(100, ']'))));
  EXPECT_FALSE(parse_json_body(json_request("{} trailing")));
}

TEST(RateLimiter, TokenBucketRefillsAtTheConfiguredRate) {
  auto now = std::chrono::steady_clock::time_point{};
  detail::LocalRateLimiter limiter([&] { return now; });
  for (int i = 0; i < 60; ++i) EXPECT_FALSE(limiter.check("1.2.3.4", 60)) << i;
  auto retry = limiter.check("1.2.3.4", 60);
  ASSERT_TRUE(retry);
  EXPECT_EQ(*retry, 1);
  EXPECT_FALSE(limiter.check("5.6.7.8", 60));  // other clients unaffected
  now += 1s;
  EXPECT_FALSE(limiter.check("1.2.3.4", 60));
  EXPECT_TRUE(limiter.check("1.2.3.4", 60));
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(limiter.check("slow", 6));
  auto wait = limiter.check("slow", 6);  // 6/min: one token per 10 s
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 10);
}

TEST(RateLimiter, KeysWithDifferentLimitsAreIndependent) {
  auto now = std::chrono::steady_clock::time_point{};
  detail::LocalRateLimiter limiter([&] { return now; });
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(limiter.check("login|1.2.3.4", 2));
  EXPECT_EQ(limiter.check("login|1.2.3.4", 2), 30);  // 2/min: one token per 30 s
  EXPECT_FALSE(limiter.check("1.2.3.4", 60));
  now += 15s;
  EXPECT_EQ(limiter.check("login|1.2.3.4", 2), 15);
  EXPECT_TRUE(limiter.check("anything", 0));  // a zero limit refuses
}

TEST(RateLimiter, UsageIsReportedOnceAndOtherInstancesUsageIsCharged) {
  auto now = std::chrono::steady_clock::time_point{};
  detail::LocalRateLimiter a([&] { return now; }), b([&] { return now; });
  EXPECT_FALSE(a.check("1.2.3.4", 60));
  EXPECT_TRUE(a.take_usage().empty());  // not tracked before track_usage()
  a.track_usage();
  for (int i = 0; i < 40; ++i) EXPECT_FALSE(a.check("1.2.3.4", 60));
  EXPECT_FALSE(a.check("login|1.2.3.4", 10));
  auto usage = a.take_usage();
  std::sort(usage.begin(), usage.end(), [](auto& x, auto& y) { return x.key < y.key; });
  ASSERT_EQ(usage.size(), 2u);
  EXPECT_EQ(usage[0].key, "1.2.3.4");
  EXPECT_EQ(usage[0].per_minute, 60);
  EXPECT_EQ(usage[0].count, 40);
  EXPECT_EQ(usage[1].key, "login|1.2.3.4");
  EXPECT_EQ(usage[1].count, 1);
  EXPECT_TRUE(a.take_usage().empty());  // each request is reported once
  for (const auto& u : usage) b.add_usage(u.key, u.per_minute, u.count);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(b.check("1.2.3.4", 60)) << i;
  EXPECT_EQ(b.check("1.2.3.4", 60), 1);  // 40 + 20: the limit held across both
  EXPECT_FALSE(b.check("5.6.7.8", 60));
  // Usage beyond the bucket pushes it below zero, down to -capacity: the client waits until the
  // cluster's use has refilled.
  b.add_usage("1.2.3.4", 60, 1000);
  EXPECT_EQ(b.check("1.2.3.4", 60), 61);
}

TEST(RateLimiter, RefilledBucketsAreSweptAndBusyOnesKept) {
  auto now = std::chrono::steady_clock::time_point{} + 1h;
  detail::LocalRateLimiter limiter([&] { return now; });
  for (int i = 0; i < 50; ++i) limiter.check("idle-" + std::to_string(i), 60);
  now += 60s;
  EXPECT_FALSE(limiter.check("busy", 1));  // its bucket is now empty, refilling 1/min
  now += 1s;  // the idle buckets refilled long ago; the sweep interval has passed everywhere
  for (int i = 0; i < 160; ++i) limiter.check("t" + std::to_string(i), 60);  // every shard
  EXPECT_EQ(limiter.size(), 161u);        // 211 without the sweep
  EXPECT_TRUE(limiter.check("busy", 1));  // a bucket still refilling was kept
}

TEST(RateLimiter, MemoryStaysBounded) {
  auto now = std::chrono::steady_clock::time_point{};
  detail::LocalRateLimiter limiter([&] { return now; }, 100);
  for (int i = 0; i < 1000; ++i) {
    limiter.check("client-" + std::to_string(i), 60);
    now += 2s;  // older buckets refill and become forgettable
  }
  EXPECT_LE(limiter.size(), 100u);
}

TEST(RateLimiter, UnderAFloodTheLeastRecentlyUsedAreEvicted) {
  auto now = std::chrono::steady_clock::time_point{};
  detail::LocalRateLimiter limiter([&] { return now; }, 160);  // 10 per shard
  for (int i = 0; i < 5; ++i) limiter.check("attacker", 5);    // empty bucket, kept fresh
  for (int i = 0; i < 1000; ++i) {
    now += 1ms;
    limiter.check("flood-" + std::to_string(i), 60);
    if (i % 50 == 0) limiter.check("attacker", 5);
  }
  EXPECT_LE(limiter.size(), 160u);
  EXPECT_TRUE(limiter.check("attacker", 5));  // still limited: not evicted
}

TEST(RequestId, ClientValuesAreBoundedInLengthAndCharset) {
  EXPECT_TRUE(detail::acceptable_request_id("edge-1.2:3_x"));
  EXPECT_TRUE(detail::acceptable_request_id(std::string(128, 'a')));
  EXPECT_FALSE(detail::acceptable_request_id(std::string(129, 'a')));
  EXPECT_FALSE(detail::acceptable_request_id(""));
  for (auto bad : {"a b", "a\"b", "a\nb", "a\rb", "{x}", "a/b", "a=b"})
    EXPECT_FALSE(detail::acceptable_request_id(bad)) << bad;
}

TEST(RequestId, GeneratedOnesAreWellFormedAndDistinct) {
  auto a = detail::new_request_id();
  auto b = detail::new_request_id();
  EXPECT_NE(a, b);
  EXPECT_TRUE(detail::acceptable_request_id(a)) << a;
  EXPECT_EQ(a.substr(0, 13), b.substr(0, 13));  // the per-process prefix and its dash
}

}  // namespace
}  // namespace honeyman::http
