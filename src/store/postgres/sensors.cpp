// Sensors: create, read, list, partial update, delete, API keys.
#include <chrono>

#include "store/postgres/detail/rows.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

using namespace std::chrono_literals;

// The sensor with its threats_last_24h.
Result<domain::Sensor> load_sensor(Connection& conn, std::string_view sensor_id, Timestamp now) {
  static const std::string sql =
      std::string("SELECT ").append(kSensorColumns).append(" FROM sensors WHERE sensor_id = $1");
  auto rows = conn.run(sql, Params(sensor_id), "find sensor");
  if (!rows) return rows.error();
  if (rows->empty()) return make_error(Errc::not_found, "Sensor not found");
  auto sensor = read_sensor((*rows)[0]);
  auto counts = count_threats_between(conn, {sensor.sensor_id}, now - 24h, now);
  if (!counts) return counts.error();
  sensor.threats_last_24h = (*counts)[sensor.sensor_id];
  return sensor;
}

// "col = $n" assignments for the fields present in `u`, their values appended to `params`.
std::string assignments(const domain::SensorUpdate& u, Params& params) {
  std::string sets;
  auto set = [&](std::string_view column, auto value) {
    params.add(value);
    sets.append(column).append(" = $").append(std::to_string(params.size())).append(", ");
  };
  if (u.name) set("name", *u.name);
  if (u.description) set("description", *u.description);
  if (u.is_active) set("is_active", *u.is_active);
  if (u.latitude) set("latitude", *u.latitude);
  if (u.longitude) set("longitude", *u.longitude);
  if (u.city) set("city", *u.city);
  if (u.country) set("country", *u.country);
  if (u.enabled_detectors) set("enabled_detectors", json_text(*u.enabled_detectors));
  return sets;
}

// WHERE clause for list_sensors, its parameters appended to `params`.
std::string sensor_filter(const SensorQuery& q, Params& params) {
  std::string where = " WHERE true";
  if (q.is_active) {
    params.add(*q.is_active);
    where += " AND is_active = $" + std::to_string(params.size());
  }
  if (q.is_online) {
    params.add(q.online_since);
    auto n = std::to_string(params.size());
    // Never seen (NULL) counts as offline.
    where += *q.is_online ? " AND last_seen >= $" + n
                          : " AND (last_seen IS NULL OR last_seen < $" + n + ")";
  }
  return where;
}

Status fill_recent_counts(Connection& conn, std::vector<domain::Sensor>& sensors, Timestamp now) {
  std::vector<std::string> ids;
  for (const auto& s : sensors) ids.push_back(s.sensor_id);
  auto counts = count_threats_between(conn, ids, now - 24h, now);
  if (!counts) return counts.error();
  for (auto& s : sensors) s.threats_last_24h = (*counts)[s.sensor_id];
  return {};
}

Result<SensorPage> sensor_page(Connection& conn, const SensorQuery& q) {
  Params params;
  auto where = sensor_filter(q, params);
  auto total = conn.run_once("SELECT count(*) FROM sensors" + where, params, "count sensors");
  if (!total) return total.error();
  SensorPage page;
  page.total = (*total)[0].i64(0);
  auto size = std::max(q.page_size, 1);
  params.add(size);
  params.add(static_cast<std::int64_t>(std::max(q.page, 1) - 1) * size);
  auto n = params.size();
  auto sql = std::string("SELECT ").append(kSensorColumns).append(" FROM sensors").append(where);
  sql += " ORDER BY created_at DESC, id DESC LIMIT $" + std::to_string(n - 1) + " OFFSET $" +
         std::to_string(n);
  auto rows = conn.run_once(sql, params, "list sensors");
  if (!rows) return rows.error();
  page.sensors = collect(*rows, [](const Row& row) { return read_sensor(row); });
  if (auto s = fill_recent_counts(conn, page.sensors, q.now); !s) return s.error();
  return page;
}

}  // namespace

