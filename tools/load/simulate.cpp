// `honeyman-load simulate`: a fleet of simulated sensors. Onboards them through the real API (or
// reuses saved credentials), connects one MQTT client per sensor with its own account, publishes
// realistic threats at a fixed total rate plus heartbeats, and reports sent / acknowledged /
// rate. The load generator of bench/mqtt-bench, bench/chaos, bench/soak and of
// `scripts/quickstart --demo`.
//
// Each threat names itself in its raw_data (kept as the stored threat's raw_event): `sequence`
// counts per worker process, so (sensor id, sequence) is unique within one run, and `run` is
// --run-id when given. bench/chaos counts stored rows per identity to find threats lost or stored
// twice.
//
// What it needs of the server's settings (PORT and API_PREFIX for the API's address, MQTT_USE_TLS
// and MQTT_CA_CERT for the sensors' connections) it reads from the server's `.env` file
// (--env-file) and the environment, as the server does; --api overrides the address.
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "broker/broker.hpp"
#include "core/core.hpp"
#include "load.hpp"

namespace honeyman::load::sim {
namespace {

namespace json = boost::json;
namespace beast = boost::beast;
using SteadyClock = std::chrono::steady_clock;

struct SimulateArgs {
  int sensors = 10;
  double rate = 100;  // threats per second, all sensors together
  int duration = 60;  // seconds
  std::string format = "agent";
  int qos = 1;
  std::string api;                // http://host:port; default: http://127.0.0.1:<PORT>
  std::string env_file = ".env";  // the server's settings (PORT, API_PREFIX, MQTT_USE_TLS...)
  std::string admin_user = "admin";
  bool password_stdin = false;
  std::string credentials = "simulate-sensors.json";
  std::string prefix = "sim";
  std::string broker_host;  // default: what registration answered
  int broker_port = 0;
  std::string run_id;  // raw_data.run of every threat when set
  int ack_wait = 5;    // seconds to wait for the broker's last acknowledgements
};

// What the simulator needs of the server's configuration.
struct ServerTarget {
  std::string api;              // base URL
  std::string prefix;           // API_PREFIX
  broker::BrokerConfig broker;  // TLS settings for the sensors' connections
};

// The settings the server would read (its .env file, then the environment), then --api.
Result<ServerTarget> server_target(const SimulateArgs& a) {
  Settings settings;
  if (auto ok = settings.load_env_file(a.env_file, a.env_file != ".env"); !ok) return ok.error();
  settings.load_environment({"PORT", "API_PREFIX", "MQTT_USE_TLS", "MQTT_CA_CERT"});
  auto port = settings.get_int("PORT", 8000, 0, 65535);
  if (!port) return port.error();
  auto tls = settings.get_bool("MQTT_USE_TLS", false);
  if (!tls) return tls.error();
  ServerTarget t;
  t.api = a.api.empty() ? "http://127.0.0.1:" + std::to_string(*port) : a.api;
  t.prefix = settings.get_or("API_PREFIX", "/api/v2");
  t.broker.use_tls = *tls;
  t.broker.ca_cert = settings.get_or("MQTT_CA_CERT", "");
  return t;
}

struct SimSensor {
  std::string sensor_id, username, password, host;
  int port = 0;
};

// --- a minimal synchronous HTTP client (JSON in, JSON out) -----------------------------------
struct HttpAnswer {
  int status = 0;
  json::value body;
  int retry_after = 0;
};

Result<HttpAnswer> http_json(const std::string& base, beast::http::verb verb,
                             const std::string& target, const json::value& body,
                             const std::string& bearer = {}) {
  auto url = boost::urls::parse_uri(base);
  if (!url)
    return make_error(Errc::invalid_input, "--api must be a URL like http://127.0.0.1:8000");
  std::string host(url->host()), port(url->has_port() ? url->port() : "80");
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    boost::asio::ip::tcp::resolver resolver(io);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(resolver.resolve(host, port));
    beast::http::request<beast::http::string_body> req{verb, target, 11};
    req.set(beast::http::field::host, host + ":" + port);
    req.set(beast::http::field::content_type, "application/json");
    if (!bearer.empty()) req.set(beast::http::field::authorization, "Bearer " + bearer);
    req.body() = to_json_text(body);
    req.prepare_payload();
    beast::http::write(stream, req);
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream, buffer, res);
    HttpAnswer a;
    a.status = static_cast<int>(res.result_int());
    boost::system::error_code ec;
    a.body = json::parse(res.body(), ec);
    if (auto ra = res[beast::http::field::retry_after]; !ra.empty())
      a.retry_after = std::atoi(std::string(ra).c_str());
    return a;
  } catch (const std::exception& e) {
    return make_error(Errc::unavailable, "cannot reach " + base + ": " + e.what());
  }
}

