#include <cstdio>
#include <iostream>

#include "app/cli.hpp"
#include "auth/auth.hpp"

namespace honeyman::app {
namespace {

struct SensorArgs {
  std::string sensor_id, name, description;
  bool new_key = false;
};

int add_sensor(const ConfigLoader& load, const SensorArgs& a) {
  if (!domain::is_valid_sensor_id(a.sensor_id))
    return fail("sensor ids are 1-64 characters of A-Z a-z 0-9 . _ -");
  if (a.name.empty() || a.name.size() > 128) return fail("--name must be 1-128 characters");
  auto store = open_store_or_report(load);
  if (!store) return 1;
  auto now = system_clock().now();
  domain::Sensor s;
  s.id = uuid_v4();
  s.sensor_id = a.sensor_id;
  s.name = a.name;
  if (!a.description.empty()) s.description = a.description;
  s.transport_protocol = "http";
  s.created_at = s.updated_at = now;
  s.registered_at = now;
  auto key = auth::new_api_key();
  auto created = store->create_sensor(s, auth::hash_secret(key));
  if (!created) return fail("cannot add sensor '" + a.sensor_id + "': " + created.error().message);
  std::cout << "sensor " << a.sensor_id << " added\n"
            << "api key (shown once; send it as X-API-Key): " << key << "\n";
  return 0;
}

int list_sensors(const ConfigLoader& load) {
  auto store = open_store_or_report(load);
  if (!store) return 1;
  auto now = system_clock().now();
  std::printf("%-24s %-24s %-7s %-10s %s\n", "SENSOR_ID", "NAME", "ACTIVE", "THREATS", "LAST SEEN");
  for (int page = 1;; ++page) {
    store::SensorQuery q;
    q.now = now;
    q.page = page;
    q.page_size = 100;
    auto result = store->list_sensors(q);
    if (!result) return fail(result.error().message);
    for (const auto& s : result->sensors)
      std::printf("%-24s %-24s %-7s %-10lld %s\n", s.sensor_id.c_str(), s.name.c_str(),
                  s.is_active ? "yes" : "no", static_cast<long long>(s.total_threats_detected),
                  s.last_seen ? format_timestamp(*s.last_seen).c_str() : "never");
    if (static_cast<std::int64_t>(page) * q.page_size >= result->total) break;
  }
  return 0;
}

int revoke_key(const ConfigLoader& load, const SensorArgs& a) {
  auto store = open_store_or_report(load);
  if (!store) return 1;
  std::string key = a.new_key ? auth::new_api_key() : std::string();
  auto done = store->set_sensor_api_key(a.sensor_id, key.empty() ? "" : auth::hash_secret(key));
  if (!done) return fail("cannot revoke the key of '" + a.sensor_id + "': " + done.error().message);
  std::cout << "api key of sensor " << a.sensor_id << " revoked (running servers forget it "
            << "within 5 s)\n";
  if (!key.empty()) std::cout << "new api key (shown once): " << key << "\n";
  return 0;
}

// Deletes the sensor and, when MQTT administration is configured, its broker account first.
int delete_sensor(const ConfigLoader& load, const SensorArgs& a) {
  auto config = load(false);
  if (!config) return fail(config.error().message);
  auto opened = open_configured_store(*config);
  if (!opened) return fail("cannot open the store: " + opened.error().message);
  auto& store = *opened;
  auto known = store->find_sensor(a.sensor_id, system_clock().now());
  if (!known) return fail("cannot delete sensor '" + a.sensor_id + "': " + known.error().message);
  if (config->broker.can_administer()) {
    auto admin = broker::make_admin(config->broker);
    if (!admin) return fail(admin.error().message);
    auto revoked = (*admin)->delete_sensor_account(a.sensor_id);
    if (!revoked)
      return fail("cannot delete the broker account of '" + a.sensor_id +
                  "' (nothing deleted): " + revoked.error().message);
  }
  auto done = store->delete_sensor(a.sensor_id);
  if (!done) return fail("cannot delete sensor '" + a.sensor_id + "': " + done.error().message);
  std::cout << "sensor " << a.sensor_id << " deleted"
            << (config->broker.can_administer() ? " with its broker account" : "")
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
