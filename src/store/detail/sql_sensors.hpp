// SqlStore: sensors (create, read, list, partial update, delete, API keys), what they report
// (heartbeats, registration), what is derived from their threats (recent counts, stats) and the
// liveness sweep. Included only where a backend instantiates SqlStore (see sql_store.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>

#include "store/detail/rows.hpp"
#include "store/detail/sql_audit.hpp"
#include "store/detail/sql_store.hpp"

namespace honeyman::store::detail {

// The sensor with its threats_last_24h, read on `conn` (a reader, or the writer after an update).
template <class B, class Connection>
Result<domain::Sensor> load_sensor(Connection& conn, std::string_view sensor_id, Timestamp now) {
  using namespace std::chrono_literals;
  static const std::string sql =
      std::string("SELECT ").append(kSensorColumns).append(" FROM sensors WHERE sensor_id = $1");
  auto sensor =
      found_or(conn.fetch_one(sql, "find sensor", read_sensor, sensor_id), "Sensor not found");
  if (!sensor) return sensor;
  auto counts = B::count_threats_between(conn, {sensor->sensor_id}, now - 24h, now);
  if (!counts) return counts.error();
  sensor->threats_last_24h = (*counts)[sensor->sensor_id];
  return sensor;
}

template <class B, class Connection>
Status fill_recent_counts(Connection& conn, std::vector<domain::Sensor>& sensors, Timestamp now) {
  using namespace std::chrono_literals;
  std::vector<std::string> ids;
  for (const auto& s : sensors) ids.push_back(s.sensor_id);
  auto counts = B::count_threats_between(conn, ids, now - 24h, now);
  if (!counts) return counts.error();
  for (auto& s : sensors) s.threats_last_24h = (*counts)[s.sensor_id];
  return {};
}

// WHERE clause for list_sensors, its values appended to `params`.
template <class Params>
std::string sensor_filter(const SensorQuery& q, Params& params) {
  std::string where = " WHERE true";
  if (q.is_active) {
    params.add(*q.is_active);
    where.append(" AND is_active = ").append(param(params.size()));
  }
  if (q.is_online) {
    params.add(q.online_since);
    auto p = param(params.size());
    // Never seen (NULL) counts as offline.
    where += *q.is_online ? " AND last_seen >= " + p
                          : " AND (last_seen IS NULL OR last_seen < " + p + ")";
  }
  return where;
}

template <class B>
Result<domain::Sensor> SqlStore<B>::create_sensor(const domain::Sensor& s,
                                                  std::string_view api_key_hash,
                                                  const AuditEntry* audit) {
  static const std::string sql = std::string("INSERT INTO sensors (")
                                     .append(kSensorColumns)
                                     .append(", api_key_hash) VALUES (")
                                     .append(param_list(1, 28))
                                     .append(")");
  auto key = api_key_hash.empty() ? std::nullopt : std::optional(api_key_hash);
  return b_.transaction("create sensor", [&](Connection& conn) -> Result<domain::Sensor> {
    auto r = with_stored(sensor_fields(s), [&](const auto&... v) {
      return conn.execute(sql, "create sensor", v..., key);
    });
    if (!r && r.error().code == Errc::conflict)
      return make_error(Errc::conflict, "Sensor '" + s.sensor_id + "' already exists");
    if (!r) return r.error();
    if (auto st = write_audit(conn, audit); !st) return st.error();
    return s;
  });
}

template <class B>
Result<domain::Sensor> SqlStore<B>::find_sensor(std::string_view sensor_id, Timestamp now) {
  return b_.read([&](Connection& conn) { return load_sensor<B>(conn, sensor_id, now); });
}

// The total and the page come from one snapshot, so they agree.
template <class B>
Result<SensorPage> SqlStore<B>::list_sensors(const SensorQuery& q) {
  return b_.snapshot("list sensors", [&](Connection& conn) -> Result<SensorPage> {
    typename B::Params params;
    auto where = sensor_filter(q, params);
    auto total = conn.fetch_one(
        per_call("SELECT count(*) FROM sensors" + where), "count sensors",
        [](const auto& row) { return row.i64(0); }, params);
    if (!total) return total.error();
    SensorPage page;
    page.total = total->value_or(0);
    auto size = std::max(q.page_size, 1);
    params.add(size);
    params.add(static_cast<std::int64_t>(std::max(q.page, 1) - 1) * size);
    auto sql = std::string("SELECT ").append(kSensorColumns).append(" FROM sensors").append(where);
    sql.append(" ORDER BY created_at DESC, id DESC LIMIT ").append(param(params.size() - 1));
    sql.append(" OFFSET ").append(param(params.size()));
    auto sensors = conn.fetch_all(per_call(sql), "list sensors", read_sensor, params);
    if (!sensors) return sensors.error();
    page.sensors = std::move(*sensors);
    if (auto s = fill_recent_counts<B>(conn, page.sensors, q.now); !s) return s.error();
    return page;
  });
}

template <class B>
Result<domain::Sensor> SqlStore<B>::update_sensor(std::string_view sensor_id,
                                                  const domain::SensorUpdate& u, Timestamp now,
                                                  const AuditEntry* audit) {
  return b_.transaction("update sensor", [&](Connection& conn) -> Result<domain::Sensor> {
    // "col = $n, " for each field present, its value appended to `params`.
    typename B::Params params;
    std::string sql = "UPDATE sensors SET ";
    auto set = [&](std::string_view column, const auto& value) {
      params.add(value);
      sql.append(column).append(" = ").append(param(params.size())).append(", ");
    };
    if (u.name) set("name", *u.name);
    if (u.description) set("description", *u.description);
    if (u.is_active) set("is_active", *u.is_active);
    if (u.latitude) set("latitude", *u.latitude);
    if (u.longitude) set("longitude", *u.longitude);
    if (u.city) set("city", *u.city);
    if (u.country) set("country", *u.country);
    if (u.enabled_detectors) set("enabled_detectors", json_text(*u.enabled_detectors));
    params.add(now);
    params.add(sensor_id);
    sql.append("updated_at = ").append(param(params.size() - 1));
    sql.append(" WHERE sensor_id = ").append(param(params.size()));
    auto changed = conn.execute(per_call(sql), "update sensor", params);
    if (!changed) return changed.error();
    if (*changed == 0) return make_error(Errc::not_found, "Sensor not found");
    if (auto s = write_audit(conn, audit); !s) return s.error();
    return load_sensor<B>(conn, sensor_id, now);
  });
}

template <class B>
Status SqlStore<B>::delete_sensor(std::string_view sensor_id, const AuditEntry* audit) {
  return b_.transaction("delete sensor", [&](Connection& conn) -> Status {
    auto deleted =
        conn.execute("DELETE FROM sensors WHERE sensor_id = $1", "delete sensor", sensor_id);
    if (!deleted) return deleted.error();
    if (*deleted == 0) return make_error(Errc::not_found, "Sensor not found");
    return write_audit(conn, audit);
  });
}

// An inactive sensor's key is as good as revoked.
template <class B>
Result<std::string> SqlStore<B>::find_sensor_by_api_key(std::string_view api_key_hash) {
  if (api_key_hash.empty()) return make_error(Errc::not_found, "Unknown API key");
  return b_.read([&](Connection& conn) {
    return found_or(
        conn.fetch_one(
            "SELECT sensor_id FROM sensors WHERE api_key_hash = $1 AND is_active",
            "find sensor by API key", [](const auto& row) { return row.text(0); }, api_key_hash),
        "Unknown API key");
  });
}

template <class B>
Status SqlStore<B>::set_sensor_api_key(std::string_view sensor_id, std::string_view api_key_hash,
                                       const AuditEntry* audit) {
  auto hash = api_key_hash.empty() ? std::nullopt : std::optional(api_key_hash);
  return b_.transaction("set sensor API key", [&](Connection& conn) -> Status {
    auto changed = conn.execute("UPDATE sensors SET api_key_hash = $1 WHERE sensor_id = $2",
                                "set sensor API key", hash, sensor_id);
    if (!changed) return changed.error();
    if (*changed == 0) return make_error(Errc::not_found, "Sensor not found");
    return write_audit(conn, audit);
  });
}

// ---------------------------------------------------------------------------------------------
// Heartbeats are applied in sensor_id order (stable, so one sensor's stay in arrival order): the
// order in which ingest batches lock sensor rows (PostgreSQL), so the two never deadlock.
template <class B>
Result<std::vector<std::string>> SqlStore<B>::record_heartbeats(
    const std::vector<domain::Heartbeat>& heartbeats) {
  std::vector<std::size_t> order(heartbeats.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return heartbeats[a].sensor_id < heartbeats[b].sensor_id;
  });
  return b_.transaction(
      "record heartbeats", [&](Connection& conn) -> Result<std::vector<std::string>> {
        std::vector<bool> unknown(heartbeats.size(), false);
        for (auto i : order) {
          const auto& hb = heartbeats[i];
          std::optional<std::string> detectors;
          if (hb.enabled_detectors) detectors = json_text(*hb.enabled_detectors);
          auto changed = conn.execute(B::heartbeat_sql(), "record heartbeats", hb.timestamp,
                                      hb.is_online, hb.latitude, hb.longitude, hb.location_accuracy,
                                      hb.location_method, detectors, hb.sensor_id);
          if (!changed) return changed.error();
          unknown[i] = *changed == 0;
        }
        std::vector<std::string> out;
        for (std::size_t i = 0; i < heartbeats.size(); ++i)
          if (unknown[i]) out.push_back(heartbeats[i].sensor_id);
        return out;
      });
}