// POST with retries on 429 (honouring Retry-After).
Result<HttpAnswer> post(const std::string& base, const std::string& target, const json::value& body,
                        const std::string& bearer = {}) {
  for (int attempt = 0;; ++attempt) {
    auto a = http_json(base, beast::http::verb::post, target, body, bearer);
    if (!a || a->status != 429 || attempt == 100) return a;
    if (attempt == 0)
      std::cerr << "simulate: rate limited; waiting (RATE_LIMIT_ENABLED=false on the server "
                   "speeds up bulk onboarding)\n";
    std::this_thread::sleep_for(std::chrono::seconds(std::max(1, a->retry_after)));
  }
}

std::string detail_of(const HttpAnswer& a) {
  return "HTTP " + std::to_string(a.status) + " " + to_json_text(a.body);
}

// --- credentials ---------------------------------------------------------------------------
std::vector<SimSensor> load_saved(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(ss.str(), ec);
  std::vector<SimSensor> out;
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.as_array()) {
    const auto& o = e.as_object();
    out.push_back({std::string(o.at("sensor_id").as_string()),
                   std::string(o.at("mqtt_username").as_string()),
                   std::string(o.at("mqtt_password").as_string()),
                   std::string(o.at("mqtt_broker").as_string()),
                   static_cast<int>(o.at("mqtt_port").to_number<std::int64_t>())});
  }
  return out;
}

void save(const std::string& path, const std::vector<SimSensor>& sensors) {
  json::array out;
  for (const auto& s : sensors)
    out.push_back(json::object{{"sensor_id", s.sensor_id},
                               {"mqtt_username", s.username},
                               {"mqtt_password", s.password},
                               {"mqtt_broker", s.host},
                               {"mqtt_port", s.port}});
  std::ofstream(path, std::ios::trunc) << to_json_text(out) << "\n";
}

Result<std::vector<SimSensor>> onboard(const SimulateArgs& a, const std::string& api,
                                       const std::string& prefix, std::vector<SimSensor> have) {
  if (static_cast<int>(have.size()) >= a.sensors) return have;
  std::string password;
  if (const char* env = std::getenv("HONEYMAN_ADMIN_PASSWORD")) password = env;
  if (a.password_stdin || password.empty()) std::getline(std::cin, password);
  auto login = post(api, prefix + "/auth/login",
                    json::object{{"username", a.admin_user}, {"password", password}});
  if (!login) return login.error();
  if (login->status != 200) return make_error(Errc::unauthorized, "login: " + detail_of(*login));
  std::string token(login->body.at("token").at("access_token").as_string());
  auto run = std::to_string(std::random_device{}() % 100000);
  for (int i = static_cast<int>(have.size()); i < a.sensors; ++i) {
    auto id = a.prefix + "-" + run + "-" + std::to_string(i);
    auto minted =
        post(api, prefix + "/onboarding/tokens", json::object{{"sensor_name", id}}, token);
    if (!minted) return minted.error();
    if (minted->status != 201) return make_error(Errc::internal, "token: " + detail_of(*minted));
    json::object reg{{"onboarding_token", minted->body.at("token")},
                     {"sensor_id", id},
                     {"platform", "simulator"},
                     {"agent_version", "sim-1"},
                     {"capabilities", json::object{{"ble", true}, {"usb", true}, {"wifi", true}}}};
    auto answer = post(api, prefix + "/onboarding/register", reg);
    if (!answer) return answer.error();
    if (answer->status != 201 || !answer->body.at("mqtt_password").is_string())
      return make_error(Errc::internal, "register " + id + ": " + detail_of(*answer));
    const auto& b = answer->body.as_object();
    have.push_back({id, std::string(b.at("mqtt_username").as_string()),
                    std::string(b.at("mqtt_password").as_string()),
                    std::string(b.at("mqtt_broker").as_string()),
                    static_cast<int>(b.at("mqtt_port").to_number<std::int64_t>())});
    if ((i + 1) % 50 == 0) std::cerr << "simulate: onboarded " << i + 1 << " sensors\n";
  }
  return have;
}

// --- payloads --------------------------------------------------------------------------------
struct Generator {
  std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t seq = 0;
  std::string run;  // raw_data.run when not empty

