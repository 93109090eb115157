// `honeyman serve`: the parts of the server, each set up by one function or object below, and
// run_serve composing them. The parts' own logic lives in their modules (jobs, http, api, ...).
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <mutex>
#include <thread>

#include "app/app.hpp"
#include "metrics/metrics.hpp"

namespace honeyman::app {
namespace {

namespace asio = boost::asio;

int io_thread_count(const AppConfig& c) {
  if (c.io_threads > 0) return c.io_threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Raises the soft descriptor limit to the hard one (config's connection caps assume it) and
// returns the limit in effect.
std::uint64_t raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

void log_connection_limits(const http::ServerConfig& http, std::uint64_t open_files) {
  std::string proxies;
  for (const auto& n : http.trusted_proxies)
    proxies +=
        (proxies.empty() ? "" : ", ") + n.network.to_string() + "/" + std::to_string(n.prefix);
  spdlog::info("connections: at most {} ({} per client), descriptor limit {}; trusted proxies: {}",
               http.max_connections, http.max_connections_per_client, open_files,
               proxies.empty() ? "none" : proxies);
  if (http.max_connections + 64 > open_files)
    spdlog::warn(
        "MAX_CONNECTIONS ({}) leaves fewer than 64 of the {} descriptors to the store, broker "
        "and Redis: connections may fail with \"too many open files\"",
        http.max_connections, open_files);
}

// No credentials are ever asked for: the migration front has only public routes.
class NoAuthenticator final : public http::Authenticator {
 public:
  asio::awaitable<Result<http::Principal>> authenticate(const http::Request&) override {
    co_return http::Principal{};
  }
};

// Applies the pending migrations while a minimal server on HOST:PORT answers /health (200) and
// /ready (503): a migration of a big table takes minutes, and an orchestrator that saw no
// listener would kill and restart the process mid-way. Returns the port it served on, for the
// real server to take over (PORT=0 must not change ports); 0 when nothing was pending.
Result<std::uint16_t> migrate_serving_health(const AppConfig& config, store::Store& store) {
  auto current = store.schema_version();
  if (!current) return current.error();
  const int target = known_schema_version(store);
  if (*current >= target) return std::uint16_t{0};
  spdlog::info(
      "schema at version {}, this honeyman knows {}: migrating (GET /health answers, "
      "/ready says 503 until done)",
      *current, target);
  std::mutex state_mutex;
  std::string state =
      "migrating: schema version " + std::to_string(*current) + " to " + std::to_string(target);
  auto read_state = [&] {
    std::lock_guard lock(state_mutex);
    return state;
  };
  http::Router router;
  api::register_migration_routes(router, config.api, read_state);
  NoAuthenticator no_credentials;
  asio::io_context io(1);
  auto server = std::make_unique<http::Server>(config.http, router, no_credentials, io);
  auto port = server->listen();
  if (!port) return port.error();
  server->start();
  std::thread serving([&io] { io.run(); });

  auto began = system_clock().steady_now();
  auto migrated = store.migrate([&](const store::MigrationStep& step) {
    if (!step.done) {
      spdlog::info("migration {} ({}): applying", step.version, step.name);
      std::lock_guard lock(state_mutex);
      state = "migrating: applying version " + std::to_string(step.version) + " of " +
              std::to_string(target);
    } else {
      spdlog::info("migration {}: applied in {} ms", step.version, step.took.count() / 1000);
    }
  });
  asio::post(io, [&] { server->shutdown(std::chrono::seconds(2), [&io] { io.stop(); }); });
  serving.join();
  server.reset();
  if (!migrated) return migrated.error();
  spdlog::info(
      "schema migrated from version {} to {} in {} ms", *current, *migrated,
      std::chrono::duration_cast<std::chrono::milliseconds>(system_clock().steady_now() - began)
          .count());
  return *port;
}

// The store, migrated unless AUTO_MIGRATE=false (with /health served meanwhile); null (with the
// reason logged) when it cannot be. When the migration front served, config.http.port becomes
// the port it had, for the real server to take over (PORT=0 must not change ports).
std::unique_ptr<store::Store> open_store_logged(AppConfig& config) {
  auto store = open_store_unmigrated(config);
  if (!store) {
    spdlog::critical("cannot open store {}: {}", redact_url(config.store.database_url),
                     store.error().message);
    return nullptr;
  }
  if (config.auto_migrate) {
    auto served = migrate_serving_health(config, **store);
    if (!served) {
      spdlog::critical("cannot migrate store {}: {}", redact_url(config.store.database_url),
                       served.error().message);
      return nullptr;
    }
    if (*served != 0) config.http.port = *served;
  }
  return std::move(*store);
}

// The event bus (Redis with REDIS_URL, else in-process); null (reason logged) when it cannot be.
std::unique_ptr<bus::EventBus> open_bus_logged(const AppConfig& config) {
  auto bus = bus::make_bus(config.bus);
  if (!bus) {
    spdlog::critical("cannot set up the event bus: {}", bus.error().message);
    return nullptr;
  }
  return std::move(*bus);
}

// The write path: the group-commit writer (HTTP ingest) and, with MQTT_BROKER_HOST, MQTT ingest
// and (with MQTT_ADMIN_USERNAME) the broker administration.
struct Ingest {
  Ingest(const AppConfig& config, store::Store& store, bus::EventBus& bus)
      : writer(config.ingest, store, system_clock(), &bus) {
    if (!config.broker.enabled()) return;
    if (config.broker.can_administer())
      admin = *broker::make_admin(config.broker);
    else
      spdlog::warn(
          "mqtt: MQTT_ADMIN_USERNAME is not set: broker accounts of sensors are not "
          "managed and onboarding cannot hand out MQTT credentials");
    mqtt = std::make_unique<ingest::MqttIngest>(config.mqtt, config.broker, store, writer,
                                                system_clock());
  }
  // Without an admin account MQTT consumes at once; with one, the broker-account job starts it
  // once the server's own account is in place.
  Status start() { return mqtt && !admin ? mqtt->start() : Status{}; }
  // Commits everything received (MQTT first: it feeds the writer).
  void stop() {
    if (mqtt) mqtt->stop();
    writer.stop();
  }

  ingest::ThreatWriter writer;
  std::unique_ptr<broker::Admin> admin;
  std::unique_ptr<ingest::MqttIngest> mqtt;
};

// The rules between the routes (and the CLI) and the store.
struct DomainServices {
  DomainServices(const AppConfig& config, store::Store& store, auth::AuthService& auth,
                 Ingest& ingest)
      : onboarding(store, system_clock(), config.broker, ingest.admin.get()),
        sensors(store, system_clock(), config.api.heartbeat_interval, ingest.admin.get(), &auth),
        threats(store, system_clock(), config.api.bulk_max_rows),
        users(store, system_clock()),
        commands(store, system_clock(), config.broker) {}

  service::OnboardingService onboarding;
  service::SensorService sensors;
  service::ThreatService threats;
  service::UserService users;
  service::CommandService commands;
};

api::Services make_services(const AppConfig& config, store::Store& store, BlockingPool& pool,
                            auth::AuthService& auth, bus::EventBus& bus, Ingest& ingest,
                            DomainServices& domain, alerting::AlertService& alerts) {
  api::Services services{
      config.api,        store,          pool,           auth,        ingest.writer, system_clock(),
      domain.onboarding, domain.sensors, domain.threats, domain.users};
  services.bus = &bus;
  services.redis_bus = !config.bus.redis_url.empty();  // /ready reports Redis
  services.mqtt = ingest.mqtt.get();
  services.alerts = &alerts;
  services.commands = &domain.commands;
  return services;
}

// The web console's files, read into memory (none when WEB_DIR=off or nothing was found), and a
// line saying what is served at /. An error: the configured directory cannot be served.
Result<api::Console> load_console_logged(const AppConfig& config) {
  const auto& c = config.console;
  if (!c.enabled) {
    spdlog::info("web console: off (WEB_DIR)");
    return api::Console{};
  }
  if (c.dir.empty()) {
    spdlog::info(
        "web console: not built (WEB_DIR unset, none installed, none in the source tree): GET / "
        "says how to build it (scripts/build-web)");
    return api::Console{};
  }
  auto console = api::load_console(c.dir, config.api.prefix);
  if (!console) return console.error();
  spdlog::info("web console: {} ({}): {} files, {} KiB in memory, served at /", c.dir.string(),
               c.found_by, console->file_count, (console->bytes + 1023) / 1024);
  if (!console->prefix_meta)
    spdlog::warn(
        "web console: its index.html has no <meta name=\"honeyman-api-prefix\" content=...>: "
        "the console will not learn API_PREFIX ({})",
        config.api.prefix);
  return console;
}

// The HTTP front: routes, authentication and the server (not yet accepting).
struct HttpFront {
  HttpFront(const AppConfig& config, api::Services& services, api::Console console,
            asio::io_context& io)
      : router(routes(config, services, std::move(console))),
        authenticator(api::make_authenticator(services)),
        server(config.http, router, *authenticator, io) {}
  static http::Router routes(const AppConfig& config, api::Services& services,
                             api::Console console) {
    http::Router r;
    api::register_routes(r, services);
    if (config.metrics.enabled && !config.metrics.token.empty())
      api::register_metrics_route(r, config.metrics.token);
    if (config.console.enabled) api::register_console(r, config.api, std::move(console));
    return r;
  }

  http::Router router;
  std::unique_ptr<http::Authenticator> authenticator;
  http::Server server;
};

// METRICS_LISTEN: /metrics, unauthenticated, on an address of its own (typically loopback or a
// management network), served by a second http::Server on the same io_context whose router
// holds that one route.
class MetricsListener {
 public:
  // Null when METRICS_LISTEN is unset; an error when the address cannot be bound.
  static Result<std::unique_ptr<MetricsListener>> start(const AppConfig& config,
                                                        http::Authenticator& authenticator,
                                                        asio::io_context& io) {
    if (!config.metrics.listener()) return std::unique_ptr<MetricsListener>();
    auto listener = std::make_unique<MetricsListener>(config, authenticator, io);
    auto port = listener->server_.listen();
    if (!port) return port.error();
    listener->server_.start();
    spdlog::info("metrics: GET /metrics served at {}:{} (METRICS_LISTEN)",
                 config.metrics.listen_host, *port);
    return listener;
  }

  MetricsListener(const AppConfig& config, http::Authenticator& authenticator, asio::io_context& io)
      : config_(listener_config(config)),
        router_(routes()),
        server_(config_, router_, authenticator, io) {}
  void shutdown(std::chrono::milliseconds grace) {
    server_.shutdown(grace, [] {});
  }

 private:
  static http::ServerConfig listener_config(const AppConfig& config) {
    auto c = config.http;
    c.host = config.metrics.listen_host;
    c.port = config.metrics.listen_port;
    c.cors_origins.clear();
    return c;
  }
  static http::Router routes() {
    http::Router r;
    api::register_metrics_route(r, "");
    return r;
  }

  http::ServerConfig config_;
  http::Router router_;
  http::Server server_;
};

// Series read at scrape time from counters and states the parts keep anyway (metrics::Watch):
// nothing on their hot paths. Declared after the parts they read, so destroyed before them.
std::vector<metrics::Watch> watch_parts(const AppConfig& config, BlockingPool& pool, Ingest& ingest,
                                        bus::EventBus& bus, api::LiveFeed& live) {
  using metrics::Kind;
  std::vector<metrics::Watch> w;
  auto add = [&w](const char* name, const char* help, Kind kind, std::function<double()> read) {
    w.emplace_back(name, help, kind, std::move(read));
  };
  auto writer = [&ingest] { return ingest.writer.counters(); };
  add("honeyman_ingest_threats_received_total",
      "Threats accepted into the ingest queue (HTTP and MQTT).", Kind::counter,
      [writer] { return static_cast<double>(writer().submitted); });
  add("honeyman_ingest_threats_stored_total", "Threats committed (new rows).", Kind::counter,
      [writer] { return static_cast<double>(writer().stored); });
  add("honeyman_ingest_threats_deduplicated_total",
      "Threats completed as stored that the store already held (redelivery).", Kind::counter,
      [writer] { return static_cast<double>(writer().duplicates); });
  add("honeyman_ingest_threats_refused_total",
      "Threats refused because the ingest queue was full or the server was stopping.",
      Kind::counter, [writer] { return static_cast<double>(writer().refused); });
  add("honeyman_ingest_threats_failed_total", "Threats whose commit failed.", Kind::counter,
      [writer] { return static_cast<double>(writer().failed); });
  add("honeyman_ingest_batches_total", "Group-commit transactions.", Kind::counter,
      [writer] { return static_cast<double>(writer().batches); });
  add("honeyman_ingest_queue_depth", "Threats waiting for the ingest writer.", Kind::gauge,
      [writer] { return static_cast<double>(writer().queued); });
  if (auto* mqtt = ingest.mqtt.get()) {
    add("honeyman_mqtt_messages_received_total", "MQTT messages taken from the broker.",
        Kind::counter, [mqtt] { return static_cast<double>(mqtt->counters().received); });
    add("honeyman_mqtt_heartbeats_total", "Heartbeats received over MQTT.", Kind::counter,
        [mqtt] { return static_cast<double>(mqtt->counters().heartbeats); });
    add("honeyman_mqtt_queue_depth", "MQTT messages waiting for the decoder.", Kind::gauge,
        [mqtt] { return static_cast<double>(mqtt->counters().queue_depth); });
    add("honeyman_mqtt_in_flight_threats", "MQTT threats waiting for their commit.", Kind::gauge,
        [mqtt] { return static_cast<double>(mqtt->counters().in_flight); });
    add("honeyman_mqtt_store_retries_total", "MQTT ingest store writes retried.", Kind::counter,
        [mqtt] { return static_cast<double>(mqtt->counters().retries); });
    add("honeyman_broker_connected", "1 when the MQTT subscriber is connected to the broker.",
        Kind::gauge, [mqtt] { return mqtt->connected() ? 1.0 : 0.0; });
  }
  auto counts = [&bus] { return bus.counters(); };
  add("honeyman_bus_events_published_total", "Events published by this instance.", Kind::counter,
      [counts] { return static_cast<double>(counts().published); });
  add("honeyman_bus_events_received_total", "Events received from other instances (Redis).",
      Kind::counter, [counts] { return static_cast<double>(counts().received); });
  add("honeyman_bus_events_dropped_total",
      "Events dropped because a bus queue was full or Redis was down.", Kind::counter,
      [counts] { return static_cast<double>(counts().dropped); });
  if (!config.bus.redis_url.empty()) {
    add("honeyman_bus_reconnects_total", "Redis connections lost and made again.", Kind::counter,
        [counts] { return static_cast<double>(counts().reconnects); });
    add("honeyman_redis_connected", "1 when the Redis bus is connected.", Kind::gauge,
        [&bus] { return bus.connected() ? 1.0 : 0.0; });
  }
  add("honeyman_store_pool_threads", "Threads of the blocking (store) pool.", Kind::gauge,
      [&pool] { return static_cast<double>(pool.threads()); });
  add("honeyman_store_pool_busy_threads", "Blocking-pool threads running a request's store call.",
      Kind::gauge, [&pool] { return static_cast<double>(pool.busy()); });
  add("honeyman_store_pool_queued_tasks", "Request store calls waiting for a pool thread.",
      Kind::gauge, [&pool] { return static_cast<double>(pool.queued()); });
  add("honeyman_ws_clients", "WebSocket clients connected to this instance.", Kind::gauge,
      [&live] { return static_cast<double>(live.counters().connections); });
  add("honeyman_ws_queued_bytes", "Bytes waiting in the WebSocket clients' send queues.",
      Kind::gauge, [&live] { return static_cast<double>(live.counters().queued_bytes); });
  add("honeyman_ws_frames_queued_total", "Bus frames queued to WebSocket clients.", Kind::counter,
      [&live] { return static_cast<double>(live.counters().delivered); });
  return w;
}

// Rate limits across instances (REDIS_URL with rate limiting on): http's usage exchange over a
// Redis text channel of its own.
class ClusterRateLimits {
 public:
  static constexpr std::string_view kChannel = "honeyman:ratelimit";

  // Null when there is nothing to share; an error when the channel cannot be set up.
  static Result<std::unique_ptr<ClusterRateLimits>> start(const AppConfig& config,
                                                          http::Server& server,
                                                          asio::io_context& io) {
    if (config.bus.redis_url.empty() || !config.http.rate_limit_enabled)
      return std::unique_ptr<ClusterRateLimits>();
    auto channel_config = config.bus;
    channel_config.channel = kChannel;
    auto channel = bus::make_redis_channel(channel_config);
    if (!channel) return channel.error();
    return std::make_unique<ClusterRateLimits>(std::move(*channel), server, io);
  }

  ClusterRateLimits(std::unique_ptr<bus::TextChannel> channel, http::Server& server,
                    asio::io_context& io)
      : channel_(std::move(channel)),
        sharing_(server, io, [c = channel_.get()](std::string m) { c->publish(std::move(m)); }) {
    channel_->listen([this](std::string_view m) { sharing_.receive(m); });
    sharing_.start();
  }
  // The channel's thread calls into sharing_: it stops first.
  ~ClusterRateLimits() { channel_->stop(); }

 private:
  std::unique_ptr<bus::TextChannel> channel_;
  http::RateLimitSharing sharing_;
};

// The background jobs (retention, maintenance, liveness sweep, revocations, broker account) on
// the BlockingPool.
void add_jobs(jobs::Scheduler& scheduler, const AppConfig& config, store::Store& store,
              bus::EventBus& bus, auth::AuthService& auth, Ingest& ingest) {
  jobs::add_server_jobs(
      scheduler, config.jobs,
      jobs::ServerJobs{.store = store,
                       .bus = bus,
                       .auth = auth,
                       .broker_admin = ingest.admin.get(),
                       .broker_username = config.broker.username,
                       .start_ingest = [mqtt = ingest.mqtt.get()] { return mqtt->start(); }});
}

// SIGINT/SIGTERM: stop taking work (MQTT, WebSocket, new connections), let in-flight requests
// finish, stop the jobs, commit everything received, then stop the io_context.
void stop_on_signal(asio::signal_set& signals, const AppConfig& config, http::Server& server,
                    api::LiveFeed& live, jobs::Scheduler& jobs, Ingest& ingest,
                    alerting::AlertService& alerts, MetricsListener* metrics_listener,
                    asio::io_context& io) {
  signals.async_wait([&, metrics_listener](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: no longer accepting; finishing in-flight requests", signal);
    if (ingest.mqtt) ingest.mqtt->stop_consuming();
    live.shutdown();
    if (metrics_listener) metrics_listener->shutdown(config.shutdown_grace);
    server.shutdown(config.shutdown_grace, [&] {
      jobs.stop();
      ingest.stop();
      alerts.stop();  // after the last commit: its alerts are written too
      spdlog::info("shutdown complete");
      io.stop();
    });
  });
}

void log_started(const AppConfig& config, std::uint16_t port, Clock::SteadyTime started) {
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(system_clock().steady_now() - started);
  // The integration tests read the port from this line.
  spdlog::info("honeyman {} listening on http://{}:{} (store {}, {} io threads, ready in {} ms)",
               config.api.version, config.http.host, port, redact_url(config.store.database_url),
               io_thread_count(config), ms.count());
  spdlog::info("event bus: {}", config.bus.redis_url.empty()
                                    ? std::string("in-process (REDIS_URL is not set)")
                                    : "Redis " + redact_url(config.bus.redis_url));
  if (config.broker.enabled())
    spdlog::info("MQTT ingest on: {}:{}{}, topics honeyman/sensors/+/threats|heartbeat|status",
                 config.broker.host, config.broker.port,
                 config.broker.shared_group.empty()
                     ? std::string()
                     : " (shared subscription group " + config.broker.shared_group + ")");
  else
    spdlog::info("MQTT ingest off: MQTT_BROKER_HOST is not set (HTTP ingest works)");
}

// Runs `io` on io_thread_count threads (this one included) until it is stopped.
void run_io(asio::io_context& io, const AppConfig& config) {
  std::vector<std::thread> threads;
  for (int i = 1; i < io_thread_count(config); ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
}

}  // namespace

int run_serve(const AppConfig& configured) {
  auto started = system_clock().steady_now();
  AppConfig config = configured;                 // the migration front may settle the port (PORT=0)
  metrics::set_enabled(config.metrics.enabled);  // before any part declares its metrics
  log_connection_limits(config.http, raise_open_files_limit());
  // Before the store: a console that cannot be served stops the start before anything changed.
  auto console = load_console_logged(config);
  if (!console) {
    spdlog::critical("cannot serve the web console (WEB_DIR): {}", console.error().message);
    return 1;
  }
  auto store = open_store_logged(config);
  if (!store) return 1;
  BlockingPool pool(static_cast<std::size_t>(config.store_threads));
  auth::AuthService auth(config.auth, *store, system_clock());
  if (auto r = auth.refresh_revocations(); !r) spdlog::warn("revocations: {}", r.error().message);
  auto bus = open_bus_logged(config);
  if (!bus) return 1;
  Ingest ingest(config, *store, *bus);
  // Alerting hears of every commit from the first one on: started before ingest consumes.
  alerting::AlertService alerts(config.alerting, *store, bus.get(), system_clock());
  if (auto ok = alerts.start(); !ok) {
    spdlog::critical("cannot start alerting: {}", ok.error().message);
    return 1;
  }
  ingest.writer.set_commit_observer(
      [&alerts](const std::vector<domain::Threat>& stored, const std::vector<bool>& inserted,
                Timestamp at) { alerts.observe(stored, inserted, at); });
  // Whatever way this function returns, the writer stops calling into `alerts` before it goes.
  struct ObserverGuard {
    ingest::ThreatWriter& writer;
    ~ObserverGuard() { writer.set_commit_observer({}); }
  } observer_guard{ingest.writer};
  if (auto ok = ingest.start(); !ok) {
    spdlog::critical("cannot start MQTT ingest: {}", ok.error().message);
    return 1;
  }
  DomainServices domain(config, *store, auth, ingest);
  auto services = make_services(config, *store, pool, auth, *bus, ingest, domain, alerts);

  asio::io_context io(io_thread_count(config));
  HttpFront front(config, services, std::move(*console), io);
  auto port = front.server.listen();
  if (!port) {
    spdlog::critical("cannot listen on {}:{}: {}", config.http.host, config.http.port,
                     port.error().message);
    return 1;
  }
  api::LiveFeed live(config.live, services, *bus, io);
  front.server.add_upgrade(config.api.prefix + "/ws", live.handler());
  live.start();
  front.server.start();
  auto metrics_listener = MetricsListener::start(config, *front.authenticator, io);
  if (!metrics_listener) {
    spdlog::critical("cannot listen on METRICS_LISTEN {}:{}: {}", config.metrics.listen_host,
                     config.metrics.listen_port, metrics_listener.error().message);
    return 1;
  }
  auto watches = watch_parts(config, pool, ingest, *bus, live);
  auto rate_sharing = ClusterRateLimits::start(config, front.server, io);
  if (!rate_sharing) {
    spdlog::critical("cannot set up rate limit sharing: {}", rate_sharing.error().message);
    return 1;
  }
  jobs::Scheduler scheduler(system_clock(), jobs::on_pool(pool));
  add_jobs(scheduler, config, *store, *bus, auth, ingest);
  scheduler.start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  stop_on_signal(signals, config, front.server, live, scheduler, ingest, alerts,
                 metrics_listener->get(), io);
  log_started(config, *port, started);

  run_io(io, config);
  scheduler.stop();
  ingest.stop();
  alerts.stop();
  bus->stop();
  pool.stop();
  return 0;
}

}  // namespace honeyman::app
