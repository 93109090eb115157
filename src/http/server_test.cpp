// The Server over real loopback sockets (port 0, inside the test process), driven with the shared
// test client: limits, CORS, rate limiting, authentication, headers, graceful shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <future>
#include <thread>

#include "http/http.hpp"
#include "support/http_client.hpp"
#include "support/wait.hpp"

namespace honeyman::http {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::api_key;
using testing::bearer;
using testing::HttpClient;
using testing::Reply;

// "Bearer viewer|analyst|admin" is a user of that role, "X-API-Key: s1" the sensor s1; any other
// credential is refused.
class FakeAuthenticator final : public Authenticator {
 public:
  asio::awaitable<Result<Principal>> authenticate(const Request& request) override {
    Principal p;
    auto key = request["X-API-Key"];
    auto auth = request[boost::beast::http::field::authorization];
    if (key == "s1") {
      p.kind = Principal::Kind::sensor;
      p.id = p.name = "s1";
    } else if (!key.empty()) {
      co_return make_error(Errc::unauthorized, "Invalid API key");
    } else if (!auth.empty()) {
      auto role = role_of(auth);
      if (!role) co_return make_error(Errc::unauthorized, "Could not validate credentials");
      p.kind = Principal::Kind::user;
      p.grants = *role;
    }
    co_return p;
  }