  std::string threat(const std::string& sensor_id, bool agent) {
    static const char* kSources[] = {"BleDetector", "UsbDetector", "WifiDetector",
                                     "NetworkDetector", "AirDropDetector"};
    static const char* kDetectors[] = {"ble", "usb", "wifi", "network", "airdrop"};
    static const char* kTypes[][3] = {{"flipper_zero", "ble_spam", "airtag_tracking"},
                                      {"badusb_hid", "rubber_ducky", "usb_mass_storage"},
                                      {"evil_twin", "deauth_flood", "karma_attack"},
                                      {"port_scan", "ssh_brute_force", "arp_spoofing"},
                                      {"airdrop_spam", "unsolicited_airdrop", "name_spoofing"}};
    static const char* kLevels[] = {"critical", "high", "medium", "medium", "low", "low", "info"};
    auto d = rng() % 5;
    const char* type = kTypes[d][rng() % 3];
    const char* level = kLevels[rng() % 7];
    double score = static_cast<double>(rng() % 1000) / 1000.0;
    char mac[18];
    std::snprintf(mac, sizeof mac, "%02X:%02X:%02X:%02X:%02X:%02X", int(rng() % 256),
                  int(rng() % 256), int(rng() % 256), int(rng() % 256), int(rng() % 256),
                  int(rng() % 256));
    double lat = 48.0 + static_cast<double>(rng() % 10000) / 10000.0;
    double lon = 2.0 + static_cast<double>(rng() % 10000) / 10000.0;
    auto now = format_timestamp(system_clock().now());
    json::object raw{{"device_name", std::string("dev-") + std::to_string(rng() % 10000)},
                     {"mac_address", mac},
                     {"rssi", -30 - static_cast<int>(rng() % 60)},
                     {"sequence", ++seq}};
    if (!run.empty()) raw["run"] = run;
    if (!agent)
      return to_json_text(json::object{{"timestamp", now},
                                       {"threat_type", type},
                                       {"detector_type", kDetectors[d]},
                                       {"severity", level},
                                       {"threat_score", score},
                                       {"device_mac", mac},
                                       {"latitude", lat},
                                       {"longitude", lon},
                                       {"matched_rules", json::array{json::object{{"name", type}}}},
                                       {"raw_event", raw}});
    now.pop_back();  // the agent sends naive UTC
    return to_json_text(json::object{
        {"timestamp", now},
        {"sensor_id", sensor_id},
        {"sensor_name", sensor_id},
        {"source", kSources[d]},
        {"threat_type", type},
        {"threat_score", score},
        {"risk_level", level},
        {"threats_detected", json::array{std::string(type) + " detection"}},
        {"message", std::string(type) + " detected near " + sensor_id},
        {"raw_data", raw},
        {"metadata", json::object{{"detector_version", "2.0.0"}, {"simulated", true}}},
        {"geolocation",
         json::object{{"lat", lat}, {"lon", lon}, {"accuracy", 25.0}, {"source", "gps"}}}});
  }

  static std::string heartbeat() {
    auto now = format_timestamp(system_clock().now());
    now.pop_back();
    return to_json_text(json::object{
        {"timestamp", now},
        {"status", "online"},
        {"metrics",
         json::object{{"cpu_percent", 12.5}, {"memory_percent", 40.1}, {"disk_percent", 55.0}}},
        {"uptime", 3600.0}});
  }
};

// --- the run ---------------------------------------------------------------------------------
// libmosquitto waits with select(), which cannot watch descriptors above FD_SETSIZE (1024), and
// each client holds three (its socket and a wake-up pair): one process serves at most ~300
// sensors. So the sensors are split over worker processes.
constexpr std::size_t kSensorsPerWorker = 250;

// One worker's counters, in memory shared with the parent (which prints progress and totals).
struct WorkerSlot {
  std::atomic<std::uint64_t> sent{0}, refused{0}, heartbeats{0}, acked{0};
  std::atomic<double> seconds{0};
};

struct SimFleet {
  std::vector<SimSensor> sensors;
  std::vector<std::unique_ptr<broker::Publisher>> clients;
  std::uint64_t acked() const {
    std::uint64_t n = 0;
    for (const auto& c : clients) n += c->acknowledged();
    return n;
  }
};

// One MQTT connection per sensor, with its own account.
Status connect_fleet(const broker::BrokerConfig& broker, const SimulateArgs& a, SimFleet& fleet) {
  for (const auto& s : fleet.sensors) {
    auto c = broker;
    c.host = a.broker_host.empty() ? s.host : a.broker_host;
    c.port = static_cast<std::uint16_t>(a.broker_port ? a.broker_port : s.port);
    auto client = broker::connect_publisher(c, s.sensor_id + "-sim", s.username, s.password);
    if (!client)
      return make_error(client.error().code,
                        "sensor " + s.sensor_id + ": " + client.error().message);
    fleet.clients.push_back(std::move(*client));
  }
  return {};
}