Result<domain::Sensor> PgStore::create_sensor(const domain::Sensor& s,
                                              std::string_view api_key_hash) {
  return with_connection([&](Connection& conn) -> Result<domain::Sensor> {
    Params params(s.id, s.sensor_id, s.name, s.description, s.is_active, s.last_heartbeat,
                  s.last_seen, s.latitude, s.longitude, s.location_method, s.location_accuracy,
                  s.city, s.country, json_text(s.enabled_detectors), s.transport_protocol,
                  json_text(s.capabilities), s.platform, s.architecture, s.agent_version,
                  s.python_version, s.total_threats_detected, s.last_threat_at, s.created_at,
                  s.updated_at, s.registered_at);
    params.add(api_key_hash.empty() ? std::nullopt : std::optional(api_key_hash));
    std::string values;
    for (int i = 1; i <= params.size(); ++i) values += (i > 1 ? ", $" : "$") + std::to_string(i);
    auto r = conn.run("INSERT INTO sensors (" + std::string(kSensorColumns) +
                          ", api_key_hash) VALUES (" + values + ")",
                      params, "create sensor");
    if (!r) {
      if (r.error().code == Errc::conflict)
        return make_error(Errc::conflict, "Sensor '" + s.sensor_id + "' already exists");
      return r.error();
    }
    return s;
  });
}

Result<domain::Sensor> PgStore::find_sensor(std::string_view sensor_id, Timestamp now) {
  return with_connection([&](Connection& conn) { return load_sensor(conn, sensor_id, now); });
}

Result<SensorPage> PgStore::list_sensors(const SensorQuery& q) {
  return snapshot("list sensors", [&](Connection& conn) { return sensor_page(conn, q); });
}

Result<domain::Sensor> PgStore::update_sensor(std::string_view sensor_id,
                                              const domain::SensorUpdate& update, Timestamp now) {
  return transaction("update sensor", [&](Connection& conn) -> Result<domain::Sensor> {
    Params params;
    auto sets = assignments(update, params);
    params.add(now);
    params.add(sensor_id);
    auto n = params.size();
    auto sql = "UPDATE sensors SET " + sets + "updated_at = $" + std::to_string(n - 1) +
               " WHERE sensor_id = $" + std::to_string(n);
    auto r = conn.run_once(sql, params, "update sensor");
    if (!r) return r.error();
    if (r->affected() == 0) return make_error(Errc::not_found, "Sensor not found");
    return load_sensor(conn, sensor_id, now);
  });
}

Status PgStore::delete_sensor(std::string_view sensor_id) {
  return with_connection([&](Connection& conn) -> Status {
    auto r =
        conn.run("DELETE FROM sensors WHERE sensor_id = $1", Params(sensor_id), "delete sensor");
    if (!r) return r.error();
    if (r->affected() == 0) return make_error(Errc::not_found, "Sensor not found");
    return {};
  });
}

Result<std::string> PgStore::find_sensor_by_api_key(std::string_view api_key_hash) {
  if (api_key_hash.empty()) return make_error(Errc::not_found, "Unknown API key");
  return with_connection([&](Connection& conn) -> Result<std::string> {
    // An inactive sensor's key is as good as revoked.
    auto rows = conn.run("SELECT sensor_id FROM sensors WHERE api_key_hash = $1 AND is_active",
                         Params(api_key_hash), "find sensor by API key");
    if (!rows) return rows.error();
    if (rows->empty()) return make_error(Errc::not_found, "Unknown API key");
    return (*rows)[0].text(0);
  });
}

Status PgStore::set_sensor_api_key(std::string_view sensor_id, std::string_view api_key_hash) {
  return with_connection([&](Connection& conn) -> Status {
    auto hash = api_key_hash.empty() ? std::nullopt : std::optional(api_key_hash);
    auto r = conn.run("UPDATE sensors SET api_key_hash = $1 WHERE sensor_id = $2",
                      Params(hash, sensor_id), "set sensor API key");
    if (!r) return r.error();
    if (r->affected() == 0) return make_error(Errc::not_found, "Sensor not found");
    return {};
  });
}

}  // namespace honeyman::store::pg
