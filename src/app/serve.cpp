#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "app/app.hpp"

namespace honeyman::app {
namespace {

namespace asio = boost::asio;

// Picks up revocations made by other instances and the CLI (logout elsewhere, user disabled).
asio::awaitable<void> poll_revocations(api::Services& s, std::chrono::seconds every) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(every);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto done = co_await run_blocking(s.pool, [&] { return s.auth.refresh_revocations(); });
    if (!done) spdlog::warn("revocation refresh failed: {}", done.error().message);
  }
}

// Store upkeep (PostgreSQL: the next days' partitions), now and then every `every`. Several
// instances may run it at once: the store serialises them.
asio::awaitable<void> maintain_store(api::Services& s, std::chrono::seconds every) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto done = co_await run_blocking(s.pool, [&] { return s.store.maintain(s.clock.now()); });
    if (!done) spdlog::warn("store maintenance failed: {}", done.error().message);
    timer.expires_after(every);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

// The server's own broker account must be in place before the subscriber logs in (changing it
// afterwards would get the subscriber kicked); the broker may come up after the server, so keep
// trying, then start consuming.
asio::awaitable<void> ensure_broker_account(broker::Admin& admin, BlockingPool& pool,
                                            ingest::MqttIngest& mqtt, std::string username) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto delay = std::chrono::seconds(1);
  for (;;) {
    auto done = co_await run_blocking(pool, [&] { return admin.ensure_server_account(); });
    if (done) {
      spdlog::info("mqtt: broker account '{}' and its role are in place", username);
      if (auto started = mqtt.start(); !started)
        spdlog::error("mqtt: ingest not started: {}", started.error().message);
      co_return;
    }
    spdlog::warn("mqtt: cannot set up the server's broker account yet ({}); retrying in {} s",
                 done.error().message, delay.count());
    timer.expires_after(delay);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    delay = std::min(delay * 2, std::chrono::seconds(30));
  }
}

// One retention pass: raw threats older than DATA_RETENTION_DAYS, then rollup hours older than
// ROLLUP_RETENTION_DAYS, each in bounded batches so the writer is free between them (ingest keeps
// flowing). Every batch is its own hop to the pool; nothing here blocks a network thread.
asio::awaitable<void> apply_retention(api::Services& s, const AppConfig& c) {
  constexpr int kBatch = 5000;
  auto began = std::chrono::steady_clock::now();
  auto now = s.clock.now();
  auto threat_cutoff = now - std::chrono::days(c.data_retention_days);
  auto rollup_cutoff = now - std::chrono::days(c.rollup_retention_days);
  std::int64_t threats = 0, rollups = 0;
  for (;;) {
    auto n = co_await run_blocking(
        s.pool, [&] { return s.store.delete_threats_before(threat_cutoff, kBatch); });
    if (!n) {
      spdlog::warn("retention: deleting old threats failed: {}", n.error().message);
      co_return;
    }
    threats += *n;
    if (*n == 0) break;
  }
  for (;;) {
    auto n = co_await run_blocking(
        s.pool, [&] { return s.store.delete_rollups_before(rollup_cutoff, kBatch); });
    if (!n) {
      spdlog::warn("retention: deleting old rollups failed: {}", n.error().message);
      co_return;
    }
    rollups += *n;
    if (*n == 0) break;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  began);
  auto level = threats + rollups > 0 ? spdlog::level::info : spdlog::level::debug;
  spdlog::log(level,
              "retention: deleted {} threats before {} and {} rollup rows before {} in {} ms",
              threats, format_timestamp(threat_cutoff), rollups, format_timestamp(rollup_cutoff),
              ms.count());
}

// Runs retention at start and then every `c.retention_interval`.
asio::awaitable<void> retention_loop(api::Services& s, const AppConfig& c) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    co_await apply_retention(s, c);
    timer.expires_after(c.retention_interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

// Liveness: announces every online/offline change on the bus. The store flips each sensor's
// announced state with a conditional update, so with several instances each change goes out once.
asio::awaitable<void> sweep_sensors(api::Services& s, bus::EventBus& bus,
                                    std::chrono::seconds every) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(every);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto now = s.clock.now();
    auto online_since = now - 3 * s.config.heartbeat_interval;
    auto changes =
        co_await run_blocking(s.pool, [&] { return s.store.sweep_sensor_status(online_since); });
    if (!changes) {
      spdlog::warn("sensor status sweep failed: {}", changes.error().message);
      continue;
    }
    bus::EventBatch events;
    for (const auto& c : *changes) {
      spdlog::info("sensor {} is now {}", c.sensor_id, c.is_online ? "online" : "offline");
      events.push_back(bus::sensor_status_event(c.sensor_id, c.is_online, c.last_heartbeat, now));
    }
    if (!events.empty()) bus.publish(std::move(events));
  }
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

