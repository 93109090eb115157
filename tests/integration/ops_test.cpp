// Operations: health and readiness, configuration refusal, CLI behaviour, CORS, rate limits,
// security headers, graceful shutdown on SIGTERM.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;
using Env = std::map<std::string, std::string>;

TEST(Ops, HealthAndReady) {
  ServerProcess server;
  server.start();
  auto client = server.client();
  auto health = client.get("/health");
  ASSERT_EQ(health.status, 200);
  EXPECT_EQ(health.json().at("status"), "ok");
  EXPECT_EQ(health.json().at("service"), "honeyman");
  EXPECT_TRUE(health.json().at("version").is_string());
  EXPECT_EQ(client.get("/api/v2/health").json(), health.json());
  auto ready = client.get("/ready");
  ASSERT_EQ(ready.status, 200);
  EXPECT_EQ(ready.json().at("checks").at("store"), "ok");
}

TEST(Ops, SecurityHeadersOnEveryResponse) {
  ServerProcess server;
  server.start();
  auto client = server.client();
  for (auto target : {"/health", "/api/v2/sensors", "/nope"}) {
    auto reply = client.get(target);
    EXPECT_EQ(reply.header("x-content-type-options"), "nosniff") << target;
    EXPECT_EQ(reply.header("x-frame-options"), "DENY") << target;
    EXPECT_FALSE(reply.header("content-security-policy").empty()) << target;
    EXPECT_EQ(reply.header("content-type"), "application/json") << target;
  }
}

