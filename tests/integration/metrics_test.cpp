// Observability (issue #12): /metrics exposure rules, the exposition's content after real
// traffic (HTTP, MQTT ingest, WebSocket), a real Prometheus scraping the server, the Grafana
// dashboard's metric names, and the access log with its request ids.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "integration/mqtt_support.hpp"
#include "support/redis.hpp"
#include "support/ws_client.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using Env = std::map<std::string, std::string>;

constexpr const char* kToken = "metrics-token-0123456789abcdef";

// The exposition as series -> value; every sample line must parse (name, optional labels, value).
struct Exposition {
  std::map<std::string, double> series;  // `name{labels}` exactly as exposed
  std::set<std::string> names;           // metric names of the samples
  std::set<std::string> histograms;      // families typed histogram
  std::string error;                     // the first line that did not parse

  double value(const std::string& s) const {
    auto it = series.find(s);
    return it == series.end() ? -1 : it->second;
  }
  // Sum over every series of `name` whose labels contain `label_part` (e.g. `route="/health"`).
  double sum(const std::string& name, const std::string& label_part = "") const {
    double total = 0;
    for (const auto& [s, v] : series)
      if ((s == name || s.starts_with(name + "{")) && s.find(label_part) != std::string::npos)
        total += v;
    return total;
  }
};

Exposition parse_exposition(const std::string& text) {
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? ([-+0-9.eEInfNa]+)$)");
  Exposition e;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# TYPE ") && line.ends_with(" histogram"))
      e.histograms.insert(line.substr(7, line.size() - 7 - 10));
    if (line.empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    std::smatch m;
    if (!std::regex_match(line, m, sample)) {
      if (e.error.empty()) e.error = line;
      continue;
    }
    auto value_at = line.rfind(' ');
    e.series[line.substr(0, value_at)] = std::stod(line.substr(value_at + 1));
    e.names.insert(m[1]);
  }
  return e;
}

Exposition scrape(HttpClient& client, const HeaderList& headers) {
  auto reply = client.get("/metrics", headers);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  auto e = parse_exposition(reply.body);
  EXPECT_EQ(e.error, "") << "unparsable exposition line";
  return e;
}

// The port of the METRICS_LISTEN listener, from its start line.
std::uint16_t metrics_port(const ServerProcess& server) {
  static const std::regex line(R"(GET /metrics served at [^ ]+:(\d+) )");
  std::smatch m;
  auto log = server.log();
  if (!std::regex_search(log, m, line)) return 0;
  return static_cast<std::uint16_t>(std::stoi(m[1]));
}

// --- Exposure ---------------------------------------------------------------------------------

TEST(MetricsExposure, NotPublicByDefault) {
  ServerProcess server;
  server.start();
  auto client = server.client();
  EXPECT_EQ(client.get("/metrics").status, 404);
  EXPECT_EQ(client.get("/metrics", bearer(kToken)).status, 404);
}

TEST(MetricsExposure, TokenRequiredOnTheMainPort) {
  ServerProcess server(Env{{"METRICS_TOKEN", kToken}});
  server.start();
  auto client = server.client();
  EXPECT_EQ(client.get("/metrics").status, 401);
  EXPECT_EQ(client.get("/metrics", bearer("metrics-token-0123456789abcdeX")).status, 401);
  EXPECT_EQ(client.get("/metrics", bearer(std::string(kToken) + "x")).status, 401);
  EXPECT_EQ(client.get("/metrics", {{"Authorization", kToken}}).status, 401);
  auto e = scrape(client, bearer(kToken));
  EXPECT_GT(e.value("process_resident_memory_bytes"), 1e6);
}

TEST(MetricsExposure, ListenerServesItAndTheMainPortDoesNot) {
  ServerProcess server(Env{{"METRICS_LISTEN", "127.0.0.1:0"}});
  server.start();
  auto port = metrics_port(server);
  ASSERT_NE(port, 0) << server.log();
  EXPECT_EQ(server.client().get("/metrics").status, 404);
  HttpClient listener("127.0.0.1", port);
  auto e = scrape(listener, {});
  EXPECT_GT(e.value("process_open_fds"), 0);
  // The listener has nothing else.
  EXPECT_EQ(listener.get("/health").status, 404);
  EXPECT_EQ(listener.get("/api/v2/sensors").status, 404);
}