template <class B>
Status SqlStore<B>::apply_registration(const domain::Registration& r, Timestamp now) {
  std::optional<std::string> capabilities;
  if (!r.capabilities.empty()) capabilities = json_text(r.capabilities);
  return b_.write([&](Connection& conn) -> Status {
    auto changed = conn.execute(
        "UPDATE sensors SET platform = coalesce($1, platform),"
        " agent_version = coalesce($2, agent_version),"
        " capabilities = coalesce($3, capabilities),"
        " registered_at = coalesce(registered_at, $4), updated_at = $4 WHERE sensor_id = $5",
        "apply registration", r.platform, r.agent_version, capabilities, now, r.sensor_id);
    if (!changed) return changed.error();
    if (*changed == 0) return make_error(Errc::not_found, "Sensor not found");
    return {};
  });
}

// (key, count) pairs from the all-time totals (stored and expired rows) of one sensor, grouped by
// `column` (a literal), most first. The text keys are COLLATE "C" in PostgreSQL's schema: ties
// break in byte order on both stores.
template <class Connection>
Result<std::vector<std::pair<std::string, std::int64_t>>> totals_by(Connection& conn,
                                                                    std::string_view column,
                                                                    std::string_view sensor_id) {
  auto sql = std::string("SELECT ").append(column).append(
      " AS k, sum(count + expired) AS n FROM threat_totals WHERE sensor_id = $1 GROUP BY 1 "
      "ORDER BY n DESC, k");
  return conn.fetch_all(
      sql, "sensor stats", [](const auto& row) { return std::pair(row.text(0), row.i64(1)); },
      sensor_id);
}