TEST(Ops, RefusesToStartWithoutSecretKeyOutsideDevelopment) {
  ServerProcess server(Env{{"SECRET_KEY", ""}, {"ENVIRONMENT", "production"}});
  auto r = server.cli({"serve"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("SECRET_KEY"), std::string::npos) << r.err;
  auto too_short = ServerProcess(Env{{"SECRET_KEY", "short"}}).cli({"serve"});
  EXPECT_EQ(too_short.exit_code, 1);
  EXPECT_NE(too_short.err.find("at least 32"), std::string::npos) << too_short.err;
}

TEST(Ops, DevelopmentRunsWithoutSecretKey) {
  ServerProcess server(Env{{"SECRET_KEY", ""}, {"ENVIRONMENT", "development"}});
  server.start();
  EXPECT_EQ(server.client().get("/health").status, 200);
}

TEST(Ops, BadConfigurationIsOneClearLine) {
  ServerProcess server(Env{{"PORT", "http"}});
  auto r = server.cli({"serve"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("PORT must be an integer"), std::string::npos) << r.err;
  auto url = ServerProcess(Env{{"DATABASE_URL", "mysql://x"}}).cli({"migrate"});
  EXPECT_EQ(url.exit_code, 1);
  EXPECT_NE(url.err.find("DATABASE_URL"), std::string::npos) << url.err;
}

TEST(Ops, FlagsOverrideEnvironmentWhichOverridesEnvFile) {
  TempDir dir;
  auto env_file = dir.path() + "/settings.env";
  std::ofstream(env_file) << "PORT=1\nSECRET_KEY=from-file-secret-key-0123456789abcdef\n";
  ServerProcess server(Env{{"PORT", "2"}});
  // Environment PORT=2 beats the file's 1; the --port flag beats both (0: ephemeral).
  auto r = server.cli({"--env-file", env_file, "serve", "--port", "99999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("PORT must be between"), std::string::npos) << r.err;
}

TEST(Ops, CliUserAndSensorCommands) {
  ServerProcess server;
  auto add =
      server.cli({"user", "add", "dora", "--role", "analyst", "--email", "dora@example.org"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("password (shown once): "), std::string::npos);
  EXPECT_EQ(server.cli({"user", "add", "dora", "--role", "viewer"}).exit_code, 1);
  EXPECT_EQ(server.cli({"user", "add", "eve", "--role", "overlord"}).exit_code, 2);
  EXPECT_EQ(server.cli({"user", "add", "eve", "--password-stdin"}, "short\n").exit_code, 1);
  // The fixtures' users are added straight into the store (ServerProcess::add_user): the CLI's
  // way of setting a known password is checked here, down to the login.
  auto eve = server.cli({"user", "add", "eve", "--role", "viewer", "--password-stdin"},
                        "eve-password-1\n");
  ASSERT_EQ(eve.exit_code, 0) << eve.err;
  EXPECT_EQ(eve.out.find("password (shown once)"), std::string::npos) << eve.out;
  ASSERT_EQ(server.cli({"user", "set-role", "dora", "admin"}).exit_code, 0);
  auto list = server.cli({"user", "list"});
  EXPECT_NE(list.out.find("dora"), std::string::npos);
  EXPECT_NE(list.out.find("admin"), std::string::npos);
  EXPECT_EQ(server.cli({"user", "disable", "nobody"}).exit_code, 1);
  ASSERT_EQ(
      server.cli({"user", "passwd", "dora", "--password-stdin"}, "a-new-password\n").exit_code, 0);

  auto key = server.add_sensor("rpi-01", "Pi one");
  EXPECT_EQ(server.cli({"sensor", "add", "rpi-01", "--name", "again"}).exit_code, 1);
  EXPECT_EQ(server.cli({"sensor", "add", "bad/id", "--name", "x"}).exit_code, 1);
  EXPECT_NE(server.cli({"sensor", "list"}).out.find("rpi-01"), std::string::npos);

  server.start();
  auto client = server.client();
  EXPECT_EQ(server.login("dora", "a-new-password").empty(), false);
  EXPECT_EQ(server.login("eve", "eve-password-1").empty(), false);
  auto hb = json::object{{"status", "online"}};
  EXPECT_EQ(client.post("/api/v2/sensors/rpi-01/heartbeat", hb, api_key(key)).status, 200);
  ASSERT_EQ(server.cli({"sensor", "revoke-key", "rpi-01"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] {  // cached keys expire within 5 s
    return client.post("/api/v2/sensors/rpi-01/heartbeat", hb, api_key(key)).status == 401;
  }));
}

TEST(Ops, EverySubcommandHasHelp) {
  for (auto args : std::vector<std::vector<std::string>>{{"--help"},
                                                         {"serve", "--help"},
                                                         {"migrate", "--help"},
                                                         {"init", "--help"},
                                                         {"user", "add", "--help"},
                                                         {"user", "list", "--help"},
                                                         {"user", "set-role", "--help"},
                                                         {"user", "disable", "--help"},
                                                         {"user", "passwd", "--help"},
                                                         {"sensor", "add", "--help"},
                                                         {"sensor", "list", "--help"},
                                                         {"sensor", "revoke-key", "--help"}}) {
    auto r = run_honeyman(args, {});
    EXPECT_EQ(r.exit_code, 0) << args.front();
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args.front() << r.out;
  }
  EXPECT_NE(run_honeyman({"frobnicate"}, {}).exit_code, 0);
}

TEST(Ops, InitCreatesAPersistentDataDirectory) {
  TempDir dir;
  auto data = dir.path() + "/data";
  auto first = run_honeyman({"init", "--data-dir", data}, {});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("password (shown once): "), std::string::npos);
  auto second = run_honeyman({"init", "--data-dir", data}, {});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out.find("password (shown once)"), std::string::npos);  // shown once only
  std::ifstream env(data + "/.env");
  std::string text((std::istreambuf_iterator<char>(env)), {});
  EXPECT_NE(text.find("SECRET_KEY="), std::string::npos);
}

TEST(Ops, CorsAllowList) {
  ServerProcess server(Env{{"CORS_ORIGINS", "https://dash.example.org"}});
  server.start();
  auto client = server.client();
  auto allowed = client.request(
      "OPTIONS", "/api/v2/sensors", "",
      {{"Origin", "https://dash.example.org"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(allowed.status, 204);
  EXPECT_EQ(allowed.header("access-control-allow-origin"), "https://dash.example.org");
  auto denied = client.request(
      "OPTIONS", "/api/v2/sensors", "",
      {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(denied.status, 400);
  auto plain = client.get("/health", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(plain.header("access-control-allow-origin"), "");
}

TEST(Ops, RateLimitPerClientWithRetryAfter) {
  ServerProcess server(Env{{"RATE_LIMIT_ENABLED", "true"},
                           {"RATE_LIMIT_PER_MINUTE", "5"},
                           {"LOGIN_RATE_LIMIT_PER_MINUTE", "3"}});
  server.start();
  auto client = server.client();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.get("/api/v2/sensors").status, 401);
  auto limited = client.get("/api/v2/sensors");
  EXPECT_EQ(limited.status, 429);
  EXPECT_GE(std::stoi(limited.header("retry-after").empty() ? "0" : limited.header("retry-after")),
            1);
  EXPECT_EQ(client.get("/health").status, 200);  // probes are exempt
  auto login = json::object{{"username", "x"}, {"password", "yyyyyyyy"}};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.post("/api/v2/auth/login", login).status, 401);
  EXPECT_EQ(client.post("/api/v2/auth/login", login).status, 429);
}

TEST(Ops, SigtermFinishesInFlightWorkAndExitsZero) {
  ServerProcess server;
  server.add_user("root", "admin", "admin-password-1");
  auto key = server.add_sensor("s1", "S1");
  server.start();
  // Keep writes in flight while SIGTERM arrives; every 201 must be durably stored.
  std::atomic<int> accepted{0};
  std::atomic<bool> go{true};
  auto writer = std::async(std::launch::async, [&] {
    auto client = server.client();
    // Each body differs: identical bodies from one sensor are one threat (exactly-once ingest).
    for (int n = 0; go; ++n) {
      auto r = client.post("/api/v2/threats",
                           json::object{{"detector_type", "usb"},
                                        {"severity", "low"},
                                        {"threat_type", "t" + std::to_string(n)}},
                           api_key(key));
      if (r.status == 201)
        ++accepted;
      else if (r.status == 0 || r.status == 503)
        break;
    }
  });
  ASSERT_TRUE(eventually([&] { return accepted >= 20; })) << server.log();  // writes flowing
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
  go = false;
  writer.get();
  EXPECT_NE(server.log().find("shutdown complete"), std::string::npos);
  server.start();
  auto token = server.login("root", "admin-password-1");
  auto page = server.client().get("/api/v2/threats?page_size=1", bearer(token));
  EXPECT_EQ(page.json().at("total").as_int64(), accepted.load());
  EXPECT_GT(accepted.load(), 0);
}

}  // namespace
}  // namespace honeyman::testing
