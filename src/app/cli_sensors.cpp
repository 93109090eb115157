#include <cstdio>
#include <iostream>

#include "app/cli.hpp"
#include "service/service.hpp"

namespace honeyman::app {
namespace {

struct SensorArgs {
  std::string sensor_id, name, description;
  bool new_key = false;
};

// Sensors of this command's store; no broker account is touched and no API-key cache is kept.
service::SensorService plain_sensors(store::Store& store, const AppConfig& config) {
  return service::SensorService(store, system_clock(), config.api.heartbeat_interval, nullptr,
                                nullptr);
}

int add_sensor(const ConfigLoader& load, const SensorArgs& a) {
  AppConfig config;
  auto store = open_store_or_report(load, &config);
  if (!store) return 1;
  service::NewSensor request;
  request.sensor_id = a.sensor_id;
  request.name = a.name;
  if (!a.description.empty()) request.description = a.description;
  auto added = plain_sensors(*store, config).add(request, cli_actor());
  if (!added && added.error().code == Errc::invalid_input) return fail(error_text(added.error()));
  if (!added) return fail("cannot add sensor '" + a.sensor_id + "': " + added.error().message);
  std::cout << "sensor " << a.sensor_id << " added\n"
            << "api key (shown once; send it as X-API-Key): " << added->api_key << "\n";
  return 0;
}

int list_sensors(const ConfigLoader& load) {
  AppConfig config;
  auto store = open_store_or_report(load, &config);
  if (!store) return 1;
  auto sensors = plain_sensors(*store, config);
  std::printf("%-24s %-24s %-7s %-10s %s\n", "SENSOR_ID", "NAME", "ACTIVE", "THREATS", "LAST SEEN");
  service::SensorFilter filter;
  filter.page_size = 100;
  for (;; ++filter.page) {
    auto result = sensors.list(filter);
    if (!result) return fail(result.error().message);
    for (const auto& s : result->sensors)
      std::printf("%-24s %-24s %-7s %-10lld %s\n", s.sensor_id.c_str(), s.name.c_str(),
                  s.is_active ? "yes" : "no", static_cast<long long>(s.total_threats_detected),
                  s.last_seen ? format_timestamp(*s.last_seen).c_str() : "never");
    if (static_cast<std::int64_t>(filter.page) * filter.page_size >= result->total) break;
  }
  return 0;
}

int revoke_key(const ConfigLoader& load, const SensorArgs& a) {
  AppConfig config;
  auto store = open_store_or_report(load, &config);
  if (!store) return 1;
  auto key = plain_sensors(*store, config).revoke_key(a.sensor_id, a.new_key, cli_actor());
  if (!key) return fail("cannot revoke the key of '" + a.sensor_id + "': " + key.error().message);
  std::cout << "api key of sensor " << a.sensor_id << " revoked (running servers forget it "
            << "within 5 s)\n";
  if (!key->empty()) std::cout << "new api key (shown once): " << *key << "\n";
  return 0;
}

// Deletes the sensor and, when MQTT administration is configured, its broker account first.
int delete_sensor(const ConfigLoader& load, const SensorArgs& a) {
  auto config = load(false);
  if (!config) return fail(config.error().message);
  auto opened = open_configured_store(*config);
  if (!opened) return fail("cannot open the store: " + opened.error().message);
  std::unique_ptr<broker::Admin> admin;
  if (config->broker.can_administer()) {
    auto made = broker::make_admin(config->broker);
    if (!made) return fail(made.error().message);
    admin = std::move(*made);
  }
  service::SensorService sensors(**opened, system_clock(), config->api.heartbeat_interval,
                                 admin.get(), nullptr);
  if (auto done = sensors.remove(a.sensor_id, cli_actor()); !done)
    return fail("cannot delete sensor '" + a.sensor_id + "': " + done.error().message);
  std::cout << "sensor " << a.sensor_id << " deleted" << (admin ? " with its broker account" : "")
            << "; its threats are kept as history\n";
  return 0;
}

}  // namespace

void add_sensor_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code) {
  auto* sensor = cli.add_subcommand("sensor", "Manage sensors")->require_subcommand(1);
  auto args = std::make_shared<SensorArgs>();

  auto* add = sensor->add_subcommand("add", "Register a sensor; prints its API key once");
  add->add_option("sensor_id", args->sensor_id, "Id used in topics and payloads")->required();
  add->add_option("--name", args->name, "Display name")->required();
  add->add_option("--description", args->description, "Free text");
  add->callback([&, args] { exit_code = add_sensor(load, *args); });

  sensor->add_subcommand("list", "List sensors")->callback([&] { exit_code = list_sensors(load); });

  auto* del = sensor->add_subcommand(
      "delete", "Delete a sensor, its API key and its broker account (threats stay)");
  del->add_option("sensor_id", args->sensor_id)->required();
  del->callback([&, args] { exit_code = delete_sensor(load, *args); });

  auto* revoke = sensor->add_subcommand("revoke-key", "Revoke a sensor's API key");
  revoke->add_option("sensor_id", args->sensor_id)->required();
  revoke->add_flag("--new-key", args->new_key, "Issue a replacement key and print it once");
  revoke->callback([&, args] { exit_code = revoke_key(load, *args); });
}

}  // namespace honeyman::app