// Publishes on schedule (`rate` per second over this fleet, round robin) until `end`, a
// heartbeat per sensor every 30 s; counters go to `slot` as they change.
void run_load(SimFleet& fleet, const SimulateArgs& a, double rate, SteadyClock::time_point start,
              WorkerSlot& slot) {
  Generator gen;
  gen.run = a.run_id;
  std::uint64_t sent = 0, refused = 0;
  auto end = start + std::chrono::seconds(a.duration);
  auto next_heartbeats = start;
  std::this_thread::sleep_until(start);  // every worker starts the schedule together
  for (auto now = SteadyClock::now(); now < end; now = SteadyClock::now()) {
    if (now >= next_heartbeats) {
      for (std::size_t i = 0; i < fleet.clients.size(); ++i)
        slot.heartbeats += fleet.clients[i]->publish(
            broker::sensor_topic(fleet.sensors[i].sensor_id, broker::TopicKind::heartbeat),
            Generator::heartbeat(), a.qos);
      next_heartbeats = now + std::chrono::seconds(30);
    }
    double elapsed = std::chrono::duration<double>(now - start).count();
    auto due = static_cast<std::uint64_t>(elapsed * rate);
    while (sent + refused < due) {
      auto i = (sent + refused) % fleet.clients.size();
      const auto& id = fleet.sensors[i].sensor_id;
      bool ok = fleet.clients[i]->publish(broker::sensor_topic(id, broker::TopicKind::threats),
                                          gen.threat(id, a.format == "agent"), a.qos);
      ++(ok ? sent : refused);
    }
    slot.sent = sent;
    slot.refused = refused;
    slot.acked = fleet.acked();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  slot.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  // Give the broker a moment to acknowledge the tail (after a broker restart, the clients first
  // reconnect with backoff and resend what was in flight), then disconnect.
  auto expected = sent + slot.heartbeats;
  for (int i = 0; i < a.ack_wait * 20 && a.qos == 1 && fleet.acked() < expected; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  slot.acked = fleet.acked();
  for (auto& c : fleet.clients) c->stop();
}

// A worker process: connects its share of the sensors, then publishes its share of the rate.
[[noreturn]] void worker(const broker::BrokerConfig& broker, const SimulateArgs& a,
                         std::vector<SimSensor> sensors, double rate, SteadyClock::time_point start,
                         WorkerSlot& slot) {
  SimFleet fleet;
  fleet.sensors = std::move(sensors);
  if (auto ok = connect_fleet(broker, a, fleet); !ok) {
    fail(ok.error().message);
    _exit(1);
  }
  run_load(fleet, a, rate, start, slot);
  _exit(0);
}

struct Totals {
  std::uint64_t sent = 0, refused = 0, heartbeats = 0, acked = 0;
  double seconds = 0;
};

Totals sum(const WorkerSlot* slots, std::size_t n) {
  Totals t;
  for (std::size_t i = 0; i < n; ++i) {
    t.sent += slots[i].sent;
    t.refused += slots[i].refused;
    t.heartbeats += slots[i].heartbeats;
    t.acked += slots[i].acked;
    t.seconds = std::max(t.seconds, slots[i].seconds.load());
  }
  return t;
}

// Forks the workers, prints progress every second, returns whether every worker succeeded.
bool run_workers(const broker::BrokerConfig& broker, const SimulateArgs& a,
                 std::vector<SimSensor> sensors, WorkerSlot* slots, std::size_t workers) {
  auto start = SteadyClock::now() + std::chrono::milliseconds(200 + 20 * sensors.size());
  std::vector<pid_t> pids;
  for (std::size_t w = 0; w < workers; ++w) {
    auto first = w * sensors.size() / workers, last = (w + 1) * sensors.size() / workers;
    std::vector<SimSensor> share(sensors.begin() + static_cast<std::ptrdiff_t>(first),
                                 sensors.begin() + static_cast<std::ptrdiff_t>(last));
    double rate = a.rate * static_cast<double>(share.size()) / static_cast<double>(sensors.size());
    pid_t pid = fork();
    if (pid == 0) worker(broker, a, std::move(share), rate, start, slots[w]);
    pids.push_back(pid);
  }
  bool ok = true;
  std::size_t running = pids.size();
  while (running > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    for (auto& pid : pids) {
      int status = 0;
      if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
        ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        pid = -1;
        --running;
      }
    }
    auto t = sum(slots, workers);
    double elapsed =
        std::max(0.001, std::chrono::duration<double>(SteadyClock::now() - start).count());
    if (SteadyClock::now() > start)
      std::fprintf(stderr, "\rsimulate: %6.0f s  sent %llu  acked %llu  %.0f/s   ", elapsed,
                   static_cast<unsigned long long>(t.sent),
                   static_cast<unsigned long long>(t.acked), static_cast<double>(t.sent) / elapsed);
  }
  std::fprintf(stderr, "\n");
  return ok;
}

int simulate(const SimulateArgs& a) {
  raise_fd_limit();
  auto target = server_target(a);
  if (!target) return fail(target.error().message);
  auto sensors = onboard(a, target->api, target->prefix, load_saved(a.credentials));
  if (!sensors) return fail(sensors.error().message);
  save(a.credentials, *sensors);
  sensors->resize(static_cast<std::size_t>(a.sensors));

  auto workers = (sensors->size() + kSensorsPerWorker - 1) / kSensorsPerWorker;
  auto bytes = sizeof(WorkerSlot) * workers;
  void* shared = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return fail("cannot map shared memory for the workers");
  auto* slots = new (shared) WorkerSlot[workers];
  std::cerr << "simulate: " << sensors->size() << " sensors in " << workers
            << " processes; publishing " << a.rate << " threats/s for " << a.duration << " s ("
            << a.format << ", QoS " << a.qos << ")\n";
  std::cout.flush();
  bool ok = run_workers(target->broker, a, std::move(*sensors), slots, workers);
  auto t = sum(slots, workers);
  munmap(shared, bytes);
  if (!ok) return fail("a simulator process failed (see above)");
  auto expected = t.sent + t.heartbeats;
  auto acked_text = a.qos == 1 ? std::to_string(t.acked) + " of " + std::to_string(expected)
                               : std::string("n/a (QoS 0)");
  std::printf(
      "sent %llu threats (+%llu heartbeats), acknowledged by broker %s, refused %llu, "
      "rate achieved %.0f threats/s over %.1f s\n",
      static_cast<unsigned long long>(t.sent), static_cast<unsigned long long>(t.heartbeats),
      acked_text.c_str(), static_cast<unsigned long long>(t.refused),
      static_cast<double>(t.sent) / std::max(0.001, t.seconds), t.seconds);
  return 0;
}

}  // namespace
}  // namespace honeyman::load::sim