int io_thread_count(const AppConfig& c) {
  if (c.io_threads > 0) return c.io_threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

int run_serve(const AppConfig& config) {
  auto started = std::chrono::steady_clock::now();
  auto store = open_configured_store(config);
  if (!store) {
    spdlog::critical("cannot open store {}: {}", redact_url(config.store.database_url),
                     store.error().message);
    return 1;
  }
  BlockingPool pool(static_cast<std::size_t>(config.store_threads));
  auth::AuthService auth(config.auth, **store, system_clock());
  if (auto r = auth.refresh_revocations(); !r) spdlog::warn("revocations: {}", r.error().message);
  auto bus = bus::make_bus(config.bus);
  if (!bus) {
    spdlog::critical("cannot set up the event bus: {}", bus.error().message);
    return 1;
  }
  ingest::ThreatWriter writer(config.ingest, **store, bus->get());
  api::Services services{config.api, **store, pool, auth, writer, system_clock()};
  if (!config.bus.redis_url.empty()) services.bus = bus->get();
  std::unique_ptr<broker::Admin> broker_admin;
  std::unique_ptr<ingest::MqttIngest> mqtt;
  if (config.broker.enabled()) {
    if (config.broker.can_administer()) {
      broker_admin = std::move(*broker::make_admin(config.broker));
      services.broker_admin = broker_admin.get();
    } else {
      spdlog::warn(
          "mqtt: MQTT_ADMIN_USERNAME is not set: broker accounts of sensors are not "
          "managed and onboarding cannot hand out MQTT credentials");
    }
    mqtt = std::make_unique<ingest::MqttIngest>(config.mqtt, config.broker, **store, writer,
                                                system_clock());
    // With an admin account, consuming starts once the server's account is in place.
    if (!broker_admin)
      if (auto ok = mqtt->start(); !ok) {
        spdlog::critical("cannot start MQTT ingest: {}", ok.error().message);
        return 1;
      }
    services.mqtt = mqtt.get();
  }

  http::Router router;
  api::register_routes(router, services);
  auto authenticator = api::make_authenticator(services);
  asio::io_context io(io_thread_count(config));
  http::Server server(config.http, router, *authenticator, io);
  auto port = server.listen();
  if (!port) {
    spdlog::critical("cannot listen on {}:{}: {}", config.http.host, config.http.port,
                     port.error().message);
    return 1;
  }
  api::LiveFeed live(config.live, services, **bus, io);
  server.add_upgrade(config.api.prefix + "/ws", live.handler());
  live.start();
  server.start();
  asio::co_spawn(io, sweep_sensors(services, **bus, config.sensor_sweep_interval), asio::detached);
  asio::co_spawn(io, poll_revocations(services, config.revocation_poll), asio::detached);
  asio::co_spawn(io, maintain_store(services, config.store_maintenance_interval), asio::detached);
  if (broker_admin)
    asio::co_spawn(io, ensure_broker_account(*broker_admin, pool, *mqtt, config.broker.username),
                   asio::detached);
  asio::co_spawn(io, retention_loop(services, config), asio::detached);
  auto rate_sharing = ClusterRateLimits::start(config, server, io);
  if (!rate_sharing) {
    spdlog::critical("cannot set up rate limit sharing: {}", rate_sharing.error().message);
    return 1;
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: no longer accepting; finishing in-flight requests", signal);
    if (mqtt) mqtt->stop_consuming();
    live.shutdown();
    server.shutdown(config.shutdown_grace, [&] {
      if (mqtt) mqtt->stop();  // drains what was received, commits it
      writer.stop();
      spdlog::info("shutdown complete");
      io.stop();
    });
  });

  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started);
  spdlog::info("honeyman {} listening on http://{}:{} (store {}, {} io threads, ready in {} ms)",
               config.api.version, config.http.host, *port, redact_url(config.store.database_url),
               io_thread_count(config), ms.count());
  spdlog::info("event bus: {}", config.bus.redis_url.empty()
                                    ? std::string("in-process (REDIS_URL is not set)")
                                    : "Redis " + redact_url(config.bus.redis_url));
  if (mqtt)
    spdlog::info("MQTT ingest on: {}:{}{}, topics honeyman/sensors/+/threats|heartbeat|status",
                 config.broker.host, config.broker.port,
                 config.broker.shared_group.empty()
                     ? std::string()
                     : " (shared subscription group " + config.broker.shared_group + ")");
  else
    spdlog::info("MQTT ingest off: MQTT_BROKER_HOST is not set (HTTP ingest works)");

  std::vector<std::thread> threads;
  for (int i = 1; i < io_thread_count(config); ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  if (mqtt) mqtt->stop();
  writer.stop();
  (*bus)->stop();
  pool.stop();
  return 0;
}

}  // namespace honeyman::app
