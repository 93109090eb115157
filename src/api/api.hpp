// api: the REST resources of SPEC §2 (auth, sensors, threats, analytics, operations), mapping HTTP
// to the services (`service`), auth and ingest. Handlers parse, authorise, call a service and
// serialise the result; they hold no state and no rules of their own.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "alerting/alerting.hpp"
#include "auth/auth.hpp"
#include "broker/broker.hpp"
#include "bus/bus.hpp"
#include "core/core.hpp"
#include "http/http.hpp"
#include "ingest/ingest.hpp"
#include "service/service.hpp"
#include "store/store.hpp"

namespace honeyman::api {
namespace detail {
class ResponseCache;
struct ConsoleFiles;
}  // namespace detail

struct ApiConfig {
  std::string version;                          // reported by /health
  std::string prefix = "/api/v2";               // API_PREFIX
  std::chrono::seconds heartbeat_interval{60};  // sensors are online for 3 of these
  // PUBLIC_API_URL: the API's base URL as sensors reach it (onboarding answers, QR codes);
  // empty: http://<the request's Host header>, unless require_public_url.
  std::string public_url;
  // Set in production: the Host header is the client's to choose, so without public_url the
  // onboarding routes whose answers carry URLs refuse (503) instead of trusting it.
  bool require_public_url = false;
  broker::BrokerConfig broker;  // what registration tells sensors (public host/port, TLS)
  // ANALYTICS_CACHE_MS: analytics answers are reused this long per instance (0: never).
  std::chrono::milliseconds analytics_cache_ttl{1000};
  // SENSORS_CACHE_MS: GET /sensors answers are reused this long per instance (0: never); sensor
  // edits through this instance clear them at once.
  std::chrono::milliseconds sensor_list_cache_ttl{1000};
  // MAX_CLOCK_SKEW_SECONDS, MAX_CLOCK_SKEW_PAST_SECONDS: when a posted threat's time is not
  // believed.
  domain::ClockSkewPolicy clock_skew;
  // BULK_MAX_ROWS: the most threats one POST /threats/bulk by filter may change (more: 422).
  std::int64_t bulk_max_rows = 100'000;
};

// Everything a handler may use. Owned by app; outlives the server.
struct Services {
  ApiConfig config;
  // Read directly only where no service holds a rule: readiness, analytics, the live feed's
  // replay. Resources with rules (onboarding, sensors, threats, users) go through the services.
  store::Store& store;
  BlockingPool& pool;  // every Store, service and argon2id call runs here
  auth::AuthService& auth;
  ingest::ThreatWriter& writer;
  const Clock& clock;
  // The rules behind the routes; they block: call them through run_blocking(pool, ...).
  service::OnboardingService& onboarding;
  service::SensorService& sensors;
  service::ThreatService& threats;
  service::UserService& users;
  ingest::MqttIngest* mqtt = nullptr;  // set when MQTT ingest runs (for /ready)
  // Answers of GET /sensors (set by the sensor routes); writes to sensors clear it.
  std::shared_ptr<detail::ResponseCache> sensor_list_cache{};
  // Set by serve: triage changes are published on it (threat_update); with Redis, /ready
  // reports its subscription (redis_bus).
  bus::EventBus* bus = nullptr;
  bool redis_bus = false;
  // Set by serve (SPEC §8): rule/destination changes reload it; destination tests use it.
  alerting::AlertService* alerts = nullptr;
  service::CommandService* commands = nullptr;  // sensor commands and rule updates
};

// ---------------------------------------------------------------------------------------------
// The WebSocket live feed (SPEC §2 WebSocket): GET <prefix>/ws?token=<access token>[&since=<id>].
struct LiveConfig {
  std::chrono::seconds heartbeat_interval{30};  // WS_HEARTBEAT_INTERVAL: {"type":"heartbeat"}
  std::size_t send_queue_limit = 1024;  // WS_SEND_QUEUE_LIMIT: messages waiting for one client;
                                        // beyond it the client is dropped (close 1013)
  // WS_SEND_QUEUE_BYTES: bytes of those messages; beyond it the client is dropped the same way
  // (a message larger than the whole bound still goes to a client with nothing waiting). While
  // half of either bound is used, nothing more is read from the client (backpressure).
  std::size_t send_queue_bytes = 1024 * 1024;
  int replay_limit = 1000;                    // WS_REPLAY_LIMIT: threats replayed after ?since=
  std::chrono::seconds idle_timeout{30};      // WS_IDLE_TIMEOUT: a ping every half of it; dropped
                                              // after all of it without a pong to one of them
                                              // (only pongs count: they prove the client reads)
  std::size_t max_message_bytes = 64 * 1024;  // larger client messages close the socket
  // WS_ECHO_MAX_BYTES: longer client texts are not echoed (a short error answers them).
  std::size_t echo_max_bytes = 4096;
  // WS_MAX_CONNECTIONS_PER_USER: live feed connections of one user on this instance; one more is
  // refused with 429 before the upgrade.
  std::size_t max_connections_per_user = 20;
};

struct LiveCounters {
  std::size_t connections = 0;
  std::uint64_t delivered = 0;        // frames queued to clients
  std::uint64_t dropped_clients = 0;  // clients dropped for a full send queue
  std::size_t queued_bytes = 0;       // frames waiting in all clients' send queues
};

// Owns every WebSocket client of this instance and feeds them from the bus. Thread-safe.
class LiveFeed {
 public:
  // Keeps references to `services`, `bus` and `io`; they must outlive it.
  LiveFeed(LiveConfig config, Services& services, bus::EventBus& bus, boost::asio::io_context& io);
  ~LiveFeed();
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // The handler for http::Server::add_upgrade(prefix + "/ws", ...).
  http::UpgradeHandler handler();
  // Subscribes to the bus and starts the heartbeat and token-check timers.
  void start();
  // Closes every client (1001 going away) and stops the timers.
  void shutdown();
  LiveCounters counters() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Registers every route with its access rule on `router`.
void register_routes(http::Router& router, Services& services);

// While `serve` applies schema migrations (before the store can serve anything): the liveness
// routes answer as usual and GET /ready answers 503 with `state()` as the store's check, so an
// orchestrator neither kills a long migration nor sends it traffic. No other route exists then.
void register_migration_routes(http::Router& router, const ApiConfig& config,
                               std::function<std::string()> state);

// GET /metrics (not under the API prefix): the Prometheus exposition. `token` empty: answered to
// anyone (only for a listener of its own, METRICS_LISTEN); otherwise only with
// `Authorization: Bearer <token>` (constant-time compare), 401 without it.
void register_metrics_route(http::Router& router, std::string token);

// ---------------------------------------------------------------------------------------------
// The web console (web/: a single-page app built by Vite into web/dist), served at / from memory.
struct ConsoleConfig {
  // WEB_DIR=off (or false, none): no console; / and every other path no route has are the API's
  // JSON 404, as without a console.
  bool enabled = true;
  // The built console (index.html, favicon.svg, assets/...). Empty: none was found; / and the
  // console's other pages answer 404 with a page that says how to build it.
  std::filesystem::path dir;
  std::string found_by;  // how `dir` was chosen, for the start-up log: "WEB_DIR", "installed", ...
};

// The console's files, read once (load_console) and then shared read-only by every request.
struct Console {
  std::shared_ptr<const detail::ConsoleFiles> files;  // null: no console (not built)
  std::size_t file_count = 0;                         // files served (variants not counted)
  std::size_t bytes = 0;                              // held in memory, variants included
  bool prefix_meta = false;  // index.html has <meta name="honeyman-api-prefix"> (now API_PREFIX)
};

// Reads every file under `dir` into memory (start-up only: it blocks on the disk). Dotfiles are
// skipped; <name>.br and <name>.gz are <name>'s precompressed variants; index.html's
// <meta name="honeyman-api-prefix" content="..."> gets `api_prefix`. Errc::invalid_input naming
// the file for a symbolic link out of `dir`, a file over 16 MB, something unreadable, or a
// directory without index.html.
Result<Console> load_console(const std::filesystem::path& dir, std::string_view api_prefix);

// Serves `console` (files null: the "not built" page) as `router`'s fallback route (public, not
// rate-limited, metrics label "console"): GET and HEAD of every path outside the API prefix and
// the root routes (/health, /ready, /metrics) that no route has. A file's bytes in the best
// coding the client accepts (br, gzip, identity), an ETag (If-None-Match: 304), immutable caching
// under assets/ and no-cache elsewhere; index.html with the console's Content-Security-Policy, and
// also for every other path (the app's own routes) except missing files (under assets/, dotfiles,
// web file extensions such as .js or .txt: 404). The API's unknown paths keep their JSON 404.
// Call once, with every other route added or not, before the Server is made.
void register_console(http::Router& router, const ApiConfig& config, Console console);

// Bearer JWT for users, X-API-Key for sensors.
std::unique_ptr<http::Authenticator> make_authenticator(Services& services);

}  // namespace honeyman::api
