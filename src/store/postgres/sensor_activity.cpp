// What sensors report (heartbeats, registration) and what is derived from their threats (recent
// counts, stats).
#include <algorithm>
#include <chrono>
#include <numeric>

#include "store/postgres/detail/rows.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

using namespace std::chrono_literals;

// An "offline" heartbeat (the agent shutting down) clears last_seen, so the sensor shows offline
// at once instead of three intervals later; an older, delayed one changes nothing. Location
// fields change only when the heartbeat carries them.
const std::string kHeartbeatSql =
    "UPDATE sensors SET"
    " last_heartbeat = greatest(coalesce(last_heartbeat, $1::bigint), $1::bigint),"
    " last_seen = CASE WHEN $2::boolean THEN greatest(coalesce(last_seen, $1::bigint), $1::bigint)"
    "   WHEN last_seen IS NULL OR last_seen <= $1::bigint THEN NULL ELSE last_seen END,"
    " latitude = CASE WHEN $3::float8 IS NOT NULL AND $4::float8 IS NOT NULL THEN $3::float8"
    "   ELSE latitude END,"
    " longitude = CASE WHEN $3::float8 IS NOT NULL AND $4::float8 IS NOT NULL THEN $4::float8"
    "   ELSE longitude END,"
    " location_accuracy = coalesce($5::float8, location_accuracy),"
    " location_method = coalesce($6::text, location_method),"
    " enabled_detectors = coalesce($7::text, enabled_detectors)"
    " WHERE sensor_id = $8::text";

// Three parts of [from, to]: rollup buckets wholly inside, then the raw rows of the partial hours
// at either end (partition pruning keeps those to one or two partitions).
const std::string kRecentCountsSql =
    "SELECT sensor_id, sum(n)::bigint FROM ("
    " SELECT sensor_id, sum(count) AS n FROM threat_rollups_hourly"
    "  WHERE sensor_id = ANY($1::text[]) AND bucket >= $2::bigint AND bucket < $3::bigint"
    "  GROUP BY sensor_id"
    " UNION ALL SELECT sensor_id, count(*) FROM threats"
    "  WHERE sensor_id = ANY($1::text[]) AND timestamp >= $4::bigint AND timestamp < $5::bigint"
    "  GROUP BY sensor_id"
    " UNION ALL SELECT sensor_id, count(*) FROM threats"
    "  WHERE sensor_id = ANY($1::text[]) AND timestamp >= $6::bigint AND timestamp <= $7::bigint"
    "  GROUP BY sensor_id"
    ") parts GROUP BY sensor_id";

struct StatsHeader {
  std::int64_t total = 0;
  std::optional<Timestamp> last_threat_at;
};

Result<StatsHeader> stats_header(Connection& conn, std::string_view sensor_id) {
  auto rows =
      conn.run("SELECT total_threats_detected, last_threat_at FROM sensors WHERE sensor_id = $1",
               Params(sensor_id), "sensor stats");
  if (!rows) return rows.error();
  if (rows->empty()) return make_error(Errc::not_found, "Sensor not found");
  return StatsHeader{(*rows)[0].i64(0), (*rows)[0].opt_time(1)};
}

// (key, count) pairs from the all-time totals (stored and expired rows) of one sensor, grouped
// by `column` (a literal).
Result<std::vector<std::pair<std::string, std::int64_t>>> totals_by(Connection& conn,
                                                                    std::string_view column,
                                                                    std::string_view sensor_id) {
  auto sql = std::string("SELECT ").append(column).append(
      "::text COLLATE \"C\" AS k, sum(count + expired)::bigint AS n FROM threat_totals "
      "WHERE sensor_id = $1 GROUP BY 1 ORDER BY n DESC, k");
  auto rows = conn.run(sql, Params(sensor_id), "sensor stats");
  if (!rows) return rows.error();
  return collect(*rows, [](const Row& row) { return std::pair(row.text(0), row.i64(1)); });
}

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