 private:
  static std::optional<Access> role_of(std::string_view auth) {
    if (auth == "Bearer viewer") return Access::viewer;
    if (auth == "Bearer analyst") return Access::analyst;
    if (auth == "Bearer admin") return Access::admin;
    return std::nullopt;
  }
};

Response ok(json::value body) {
  return json_response(StatusCode::ok, body);
}

// How many /slow requests have reached their handler: a test waits for this instead of guessing
// how long a request takes to be in flight. A second is long enough for a loaded machine to get
// the next step of a test done while one is in flight.
std::atomic<int> slow_started{0};

asio::awaitable<Response> slow(RequestContext&) {
  ++slow_started;
  asio::steady_timer timer(co_await asio::this_coro::executor, 1s);
  co_await timer.async_wait(asio::use_awaitable);
  co_return ok(json::object{{"slow", true}});
}

asio::awaitable<Response> item(RequestContext& ctx) {
  auto q = ctx.query.find("q");
  co_return ok(json::object{{"id", ctx.path_param("id")},
                            {"q", q == ctx.query.end() ? "" : std::string((*q).value)}});
}

asio::awaitable<Response> echo(RequestContext& ctx) {
  auto body = parse_json_body(ctx.request);
  if (!body) co_return error_response(body.error());
  co_return json_response(StatusCode::created, *body);
}

asio::awaitable<Response> boom(RequestContext&) {
  throw std::runtime_error("secret internals");
  co_return ok(nullptr);
}

asio::awaitable<Response> health(RequestContext&) {
  co_return ok(json::object{{"status", "ok"}});
}

Router test_router() {
  Router r;
  r.add({Verb::get, "/health", Access::anyone, RateClass::exempt, health, ""});
  r.add({Verb::get, "/slow", Access::anyone, RateClass::exempt, slow, ""});
  r.add({Verb::get, "/items/{id}", Access::viewer, RateClass::normal, item, ""});
  r.add({Verb::post, "/items", Access::analyst, RateClass::normal, echo, ""});
  r.add({Verb::post, "/login", Access::anyone, RateClass::login, health, ""});
  r.add({Verb::get, "/sensor", Access::sensor, RateClass::normal, health, ""});
  r.add({Verb::get, "/boom", Access::anyone, RateClass::normal, boom, ""});
  return r;
}

ServerConfig test_config() {
  ServerConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  c.body_limit = 1024;
  c.cors_origins = {"https://dash.example"};
  c.rate_limit_per_minute = 1000;
  c.login_rate_limit_per_minute = 1000;
  return c;
}

// A Server on an io_context run by two threads, as in production.
class TestServer {
 public:
  explicit TestServer(ServerConfig config = test_config(), Router router = test_router())
      : config_(std::move(config)),
        router_(std::move(router)),
        server_(config_, router_, auth_, io_) {
    auto port = server_.listen();
    EXPECT_TRUE(port) << port.error().message;
    port_ = port ? *port : 0;
    server_.start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~TestServer() {
    if (!stopped_) stop(0ms);
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  HttpClient client() const { return HttpClient("127.0.0.1", port_); }
  // Graceful shutdown; returns how long it took, or nullopt when `done` never ran.
  std::optional<std::chrono::milliseconds> stop(std::chrono::milliseconds grace) {
    stopped_ = true;
    auto start = std::chrono::steady_clock::now();
    std::promise<void> done;
    server_.shutdown(grace, [&] { done.set_value(); });
    if (done.get_future().wait_for(grace + 5s) != std::future_status::ready) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }
  Server& server() { return server_; }

 private:
  ServerConfig config_;
  Router router_;
  FakeAuthenticator auth_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  Server server_;
  std::uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

// The "detail" of an error body when it is a string, else "".
std::string detail(const Reply& r) {
  auto j = r.json();
  if (!j.is_object() || !j.as_object().contains("detail") || !j.at("detail").is_string()) return "";
  return std::string(j.at("detail").as_string());
}

TEST(Server, NotFoundMethodNotAllowedAndTrailingSlash) {
  TestServer s;
  auto c = s.client();
  auto missing = c.get("/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(detail(missing), "Not Found");
  auto wrong = c.del("/items/1", bearer("admin"));
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "GET");
  EXPECT_EQ(detail(wrong), "Method Not Allowed");
  EXPECT_EQ(c.get("/health/").status, 200);
}

TEST(Server, SecurityHeadersOnEveryResponse) {
  TestServer s;
  auto c = s.client();
  for (const auto& r : {c.get("/health"), c.get("/nope"), c.raw("BAD\r\n\r\n")}) {
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << r.status;
    EXPECT_EQ(r.header("x-frame-options"), "DENY");
    EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
    EXPECT_EQ(r.header("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
    EXPECT_EQ(r.header("cache-control"), "no-store");
    EXPECT_EQ(r.header("server"), "honeyman");
    EXPECT_EQ(r.header("content-type"), "application/json");
  }
}

TEST(Server, OversizedBodyIs413AndTheServerCarriesOn) {
  TestServer s;
  auto c = s.client();
  auto big = c.request("POST", "/items", std::string(2 * 1024 * 1024, 'x'), bearer("admin"));
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(detail(big), "Request body too large (limit 1024 bytes)");
  auto fits = c.post("/items", json::object{{"a", std::string(900, 'y')}}, bearer("admin"));
  EXPECT_EQ(fits.status, 201) << fits.body;
  EXPECT_EQ(c.get("/health").status, 200);
}

TEST(Server, HeadersTooLargeAndMalformedRequests) {
  TestServer s;
  auto c = s.client();
  EXPECT_EQ(c.get("/health", {{"X-Big", std::string(20 * 1024, 'h')}}).status, 431);
  auto garbage = c.raw("GARBAGE\r\n\r\n");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(detail(garbage), "Malformed HTTP request");
  EXPECT_EQ(c.raw("GET http://x/\r\nHost: x\r\n\r\n").status, 400);
  EXPECT_EQ(c.raw("GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n").status, 400);
  EXPECT_EQ(c.get("/health").status, 200);
}

TEST(Server, CorsAllowList) {
  TestServer s;
  auto c = s.client();
  auto pre =
      c.request("OPTIONS", "/items/1", "",
                {{"Origin", "https://dash.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin"), "https://dash.example");
  EXPECT_EQ(pre.header("access-control-allow-credentials"), "true");
  EXPECT_EQ(pre.header("access-control-max-age"), "600");
  EXPECT_NE(pre.header("access-control-allow-headers").find("X-API-Key"), std::string::npos);
  auto denied =
      c.request("OPTIONS", "/items/1", "",
                {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(denied.status, 400);
  EXPECT_EQ(detail(denied), "Disallowed CORS origin");
  auto plain = c.get("/health", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.header("access-control-allow-origin"), "");
  auto allowed = c.get("/health", {{"Origin", "https://dash.example"}});
  EXPECT_EQ(allowed.header("access-control-allow-origin"), "https://dash.example");
  EXPECT_EQ(allowed.header("vary"), "Origin");
}

TEST(Server, WildcardCorsNeverAllowsCredentials) {
  auto config = test_config();
  config.cors_origins = {"*"};
  TestServer s(config);
  auto c = s.client();
  auto r = c.get("/health", {{"Origin", "https://any.example"}});
  EXPECT_EQ(r.header("access-control-allow-origin"), "*");
  EXPECT_EQ(r.header("access-control-allow-credentials"), "");
}

TEST(Server, RateLimitPerClientWithRetryAfter) {
  auto config = test_config();
  config.rate_limit_per_minute = 3;
  config.login_rate_limit_per_minute = 2;
  TestServer s(config);
  auto c = s.client();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.get("/items/1", bearer("viewer")).status, 200);
  auto limited = c.get("/items/1", bearer("viewer"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(detail(limited), "Rate limit exceeded: 3 requests per minute");
  EXPECT_GE(std::atoi(limited.header("retry-after").c_str()), 1);
  EXPECT_EQ(c.get("/health").status, 200);  // exempt
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(c.post("/login", json::object{}).status, 200);  // own bucket
  EXPECT_EQ(c.post("/login", json::object{}).status, 429);
}

TEST(Server, ExemptRoutesIgnoreCredentials) {
  TestServer s;
  auto c = s.client();
  for (int i = 0; i < 20; ++i) {
    auto key = "guess-" + std::to_string(i);
    ASSERT_EQ(c.get("/health", api_key(key)).status, 200) << key;
  }
  EXPECT_EQ(c.get("/health", bearer("forged")).status, 200);
  EXPECT_EQ(c.get("/items/1", bearer("forged")).status, 401);  // checked where it matters
}

TEST(Server, FailedCredentialChecksSpendTheLoginBudget) {
  auto config = test_config();
  config.rate_limit_per_minute = 1000;
  config.login_rate_limit_per_minute = 3;
  TestServer s(config);
  auto c = s.client();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(c.get("/items/1", api_key("guess-" + std::to_string(i))).status, 401);
  auto limited = c.get("/items/1", api_key("guess-3"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(detail(limited), "Too many failed credential checks: 3 per minute");
  EXPECT_GE(std::atoi(limited.header("retry-after").c_str()), 1);
  // Until it refills, no credential of this client is checked; requests without one go on.
  EXPECT_EQ(c.get("/items/1", bearer("viewer")).status, 429);
  EXPECT_EQ(c.get("/items/1").status, 401);
  EXPECT_EQ(c.get("/health", api_key("guess-4")).status, 200);
}

TEST(Server, GoodCredentialsCostNoLoginBudget) {
  auto config = test_config();
  config.login_rate_limit_per_minute = 2;
  TestServer s(config);
  auto c = s.client();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.get("/items/1", bearer("viewer")).status, 200);
  EXPECT_EQ(c.post("/items", json::object{}, bearer("viewer")).status, 403);
  EXPECT_EQ(c.get("/items/1", bearer("viewer")).status, 200);
}

TEST(Server, TrustedProxyForwardsTheClientAddress) {
  auto config = test_config();
  config.rate_limit_per_minute = 2;
  config.trusted_proxies = *parse_networks("127.0.0.0/8");
  TestServer s(config);
  auto c = s.client();
  auto from = [](const char* address) { return testing::HeaderList{{"X-Forwarded-For", address}}; };
  for (int i = 0; i < 2; ++i) EXPECT_EQ(c.get("/items/1", from("198.51.100.1")).status, 401);
  EXPECT_EQ(c.get("/items/1", from("198.51.100.1")).status, 429);
  EXPECT_EQ(c.get("/items/1", from("198.51.100.2")).status, 401);  // a bucket of its own
  // IPv6 clients share their /64.
  EXPECT_EQ(c.get("/items/1", from("2001:db8:1:2::1")).status, 401);
  EXPECT_EQ(c.get("/items/1", from("2001:db8:1:2::2")).status, 401);
  EXPECT_EQ(c.get("/items/1", from("2001:db8:1:2:ffff::3")).status, 429);
  EXPECT_EQ(c.get("/items/1", from("2001:db8:1:3::1")).status, 401);
}

TEST(Server, ConnectionCapsShedIdleConnectionsFirstThenRefuse) {
  auto config = test_config();
  config.max_connections_per_client = 2;
  TestServer s(config);
  auto a = s.client(), b = s.client(), c = s.client();
  EXPECT_EQ(a.get("/health").status, 200);
  EXPECT_EQ(b.get("/health").status, 200);
  EXPECT_EQ(c.get("/health").status, 200);  // a's idle connection made room
  EXPECT_TRUE(testing::eventually([&] { return s.server().open_connections() == 2; }, 5s))
      << s.server().open_connections();
  // Two requests in flight hold both places (they shed b and c): a third connection is refused.
  // One after the other: a connection counts as idle until its request is read, so the second
  // could otherwise shed the first (the oldest idle one) when it arrives before its bytes.
  int before = slow_started;
  auto slow1 = std::async(std::launch::async, [&] { return s.client().get("/slow"); });
  ASSERT_TRUE(testing::eventually([&] { return slow_started >= before + 1; }, 5s));
  auto slow2 = std::async(std::launch::async, [&] { return s.client().get("/slow"); });
  ASSERT_TRUE(testing::eventually([&] { return slow_started >= before + 2; }, 5s));
  auto refused = s.client().get("/health");
  // The answer is written at once; a request arriving after the close can reset the connection
  // before the client reads it (status 0). Either way the connection was not served.
  EXPECT_NE(refused.status, 200);
  if (refused.status != 0) {
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(detail(refused), "Too many connections");
  }
  EXPECT_EQ(slow1.get().status, 200);
  EXPECT_EQ(slow2.get().status, 200);
  EXPECT_EQ(a.get("/health").status, 200);  // reconnects once the places are free
}

TEST(Server, AuthenticationAndRoles) {
  TestServer s;
  auto c = s.client();
  auto anonymous = c.get("/items/1");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.header("www-authenticate"), "Bearer");
  EXPECT_EQ(detail(anonymous), "Not authenticated");
  auto bad = c.get("/items/1", bearer("forged"));
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.header("www-authenticate"), "Bearer");
  EXPECT_EQ(c.get("/items/1", bearer("viewer")).status, 200);
  auto forbidden = c.post("/items", json::object{}, bearer("viewer"));
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(detail(forbidden), "Insufficient permissions");
  EXPECT_EQ(c.post("/items", json::object{}, bearer("analyst")).status, 201);
  EXPECT_EQ(c.get("/sensor", api_key("s1")).status, 200);
  EXPECT_EQ(c.get("/sensor", bearer("admin")).status, 403);
  EXPECT_EQ(c.get("/sensor", api_key("s2")).status, 401);
}

TEST(Server, PathAndQueryParametersAreDecoded) {
  TestServer s;
  auto c = s.client();
  auto r = c.get("/items/a%20b?q=x%2By&other=1", bearer("viewer"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), (json::object{{"id", "a b"}, {"q", "x+y"}}));
}

TEST(Server, HandlerExceptionsBecome500WithoutDetails) {
  TestServer s;
  auto c = s.client();
  auto r = c.get("/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(detail(r), "Internal server error");
  EXPECT_EQ(c.get("/health").status, 200);
}

TEST(Server, JsonBodyErrorsAreFastApiShaped) {
  TestServer s;
  auto c = s.client();
  auto r = c.request("POST", "/items", R"({"a": x})", bearer("admin"));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.json().at("detail").at(0).at("loc"), (json::array{"body", 6}));
  EXPECT_EQ(r.json().at("detail").at(0).at("type"), "json_invalid");
  auto empty = c.request("POST", "/items", "", bearer("admin"));
  EXPECT_EQ(empty.status, 422);
  EXPECT_EQ(empty.json().at("detail").at(0).at("type"), "missing");
}

TEST(Server, HeadIsAnsweredByTheGetRoute) {
  TestServer s;
  auto c = s.client();
  auto r = c.request("HEAD", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("content-length"), "15");             // {"status":"ok"}
  EXPECT_EQ(c.get("/health").body, R"({"status":"ok"})");  // same connection still in sync
}

asio::awaitable<Response> echo_path(RequestContext& ctx) {
  auto res = ok(json::object{{"path", ctx.path_param("path")}});
  res.set(boost::beast::http::field::vary, "Accept-Encoding");
  co_return res;
}

TEST(Server, FallbackAnswersUnroutedPathsWithoutLimitsOrCredentials) {
  auto config = test_config();
  config.rate_limit_per_minute = 3;
  auto router = test_router();
  router.set_fallback({Verb::get, "spa", Access::anyone, RateClass::exempt, echo_path, ""},
                      {"/api"});
  TestServer s(config, std::move(router));
  auto c = s.client();
  for (int i = 0; i < 10; ++i) {
    auto r = c.get("/sensors/a%20b?x=1", bearer("forged"));
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.json().at("path"), "/sensors/a b");  // decoded, without the query
  }
  EXPECT_EQ(c.get("/%2e%2e/x").json().at("path"), "/../x");  // the handler's to refuse
  auto cors = c.get("/x", {{"Origin", "https://dash.example"}});
  EXPECT_EQ(cors.header("vary"), "Accept-Encoding, Origin");  // the handler's kept
  EXPECT_EQ(c.request("HEAD", "/x").status, 200);
  auto post = c.post("/x", json::object{});
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("allow"), "GET");
  auto reserved = c.get("/api/nope");
  EXPECT_EQ(reserved.status, 404);
  EXPECT_EQ(detail(reserved), "Not Found");
  EXPECT_EQ(c.get("/health").json().at("status"), "ok");
  EXPECT_EQ(c.get("/items/1", bearer("viewer")).status, 200);  // the routes keep their budget
}

TEST(Server, ExpectContinueIsAnswered) {
  TestServer s;
  auto c = s.client();
  auto r = c.raw(
      "POST /items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin\r\n"
      "Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(r.status, 100);
}

TEST(Server, IdleKeepAliveConnectionsTimeOutAndTheClientReconnects) {
  auto config = test_config();
  config.idle_timeout = 100ms;
  TestServer s(config);
  auto c = s.client();
  EXPECT_EQ(c.get("/health").status, 200);
  EXPECT_EQ(s.server().open_connections(), 1u);
  EXPECT_TRUE(testing::eventually([&] { return s.server().open_connections() == 0; }, 5s))
      << "the idle connection was not closed";
  EXPECT_EQ(c.get("/health").status, 200);
}

TEST(Server, ShutdownFinishesInFlightRequestsAndRefusesNewConnections) {
  TestServer s;
  int before = slow_started;
  auto in_flight = std::async(std::launch::async, [&] { return s.client().get("/slow"); });
  auto idle = s.client();
  EXPECT_EQ(idle.get("/health").status, 200);  // an idle keep-alive connection
  ASSERT_TRUE(testing::eventually([&] { return slow_started > before; }, 5s));
  auto took = s.stop(5s);
  ASSERT_TRUE(took);
  EXPECT_LT(*took, 2s);  // idle connections did not hold shutdown up
  auto slow = in_flight.get();
  EXPECT_EQ(slow.status, 200) << slow.body;
  EXPECT_EQ(slow.header("connection"), "close");
  EXPECT_EQ(s.server().open_connections(), 0u);
  EXPECT_EQ(s.client().get("/health").status, 0);
}

TEST(Server, ShutdownForceClosesAfterTheGracePeriod) {
  TestServer s;
  int before = slow_started;
  auto in_flight = std::async(std::launch::async, [&] { return s.client().get("/slow"); });
  ASSERT_TRUE(testing::eventually([&] { return slow_started > before; }, 5s));
  auto took = s.stop(20ms);
  ASSERT_TRUE(took);
  // Not a timing budget: /slow takes over a second, so finishing well under one means the
  // handler was not waited for (250 ms failed once on a loaded CI machine at 269 ms).
  EXPECT_LT(*took, 900ms);
  EXPECT_EQ(in_flight.get().status, 0);
}

}  // namespace
}  // namespace honeyman::http