template <class Connection>
Status fill_totals(Connection& conn, std::string_view sensor_id, domain::SensorStats& stats) {
  auto severities = totals_by(conn, "severity", sensor_id);
  if (!severities) return severities.error();
  for (auto severity : domain::kAllSeverities) {  // every key, even at zero
    std::int64_t n = 0;
    for (const auto& [key, count] : *severities)
      if (key == std::to_string(static_cast<int>(severity))) n = count;
    stats.threats_by_severity.emplace_back(domain::to_string(severity), n);
  }
  auto detectors = totals_by(conn, "detector_type", sensor_id);
  if (!detectors) return detectors.error();
  stats.threats_by_detector = std::move(*detectors);
  auto types = totals_by(conn, "threat_type", sensor_id);
  if (!types) return types.error();
  if (!types->empty()) stats.most_common_threat_type = types->front().first;
  return {};
}

template <class B>
Result<domain::SensorStats> SqlStore<B>::sensor_stats(std::string_view sensor_id, Timestamp now) {
  using namespace std::chrono_literals;
  return b_.snapshot("sensor stats", [&](Connection& conn) -> Result<domain::SensorStats> {
    domain::SensorStats stats;
    stats.sensor_id = std::string(sensor_id);
    auto header = conn.fetch_one(
        "SELECT total_threats_detected, last_threat_at FROM sensors WHERE sensor_id = $1",
        "sensor stats",
        [&](const auto& row) {
          stats.total_threats = row.i64(0);
          stats.last_threat_timestamp = row.opt_time(1);
          return true;
        },
        sensor_id);
    if (!header) return header.error();
    if (!*header) return make_error(Errc::not_found, "Sensor not found");
    std::vector<std::string> ids{stats.sensor_id};
    auto day = B::count_threats_between(conn, ids, now - 24h, now);
    if (!day) return day.error();
    auto week = B::count_threats_between(conn, ids, now - 7 * 24h, now);
    if (!week) return week.error();
    stats.threats_last_24h = (*day)[stats.sensor_id];
    stats.threats_last_7d = (*week)[stats.sensor_id];
    if (auto s = fill_totals(conn, sensor_id, stats); !s) return s.error();
    return stats;
  });
}

// One conditional UPDATE: of concurrent sweeps (any number of instances), the first to lock a
// row flips it; the others then re-check the WHERE against the new value and skip the row, so
// each change is returned once. Never seen (NULL) counts as offline.
template <class B>
Result<std::vector<SensorStatusChange>> SqlStore<B>::sweep_sensor_status(Timestamp online_since) {
  return b_.write([&](Connection& conn) {
    return conn.fetch_all(
        "UPDATE sensors SET announced_online = (last_seen IS NOT NULL AND last_seen >= $1) "
        "WHERE announced_online <> (last_seen IS NOT NULL AND last_seen >= $1) "
        "RETURNING sensor_id, announced_online, last_heartbeat",
        "sensor status sweep",
        [](const auto& row) {
          return SensorStatusChange{row.text(0), row.boolean(1), row.opt_time(2)};
        },
        online_since);
  });
}

}  // namespace honeyman::store::detail