namespace honeyman::load {

void add_simulate_command(CLI::App& cli, int& exit_code) {
  auto a = std::make_shared<sim::SimulateArgs>();
  auto* cmd = cli.add_subcommand(
      "simulate", "Simulated sensors publishing over MQTT (onboarded through the API)");
  cmd->add_option("--sensors", a->sensors, "Number of sensors")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  cmd->add_option("--rate", a->rate, "Threats per second, all sensors together")
      ->check(CLI::Range(0.1, 10'000'000.0))
      ->capture_default_str();
  cmd->add_option("--duration", a->duration, "Seconds")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  cmd->add_option("--format", a->format, "agent|canonical")
      ->capture_default_str()
      ->check(CLI::IsMember({"agent", "canonical"}));
  cmd->add_option("--qos", a->qos, "0|1")->capture_default_str()->check(CLI::IsMember({0, 1}));
  cmd->add_option("--api", a->api, "Server base URL (default http://127.0.0.1:PORT)");
  cmd->add_option("--env-file", a->env_file,
                  "The server's settings: PORT, API_PREFIX, MQTT_USE_TLS, MQTT_CA_CERT (the "
                  "environment overrides them)")
      ->capture_default_str();
  cmd->add_option("--admin", a->admin_user, "Admin user that mints onboarding tokens")
      ->capture_default_str();
  cmd->add_flag("--password-stdin", a->password_stdin,
                "Read the admin password from stdin (else HONEYMAN_ADMIN_PASSWORD)");
  cmd->add_option("--credentials", a->credentials, "Saved sensor credentials (reused, extended)")
      ->capture_default_str();
  cmd->add_option("--prefix", a->prefix, "Sensor id prefix")->capture_default_str();
  cmd->add_option("--broker-host", a->broker_host, "Override the broker host from registration");
  cmd->add_option("--broker-port", a->broker_port, "Override the broker port from registration");
  cmd->add_option("--run-id", a->run_id,
                  "Put this in every threat's raw_data as \"run\" (with its \"sequence\", the "
                  "threat's identity for counting what was stored)");
  cmd->add_option("--ack-wait", a->ack_wait,
                  "Seconds to wait after the last publish for the broker's acknowledgements")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  cmd->callback([&exit_code, a] { exit_code = sim::simulate(*a); });
}

}  // namespace honeyman::load
