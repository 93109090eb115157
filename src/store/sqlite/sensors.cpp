// Sensors: create, read, list, partial update, delete, API keys.
#include <chrono>

#include "store/sqlite/detail/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::detail {
namespace {

using namespace std::chrono_literals;

const std::string& select_sensor_sql() {
  static const std::string sql =
      std::string("SELECT ").append(kSensorColumns).append(" FROM sensors WHERE sensor_id = ?");
  return sql;
}

// The sensor with its threats_last_24h, read on `conn` (reader, or the writer after an update).
Result<domain::Sensor> load_sensor(Connection& conn, std::string_view sensor_id, Timestamp now) {
  auto stmt = conn.prepare(select_sensor_sql(), "find sensor");
  if (!stmt) return stmt.error();
  auto row = stmt->bind(sensor_id).step();
  if (!row) return row.error();
  if (!*row) return make_error(Errc::not_found, "Sensor not found");
  auto sensor = read_sensor(*stmt);
  auto counts = count_threats_between(conn, {sensor.sensor_id}, now - 24h, now);
  if (!counts) return counts.error();
  sensor.threats_last_24h = (*counts)[sensor.sensor_id];
  return sensor;
}

SqlValue value_of(const std::optional<std::string>& v) {
  return v ? SqlValue{*v} : SqlValue{};
}
SqlValue value_of(const std::optional<double>& v) {
  return v ? SqlValue{*v} : SqlValue{};
}

// "col = ?" assignments for the fields present in `u`, in binding order.
std::vector<std::pair<std::string_view, SqlValue>> assignments(const domain::SensorUpdate& u) {
  std::vector<std::pair<std::string_view, SqlValue>> out;
  if (u.name) out.emplace_back("name", SqlValue{*u.name});
  if (u.description) out.emplace_back("description", value_of(*u.description));
  if (u.is_active) out.emplace_back("is_active", SqlValue{std::int64_t{*u.is_active ? 1 : 0}});
  if (u.latitude) out.emplace_back("latitude", value_of(*u.latitude));
  if (u.longitude) out.emplace_back("longitude", value_of(*u.longitude));
  if (u.city) out.emplace_back("city", value_of(*u.city));
  if (u.country) out.emplace_back("country", value_of(*u.country));
  if (u.enabled_detectors)
    out.emplace_back("enabled_detectors", SqlValue{json_text(*u.enabled_detectors)});
  return out;
}

// WHERE clause and its parameters for list_sensors.
std::pair<std::string, std::vector<std::int64_t>> sensor_filter(const SensorQuery& q) {
  std::string where = " WHERE 1 = 1";
  std::vector<std::int64_t> params;
  if (q.is_active) {
    where += " AND is_active = ?";
    params.push_back(*q.is_active ? 1 : 0);
  }
  if (q.is_online) {
    // Never seen (NULL) counts as offline.
    where += *q.is_online ? " AND last_seen >= ?" : " AND (last_seen IS NULL OR last_seen < ?)";
    params.push_back(to_unix_micros(q.online_since));
  }
  return {where, params};
}

Result<std::int64_t> count_sensors(Connection& conn, const std::string& where,
                                   const std::vector<std::int64_t>& params) {
  auto stmt = conn.prepare("SELECT count(*) FROM sensors" + where, "count sensors");
  if (!stmt) return stmt.error();
  for (auto p : params) stmt->bind(p);
  auto row = stmt->step();
  if (!row) return row.error();
  return stmt->i64(0);
}

Result<std::vector<domain::Sensor>> sensor_page(Connection& conn, const SensorQuery& q,
                                                const std::string& where,
                                                const std::vector<std::int64_t>& params) {
  auto sql = std::string("SELECT ").append(kSensorColumns).append(" FROM sensors").append(where);
  sql += " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?";
  auto stmt = conn.prepare(sql, "list sensors");
  if (!stmt) return stmt.error();
  for (auto p : params) stmt->bind(p);
  auto size = std::max(q.page_size, 1);
  stmt->bind(size, static_cast<std::int64_t>(std::max(q.page, 1) - 1) * size);
  return collect_rows(*stmt, [](const Stmt& row) { return read_sensor(row); });
}

Status fill_recent_counts(Connection& conn, std::vector<domain::Sensor>& sensors, Timestamp now) {
  std::vector<std::string> ids;
  for (const auto& s : sensors) ids.push_back(s.sensor_id);
  auto counts = count_threats_between(conn, ids, now - 24h, now);
  if (!counts) return counts.error();
  for (auto& s : sensors) s.threats_last_24h = (*counts)[s.sensor_id];
  return {};
}

}  // namespace