TEST(MetricsExposure, DisabledRecordsNothingAndServesNothing) {
  ServerProcess server(Env{{"METRICS_TOKEN", kToken}, {"METRICS_ENABLED", "false"}});
  server.start();
  EXPECT_EQ(server.client().get("/metrics", bearer(kToken)).status, 404);
}

TEST(MetricsExposure, BadSettingsAreOneClearLine) {
  auto r = ServerProcess(Env{{"METRICS_LISTEN", "localhost"}}).cli({"serve"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("METRICS_LISTEN must be host:port"), std::string::npos) << r.err;
  auto t = ServerProcess(Env{{"METRICS_TOKEN", "short"}}).cli({"serve"});
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_NE(t.err.find("METRICS_TOKEN must be at least 16"), std::string::npos) << t.err;
}

// --- Content after real traffic -----------------------------------------------------------------

class MetricsTraffic : public ::testing::Test {
 protected:
  // MQTT ingest, the Redis bus, both exposures: every part that has metrics of its own.
  static void SetUpTestSuite() {
    redis_ = new RedisProcess();
    redis_->start();
    fleet_ = MqttFleet::start(Env{{"METRICS_TOKEN", kToken},
                                  {"METRICS_LISTEN", "127.0.0.1:0"},
                                  {"REDIS_URL", redis_->url()},
                                  {"SENSOR_SWEEP_INTERVAL", "1"}})
                 .release();
    sensor_ = new SensorCredentials(onboard(*fleet_->server, fleet_->admin, "metrics-s1"));
  }
  static void TearDownTestSuite() {
    delete sensor_;
    delete fleet_;
    delete redis_;
  }
  static ServerProcess& server() { return *fleet_->server; }
  static Exposition scrape_now() {
    auto client = server().client();
    return scrape(client, bearer(kToken));
  }
  // A threat over MQTT, stored; and a malformed message, dead-lettered.
  static void ingest_over_mqtt() {
    auto mqtt = connect_sensor(*fleet_->broker, *sensor_);
    auto sample = wire_sample("canonical-threat.json").as_object();
    sample["sensor_id"] = sensor_->sensor_id;
    sample["timestamp"] =
        iso_time(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    sample["device_name"] = "metrics-" + random_text(12);  // a new threat id each time
    auto before = stored_threats(server(), fleet_->admin, sensor_->sensor_id);
    ASSERT_TRUE(mqtt->publish(broker::sensor_topic(sensor_->sensor_id, broker::TopicKind::threats),
                              json::serialize(sample)));
    ASSERT_TRUE(mqtt->publish(broker::sensor_topic(sensor_->sensor_id, broker::TopicKind::threats),
                              "{not json"));
    ASSERT_TRUE(eventually(
        [&] { return stored_threats(server(), fleet_->admin, sensor_->sensor_id) == before + 1; }));
    ASSERT_TRUE(eventually([&] { return dead_letters(server()).size() >= 1; }));
  }

  static RedisProcess* redis_;
  static MqttFleet* fleet_;
  static SensorCredentials* sensor_;
};
RedisProcess* MetricsTraffic::redis_ = nullptr;
MqttFleet* MetricsTraffic::fleet_ = nullptr;
SensorCredentials* MetricsTraffic::sensor_ = nullptr;

TEST_F(MetricsTraffic, RouteLabelIsThePatternNeverThePath) {
  auto client = server().client();
  EXPECT_EQ(client.get("/api/v2/sensors/secret-looking-id-42", bearer(fleet_->admin)).status, 404);
  EXPECT_EQ(client.get("/no-such-path-token-abc123").status, 404);
  auto reply = client.get("/metrics", bearer(kToken));
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body.find("secret-looking-id-42"), std::string::npos);
  EXPECT_EQ(reply.body.find("token-abc123"), std::string::npos);
  auto e = parse_exposition(reply.body);
  EXPECT_GE(
      e.value(
          R"(honeyman_http_requests_total{method="GET",route="/api/v2/sensors/{sensor_id}",status="404"})"),
      1);
  EXPECT_GE(e.value(R"(honeyman_http_requests_total{method="GET",route="unmatched",status="404"})"),
            1);
  EXPECT_GE(
      e.value(
          R"(honeyman_http_request_duration_seconds_count{method="GET",route="/api/v2/sensors/{sensor_id}"})"),
      1);
}

TEST_F(MetricsTraffic, CountersMoveWithRequestsIngestAndWebSocket) {
  auto before = scrape_now();
  auto client = server().client();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client.get("/health").status, 200);
  ingest_over_mqtt();
  WsClient ws("127.0.0.1", server().port());
  ASSERT_EQ(ws.connect("/api/v2/ws?token=" + fleet_->admin), 101);
  ASSERT_TRUE(ws.next_of_type("welcome", 5s).has_value());
  Exposition after;
  ASSERT_TRUE(eventually(
      [&] {
        after = scrape_now();
        return after.sum("honeyman_sensors_online") >= 1 && after.sum("honeyman_ws_clients") == 1;
      },
      10s));
  EXPECT_EQ(after.sum("honeyman_http_requests_total", R"(route="/health")") -
                before.sum("honeyman_http_requests_total", R"(route="/health")"),
            3);
  EXPECT_GE(after.sum("honeyman_ingest_threats_stored_total") -
                before.sum("honeyman_ingest_threats_stored_total"),
            1);
  EXPECT_GE(after.sum("honeyman_mqtt_messages_received_total") -
                before.sum("honeyman_mqtt_messages_received_total"),
            2);
  EXPECT_GE(after.sum("honeyman_ingest_dead_letters_total", R"(reason="malformed_json")"), 1);
  EXPECT_GE(after.sum("honeyman_ingest_batch_size_count"), 1);
  EXPECT_GE(
      after.sum("honeyman_store_operation_duration_seconds_count", R"(operation="insert_threats")"),
      1);
  EXPECT_GE(after.sum("honeyman_bus_events_published_total"), 1);
  EXPECT_GE(after.sum("honeyman_ws_messages_sent_total"), 1);
  EXPECT_EQ(after.sum("honeyman_broker_connected"), 1);
  EXPECT_EQ(after.sum("honeyman_redis_connected"), 1);
  EXPECT_GE(after.sum("honeyman_bus_delivery_lag_seconds_count"), 1);
  EXPECT_EQ(after.sum("honeyman_ws_clients_dropped_total"), 0);
  EXPECT_EQ(after.sum("honeyman_store_pool_threads"), 4);
  // Process facts.
  EXPECT_GT(after.value("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(after.value("process_threads"), 2);
  EXPECT_GT(after.value("process_max_fds"), after.value("process_open_fds"));
  auto now = static_cast<double>(std::time(nullptr));
  EXPECT_LT(std::abs(after.value("process_start_time_seconds") - now), 600);
  EXPECT_GT(after.value("process_cpu_seconds_total"), 0);
}

// Every metric a PromQL expression of the Grafana dashboard names is in a live scrape.
TEST_F(MetricsTraffic, GrafanaDashboardNamesExist) {
  ingest_over_mqtt();
  WsClient ws("127.0.0.1", server().port());
  ASSERT_EQ(ws.connect("/api/v2/ws?token=" + fleet_->admin), 101);
  ASSERT_TRUE(eventually([&] { return scrape_now().sum("honeyman_sensors_online") >= 1; }, 10s));
  auto e = scrape_now();
  auto dashboard =
      json::parse(read_file(std::string(HONEYMAN_SOURCE_DIR) + "/deploy/grafana/honeyman.json"));
  std::set<std::string> referenced;
  static const std::regex metric(R"(\b((honeyman|process)_[a-z0-9_]+))");
  for (const auto& panel : dashboard.at("panels").as_array()) {
    auto* targets = panel.as_object().if_contains("targets");
    if (!targets) continue;
    for (const auto& t : targets->as_array()) {
      std::string expr(t.at("expr").as_string());
      for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end; it != end; ++it)
        referenced.insert((*it)[1]);
    }
  }
  ASSERT_GE(referenced.size(), 10u);
  for (const auto& name : referenced) {
    // A histogram's series (_bucket, _sum, _count) must belong to a family typed histogram.
    bool found = e.names.contains(name);
    for (std::string suffix : {"_bucket", "_sum", "_count"})
      if (name.ends_with(suffix))
        found = found && e.histograms.contains(name.substr(0, name.size() - suffix.size()));
    EXPECT_TRUE(found) << name << " is in the dashboard but not in /metrics";
  }
}

// A real Prometheus scrapes the server (bearer token on the main port) and answers queries.
TEST_F(MetricsTraffic, PrometheusScrapesIt) {
  TempDir dir("honeyman-prometheus");
  auto web_port = free_port();
  std::ofstream(dir.path() + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      << "scrape_configs:\n  - job_name: honeyman\n"
      << "    authorization:\n      credentials: " << kToken << "\n"
      << "    static_configs:\n      - targets: ['127.0.0.1:" << server().port() << "']\n"
      << "  - job_name: honeyman-listener\n"
      << "    static_configs:\n      - targets: ['127.0.0.1:" << metrics_port(server()) << "']\n";
  SpawnOptions options;
  options.stdout_path = dir.path() + "/prometheus.log";
  auto pid = spawn({"/usr/bin/prometheus", "--config.file=" + dir.path() + "/prometheus.yml",
                    "--storage.tsdb.path=" + dir.path() + "/data",
                    "--web.listen-address=127.0.0.1:" + std::to_string(web_port)},
                   options);
  ASSERT_GT(pid, 0);
  struct Kill {
    pid_t pid;
    ~Kill() {
      ::kill(pid, SIGKILL);
      wait_exit(pid, 5s);
    }
  } kill_at_end{pid};
  HttpClient prometheus("127.0.0.1", web_port);
  auto query = [&](const std::string& q) -> json::array {
    auto reply = prometheus.get("/api/v1/query?query=" + q);
    if (reply.status != 200) return {};
    return reply.json().at("data").at("result").as_array();
  };
  auto value_of = [](const json::value& r) {
    return std::stod(std::string(r.at("value").as_array()[1].as_string()));
  };
  ASSERT_TRUE(eventually(
      [&] {
        auto up = query("up");
        int ones = 0;
        for (const auto& r : up) ones += value_of(r) == 1;
        return ones == 2;
      },
      20s))
      << read_file(dir.path() + "/prometheus.log");
  auto requests = query("sum(honeyman_http_requests_total%7Bjob%3D%22honeyman%22%7D)");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_GE(value_of(requests[0]), 1);
  auto rss = query("process_resident_memory_bytes%7Bjob%3D%22honeyman%22%7D");
  ASSERT_EQ(rss.size(), 1u);
  EXPECT_GT(value_of(rss[0]), 1e6);
}

// --- Access log -------------------------------------------------------------------------------

// The server's JSON access-log lines (message "request").
std::vector<json::object> request_lines(const ServerProcess& server) {
  std::vector<json::object> out;
  std::istringstream in(server.log());
  for (std::string line; std::getline(in, line);) {
    if (line.find(R"("message":"request")") == std::string::npos) continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    EXPECT_FALSE(ec) << line;
    if (!ec) out.push_back(v.as_object());
  }
  return out;
}

json::object line_with_id(const ServerProcess& server, const std::string& id) {
  json::object found;
  eventually(
      [&] {
        for (auto& l : request_lines(server))
          if (l.at("request_id") == id.c_str()) found = l;
        return !found.empty();
      },
      5s);
  return found;
}

TEST(AccessLog, OneJsonLinePerRequestWithItsFields) {
  ServerProcess server(Env{{"LOG_FORMAT", "json"}});
  server.start();
  server.add_user("alice", "viewer", "alice-password-123");
  auto token = server.login("alice", "alice-password-123");
  auto reply = server.client().get("/api/v2/sensors/some-sensor", bearer(token));
  ASSERT_EQ(reply.status, 404);
  auto id = reply.header("x-request-id");
  ASSERT_FALSE(id.empty());
  auto line = line_with_id(server, id);
  ASSERT_FALSE(line.empty()) << server.log();
  EXPECT_EQ(line.at("level"), "info");
  EXPECT_EQ(line.at("method"), "GET");
  EXPECT_EQ(line.at("route"), "/api/v2/sensors/{sensor_id}");
  EXPECT_EQ(line.at("status"), 404);
  EXPECT_EQ(line.at("bytes").as_int64(), static_cast<std::int64_t>(reply.body.size()));
  EXPECT_TRUE(line.at("duration_ms").is_double());
  EXPECT_EQ(line.at("principal"), "alice");
  EXPECT_EQ(line.at("client"), "127.0.0.1");
  // Unrouted requests and refusals carry an id too, each its own.
  auto missing = server.client().get("/nowhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_FALSE(missing.header("x-request-id").empty());
  EXPECT_NE(missing.header("x-request-id"), id);
  EXPECT_EQ(line_with_id(server, missing.header("x-request-id")).at("route"), "unmatched");
}

TEST(AccessLog, RequestIdKeptOnlyFromATrustedProxyAndOnlyWhenWellFormed) {
  ServerProcess proxied(Env{{"LOG_FORMAT", "json"}, {"TRUSTED_PROXIES", "127.0.0.1"}});
  proxied.start();
  auto client = proxied.client();
  EXPECT_EQ(client.get("/health", {{"X-Request-Id", "edge-req.42:a_b"}}).header("x-request-id"),
            "edge-req.42:a_b");
  EXPECT_FALSE(line_with_id(proxied, "edge-req.42:a_b").empty());
  for (std::string bad : {std::string("has space"), std::string("quote\"d"), std::string(129, 'a'),
                          std::string("{\"json\":1}")}) {
    auto id = client.get("/health", {{"X-Request-Id", bad}}).header("x-request-id");
    EXPECT_NE(id, bad);
    EXPECT_FALSE(id.empty());
  }
  ServerProcess direct(Env{{"LOG_FORMAT", "json"}});
  direct.start();
  auto id = direct.client().get("/health", {{"X-Request-Id", "chosen-by-client"}});
  EXPECT_NE(id.header("x-request-id"), "chosen-by-client");
  EXPECT_EQ(direct.log().find("chosen-by-client"), std::string::npos);
}

TEST(AccessLog, NoSecretsInTheLog) {
  ServerProcess server(Env{{"LOG_FORMAT", "text"}, {"ENVIRONMENT", "development"}});
  server.start();
  server.add_user("root", "admin", "root-password-123");
  auto token = server.login("root", "root-password-123");
  auto key = server.add_sensor("log-sensor", "Log sensor");
  auto client = server.client();
  auto onboarding = mint_token(server, token, "QR", 1);
  client.get("/api/v2/onboarding/qrcode/" + onboarding);
  client.get("/api/v2/sensors/log-sensor", api_key(key));
  client.get("/api/v2/sensors?token=" + token, bearer(token));
  WsClient ws("127.0.0.1", server.port());
  EXPECT_EQ(ws.connect("/api/v2/ws?token=" + token), 101);
  ws.close();
  // Each IO thread writes its own buffer (every 50 ms): wait for every request's line, not one.
  EXPECT_TRUE(eventually(
      [&] {
        auto log = server.log();
        return log.find("route=/api/v2/onboarding/qrcode/{token}") != std::string::npos &&
               log.find("principal=log-sensor") != std::string::npos &&
               log.find("route=/api/v2/sensors ") != std::string::npos;
      },
      5s))
      << server.log();
  auto log = server.log();
  EXPECT_NE(log.find("request request_id="), std::string::npos);
  EXPECT_NE(log.find("principal=log-sensor"), std::string::npos);
  for (const auto& secret : {onboarding, token, key, std::string("root-password-123")})
    EXPECT_EQ(log.find(secret), std::string::npos) << "a secret is in the log";
}

TEST(AccessLog, OffWithAccessLogFalse) {
  ServerProcess server(Env{{"ACCESS_LOG", "false"}});
  server.start();
  auto reply = server.client().get("/health");
  EXPECT_FALSE(reply.header("x-request-id").empty());
  server.stop();
  EXPECT_EQ(server.log().find("request request_id="), std::string::npos);
}

}  // namespace
}  // namespace honeyman::testing