Result<domain::SensorStats> load_stats(Connection& conn, std::string_view sensor_id,
                                       Timestamp now) {
  auto header = stats_header(conn, sensor_id);
  if (!header) return header.error();
  domain::SensorStats stats;
  stats.sensor_id = std::string(sensor_id);
  stats.total_threats = header->total;
  stats.last_threat_timestamp = header->last_threat_at;
  std::vector<std::string> ids{stats.sensor_id};
  auto day = count_threats_between(conn, ids, now - 24h, now);
  if (!day) return day.error();
  auto week = count_threats_between(conn, ids, now - 7 * 24h, now);
  if (!week) return week.error();
  stats.threats_last_24h = (*day)[stats.sensor_id];
  stats.threats_last_7d = (*week)[stats.sensor_id];
  if (auto s = fill_totals(conn, sensor_id, stats); !s) return s.error();
  return stats;
}

}  // namespace

Result<std::map<std::string, std::int64_t>> count_threats_between(
    Connection& conn, const std::vector<std::string>& sensor_ids, Timestamp from, Timestamp to) {
  std::map<std::string, std::int64_t> counts;
  if (sensor_ids.empty()) return counts;
  auto start = to_unix_micros(from), end = to_unix_micros(to);
  auto whole_from = floor_to(start + kMicrosPerHour - 1, kMicrosPerHour);
  auto whole_to = floor_to(end, kMicrosPerHour);
  // No whole hour inside: count [from, to] from rows alone (head part; the others are empty).
  if (whole_from >= whole_to) whole_from = whole_to = end + 1;
  auto rows = conn.run(
      kRecentCountsSql,
      Params(text_array(sensor_ids), whole_from, whole_to, start, whole_from, whole_to, end),
      "count recent threats");
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) counts[(*rows)[i].text(0)] = (*rows)[i].i64(1);
  return counts;
}

// Heartbeats are applied in sensor_id order (stable, so one sensor's stay in arrival order): the
// order in which ingest batches lock sensor rows, so the two never deadlock.
Result<std::vector<std::string>> PgStore::record_heartbeats(
    const std::vector<domain::Heartbeat>& heartbeats) {
  std::vector<std::size_t> order(heartbeats.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return heartbeats[a].sensor_id < heartbeats[b].sensor_id;
  });
  return transaction(
      "record heartbeats", [&](Connection& conn) -> Result<std::vector<std::string>> {
        std::vector<bool> unknown(heartbeats.size(), false);
        for (auto i : order) {
          const auto& hb = heartbeats[i];
          std::optional<std::string> detectors;
          if (hb.enabled_detectors) detectors = json_text(*hb.enabled_detectors);
          auto r =
              conn.run(kHeartbeatSql,
                       Params(hb.timestamp, hb.is_online, hb.latitude, hb.longitude,
                              hb.location_accuracy, hb.location_method, detectors, hb.sensor_id),
                       "record heartbeats");
          if (!r) return r.error();
          unknown[i] = r->affected() == 0;
        }
        std::vector<std::string> out;
        for (std::size_t i = 0; i < heartbeats.size(); ++i)
          if (unknown[i]) out.push_back(heartbeats[i].sensor_id);
        return out;
      });
}

Status PgStore::apply_registration(const domain::Registration& r, Timestamp now) {
  return with_connection([&](Connection& conn) -> Status {
    std::optional<std::string> capabilities;
    if (!r.capabilities.empty()) capabilities = json_text(r.capabilities);
    auto done = conn.run(
        "UPDATE sensors SET platform = coalesce($1, platform),"
        " agent_version = coalesce($2, agent_version),"
        " capabilities = coalesce($3, capabilities),"
        " registered_at = coalesce(registered_at, $4), updated_at = $4 WHERE sensor_id = $5",
        Params(r.platform, r.agent_version, capabilities, now, r.sensor_id), "apply registration");
    if (!done) return done.error();
    if (done->affected() == 0) return make_error(Errc::not_found, "Sensor not found");
    return {};
  });
}

Result<domain::SensorStats> PgStore::sensor_stats(std::string_view sensor_id, Timestamp now) {
  return snapshot("sensor stats",
                  [&](Connection& conn) { return load_stats(conn, sensor_id, now); });
}

}  // namespace honeyman::store::pg
