#include <spdlog/spdlog.h>

#include "jobs/jobs.hpp"
#include "metrics/metrics.hpp"

namespace honeyman::jobs {
namespace {

// Retention as `serve` runs it: one pass from the clock's now, one log line.
Status retention_run(store::Store& store, const RetentionConfig& config, const Clock& clock,
                     std::stop_token stop) {
  auto pass = apply_retention(store, config, clock.now(), clock, std::move(stop));
  if (!pass) return pass.error();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      pass->threats_took + pass->rollups_took + pass->audit_took);
  // The integration tests read this line.
  spdlog::log(
      pass->threats + pass->rollups + pass->audit > 0 ? spdlog::level::info : spdlog::level::debug,
      "retention: deleted {} threats before {} and {} rollup rows before {} and {} audit "
      "records before {} in {} ms",
      pass->threats, format_timestamp(pass->threat_cutoff), pass->rollups,
      format_timestamp(pass->rollup_cutoff), pass->audit, format_timestamp(pass->audit_cutoff),
      ms.count());
  return {};
}

// The server's own broker account must be in place before the subscriber logs in (changing it
// afterwards would get the subscriber kicked); only then does ingest start consuming.
// The sensors' roles are brought up to this version's ACLs too (SPEC §8: the updates topic), once
// per start; a failure there is logged and does not hold ingest back.
Status broker_account_run(broker::Admin& admin, store::Store& store, const std::string& username,
                          const std::function<Status()>& start_ingest) {
  if (auto done = admin.ensure_server_account(); !done)
    return make_error(done.error().code,
                      "cannot set up the server's broker account yet: " + done.error().message);
  spdlog::info("mqtt: broker account '{}' and its role are in place", username);
  std::vector<std::string> ids;
  store::SensorQuery query;
  query.page_size = 1000;
  for (query.page = 1;; ++query.page) {
    auto page = store.list_sensors(query);
    if (!page) {
      spdlog::warn("mqtt: sensor roles not checked: {}", page.error().message);
      break;
    }
    for (const auto& sensor : page->sensors) ids.push_back(sensor.sensor_id);
    if (page->sensors.size() < static_cast<std::size_t>(query.page_size)) break;
  }
  if (auto upgraded = admin.upgrade_sensor_roles(ids); !upgraded)
    spdlog::warn("mqtt: sensor roles not upgraded: {}", upgraded.error().message);
  else if (*upgraded > 0)
    spdlog::info("mqtt: {} sensor roles given this version's topics (rule updates)", *upgraded);
  // Not retried: starting only fails for a configuration the broker refuses.
  if (auto started = start_ingest(); !started)
    spdlog::error("mqtt: ingest not started: {}", started.error().message);
  return {};
}

Schedule periodic(std::chrono::milliseconds every, bool at_start) {
  return Schedule{
      .every = every, .at_start = at_start, .retry = std::nullopt, .until_success = false};
}

}  // namespace

namespace {

// honeyman_sensors_online, refreshed by each sweep (one count of the sensors table every
// SENSOR_SWEEP_INTERVAL) so a scrape never waits on the store.
void refresh_sensors_online(store::Store& store, Timestamp now, Timestamp online_since) {
  static const auto online =
      metrics::gauge("honeyman_sensors_online",
                     "Sensors heard from within 3 heartbeat intervals, as of the last sweep.")
          .with({});
  if (!online) return;
  store::SensorQuery query;
  query.is_online = true;
  query.online_since = online_since;
  query.now = now;
  query.page_size = 1;
  if (auto page = store.list_sensors(query)) online.set(static_cast<double>(page->total));
}

}  // namespace

Result<std::size_t> sweep_sensors(store::Store& store, bus::EventBus& bus, Timestamp now,
                                  std::chrono::seconds heartbeat_interval) {
  auto changes = store.sweep_sensor_status(now - 3 * heartbeat_interval);
  if (!changes) return changes.error();
  refresh_sensors_online(store, now, now - 3 * heartbeat_interval);
  bus::EventBatch events;
  for (const auto& c : *changes) {
    spdlog::info("sensor {} is now {}", c.sensor_id, c.is_online ? "online" : "offline");
    events.push_back(bus::sensor_status_event(c.sensor_id, c.is_online, c.last_heartbeat, now));
  }
  if (!events.empty()) bus.publish(std::move(events));
  return changes->size();
}

void add_server_jobs(Scheduler& scheduler, const JobsConfig& config, const ServerJobs& jobs) {
  const Clock& clock = scheduler.clock();
  auto& store = jobs.store;
  scheduler.add("retention", periodic(config.retention.interval, true),
                [&store, &clock, retention = config.retention](std::stop_token stop) {
                  return retention_run(store, retention, clock, std::move(stop));
                });
  // Several instances may run it at once: the store serialises them.
  scheduler.add("store maintenance", periodic(config.store_maintenance_interval, true),
                [&store, &clock](std::stop_token) { return store.maintain(clock.now()); });
  scheduler.add("sensor status sweep", periodic(config.sensor_sweep_interval, false),
                [&store, &bus = jobs.bus, &clock,
                 heartbeat = config.sensor_heartbeat_interval](std::stop_token) -> Status {
                  auto swept = sweep_sensors(store, bus, clock.now(), heartbeat);
                  if (!swept) return swept.error();
                  return {};
                });
  scheduler.add("revocation refresh", periodic(config.revocation_poll, false),
                [&auth = jobs.auth](std::stop_token) { return auth.refresh_revocations(); });
  if (jobs.broker_admin)
    scheduler.add("mqtt",
                  Schedule{.every = std::chrono::milliseconds(0),
                           .at_start = true,
                           .retry = config.broker_account_retry,
                           .until_success = true},
                  [admin = jobs.broker_admin, &store = jobs.store, username = jobs.broker_username,
                   start = jobs.start_ingest](std::stop_token) {
                    return broker_account_run(*admin, store, username, start);
                  });
}

}  // namespace honeyman::jobs