Result<domain::Sensor> SqliteStore::create_sensor(const domain::Sensor& s,
                                                  std::string_view api_key_hash) {
  return with_writer([&](Connection& conn) -> Result<domain::Sensor> {
    auto stmt = conn.prepare("INSERT INTO sensors (" + std::string(kSensorColumns) +
                                 ", api_key_hash) VALUES (" + placeholders(26) + ")",
                             "create sensor");
    if (!stmt) return stmt.error();
    stmt->bind(s.id, s.sensor_id, s.name, s.description, s.is_active, s.last_heartbeat, s.last_seen,
               s.latitude, s.longitude, s.location_method, s.location_accuracy, s.city, s.country,
               json_text(s.enabled_detectors), s.transport_protocol, json_text(s.capabilities),
               s.platform, s.architecture, s.agent_version, s.python_version,
               s.total_threats_detected, s.last_threat_at, s.created_at, s.updated_at,
               s.registered_at);
    stmt->bind(api_key_hash.empty() ? std::nullopt : std::optional(api_key_hash));
    if (auto r = stmt->run(); !r) {
      if (r.error().code == Errc::conflict)
        return make_error(Errc::conflict, "Sensor '" + s.sensor_id + "' already exists");
      return r.error();
    }
    return s;
  });
}

Result<domain::Sensor> SqliteStore::find_sensor(std::string_view sensor_id, Timestamp now) {
  return with_reader([&](Connection& conn) { return load_sensor(conn, sensor_id, now); });
}

Result<SensorPage> SqliteStore::list_sensors(const SensorQuery& q) {
  return with_reader([&](Connection& conn) -> Result<SensorPage> {
    auto txn = Transaction::begin(conn, false, "list sensors");  // total and page agree
    if (!txn) return txn.error();
    auto [where, params] = sensor_filter(q);
    SensorPage page;
    auto total = count_sensors(conn, where, params);
    if (!total) return total.error();
    page.total = *total;
    auto sensors = sensor_page(conn, q, where, params);
    if (!sensors) return sensors.error();
    page.sensors = std::move(*sensors);
    if (auto s = fill_recent_counts(conn, page.sensors, q.now); !s) return s.error();
    return page;
  });
}

Result<domain::Sensor> SqliteStore::update_sensor(std::string_view sensor_id,
                                                  const domain::SensorUpdate& update,
                                                  Timestamp now) {
  return write_transaction("update sensor", [&](Connection& conn) -> Result<domain::Sensor> {
    auto sets = assignments(update);
    std::string sql = "UPDATE sensors SET ";
    for (const auto& [column, value] : sets) sql.append(column).append(" = ?, ");
    sql += "updated_at = ? WHERE sensor_id = ?";
    auto stmt = conn.prepare(sql, "update sensor");
    if (!stmt) return stmt.error();
    for (const auto& [column, value] : sets) stmt->bind_value(value);
    if (auto s = stmt->bind(now, sensor_id).run(); !s) return s.error();
    if (conn.changes() == 0) return make_error(Errc::not_found, "Sensor not found");
    return load_sensor(conn, sensor_id, now);
  });
}

Status SqliteStore::delete_sensor(std::string_view sensor_id) {
  return with_writer([&](Connection& conn) -> Status {
    auto stmt = conn.prepare("DELETE FROM sensors WHERE sensor_id = ?", "delete sensor");
    if (!stmt) return stmt.error();
    if (auto s = stmt->bind(sensor_id).run(); !s) return s;
    if (conn.changes() == 0) return make_error(Errc::not_found, "Sensor not found");
    return {};
  });
}

Result<std::string> SqliteStore::find_sensor_by_api_key(std::string_view api_key_hash) {
  if (api_key_hash.empty()) return make_error(Errc::not_found, "Unknown API key");
  return with_reader([&](Connection& conn) -> Result<std::string> {
    // An inactive sensor's key is as good as revoked.
    auto stmt =
        conn.prepare("SELECT sensor_id FROM sensors WHERE api_key_hash = ? AND is_active = 1",
                     "find sensor by API key");
    if (!stmt) return stmt.error();
    auto row = stmt->bind(api_key_hash).step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::not_found, "Unknown API key");
    return stmt->text(0);
  });
}

Status SqliteStore::set_sensor_api_key(std::string_view sensor_id, std::string_view api_key_hash) {
  return with_writer([&](Connection& conn) -> Status {
    auto stmt = conn.prepare("UPDATE sensors SET api_key_hash = ? WHERE sensor_id = ?",
                             "set sensor API key");
    if (!stmt) return stmt.error();
    auto hash = api_key_hash.empty() ? std::nullopt : std::optional(api_key_hash);
    if (auto s = stmt->bind(hash, sensor_id).run(); !s) return s;
    if (conn.changes() == 0) return make_error(Errc::not_found, "Sensor not found");
    return {};
  });
}

}  // namespace honeyman::store::detail
