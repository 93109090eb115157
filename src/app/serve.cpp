// `honeyman serve`: the parts of the server, each set up by one function or object below, and
// run_serve composing them. The parts' own logic lives in their modules (jobs, http, api, ...).
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/signal_set.hpp>
#include <thread>

#include "app/app.hpp"

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

// The store, migrated unless AUTO_MIGRATE=false; null (with the reason logged) when it cannot be.
std::unique_ptr<store::Store> open_store_logged(const AppConfig& config) {
  auto store = open_configured_store(config);
  if (!store) {
    spdlog::critical("cannot open store {}: {}", redact_url(config.store.database_url),
                     store.error().message);
    return nullptr;
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
        threats(store, system_clock()),
        users(store, system_clock()) {}

  service::OnboardingService onboarding;
  service::SensorService sensors;
  service::ThreatService threats;
  service::UserService users;
};

api::Services make_services(const AppConfig& config, store::Store& store, BlockingPool& pool,
                            auth::AuthService& auth, bus::EventBus& bus, Ingest& ingest,
                            DomainServices& domain) {
  api::Services services{
      config.api,        store,          pool,           auth,        ingest.writer, system_clock(),
      domain.onboarding, domain.sensors, domain.threats, domain.users};
  if (!config.bus.redis_url.empty()) services.bus = &bus;  // /ready reports Redis
  services.mqtt = ingest.mqtt.get();
  return services;
}

// The HTTP front: routes, authentication and the server (not yet accepting).
struct HttpFront {
  HttpFront(const AppConfig& config, api::Services& services, asio::io_context& io)
      : router(routes(services)),
        authenticator(api::make_authenticator(services)),
        server(config.http, router, *authenticator, io) {}
  static http::Router routes(api::Services& services) {
    http::Router r;
    api::register_routes(r, services);
    return r;
  }

  http::Router router;
  std::unique_ptr<http::Authenticator> authenticator;
  http::Server server;
};

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
                    asio::io_context& io) {
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: no longer accepting; finishing in-flight requests", signal);
    if (ingest.mqtt) ingest.mqtt->stop_consuming();
    live.shutdown();
    server.shutdown(config.shutdown_grace, [&] {
      jobs.stop();
      ingest.stop();
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

int run_serve(const AppConfig& config) {
  auto started = system_clock().steady_now();
  log_connection_limits(config.http, raise_open_files_limit());
  auto store = open_store_logged(config);
  if (!store) return 1;
  BlockingPool pool(static_cast<std::size_t>(config.store_threads));
  auth::AuthService auth(config.auth, *store, system_clock());
  if (auto r = auth.refresh_revocations(); !r) spdlog::warn("revocations: {}", r.error().message);
  auto bus = open_bus_logged(config);
  if (!bus) return 1;
  Ingest ingest(config, *store, *bus);
  if (auto ok = ingest.start(); !ok) {
    spdlog::critical("cannot start MQTT ingest: {}", ok.error().message);
    return 1;
  }
  DomainServices domain(config, *store, auth, ingest);
  auto services = make_services(config, *store, pool, auth, *bus, ingest, domain);

  asio::io_context io(io_thread_count(config));
  HttpFront front(config, services, io);
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
  auto rate_sharing = ClusterRateLimits::start(config, front.server, io);
  if (!rate_sharing) {
    spdlog::critical("cannot set up rate limit sharing: {}", rate_sharing.error().message);
    return 1;
  }
  jobs::Scheduler scheduler(system_clock(), jobs::on_pool(pool));
  add_jobs(scheduler, config, *store, *bus, auth, ingest);
  scheduler.start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  stop_on_signal(signals, config, front.server, live, scheduler, ingest, io);
  log_started(config, *port, started);

  run_io(io, config);
  scheduler.stop();
  ingest.stop();
  bus->stop();
  pool.stop();
  return 0;
}

}  // namespace honeyman::app
