// What sensors report (heartbeats, registration) and what is derived from their threats (recent
// counts, stats).
#include <chrono>

#include "store/sqlite/detail/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::detail {
namespace {

using namespace std::chrono_literals;

// An "offline" heartbeat (the agent shutting down) clears last_seen, so the sensor shows offline
// at once instead of three intervals later; an older, delayed one changes nothing. Location
// fields change only when the heartbeat carries them.
constexpr const char* kHeartbeatSql =
    "UPDATE sensors SET"
    " last_heartbeat = max(coalesce(last_heartbeat, ?1), ?1),"
    " last_seen = CASE WHEN ?2 THEN max(coalesce(last_seen, ?1), ?1)"
    "   WHEN last_seen IS NULL OR last_seen <= ?1 THEN NULL ELSE last_seen END,"
    " latitude = CASE WHEN ?3 IS NOT NULL AND ?4 IS NOT NULL THEN ?3 ELSE latitude END,"
    " longitude = CASE WHEN ?3 IS NOT NULL AND ?4 IS NOT NULL THEN ?4 ELSE longitude END,"
    " location_accuracy = coalesce(?5, location_accuracy),"
    " location_method = coalesce(?6, location_method),"
    " enabled_detectors = coalesce(?7, enabled_detectors)"
    " WHERE sensor_id = ?8";

std::string in_list(std::string_view column, std::size_t n) {
  return std::string(column).append(" IN (").append(placeholders(n)).append(")");
}

// Three parts of [from, to]: rollup buckets wholly inside, then the raw rows of the partial hours
// at either end. Each part is a GROUP BY sensor_id over the sensor indexes; the raw rows' index
// is (sensor_id, severity, timestamp), so they name every severity to seek each in time order.
std::string recent_counts_sql(std::size_t n) {
  auto ids = in_list("sensor_id", n);
  auto raw_ids = ids + " AND severity IN (0, 1, 2, 3, 4)";
  return "SELECT sensor_id, sum(n) FROM ("
         " SELECT sensor_id, sum(count) AS n FROM threat_rollups_hourly WHERE " +
         ids +
         " AND bucket >= ? AND bucket < ? GROUP BY sensor_id"
         " UNION ALL SELECT sensor_id, count(*) FROM threats WHERE " +
         raw_ids +
         " AND timestamp >= ? AND timestamp < ? GROUP BY sensor_id"
         " UNION ALL SELECT sensor_id, count(*) FROM threats WHERE " +
         raw_ids +
         " AND timestamp >= ? AND timestamp <= ? GROUP BY sensor_id"
         ") GROUP BY sensor_id";
}

struct StatsHeader {
  std::int64_t total = 0;
  std::optional<Timestamp> last_threat_at;
};

Result<StatsHeader> stats_header(Connection& conn, std::string_view sensor_id) {
  auto stmt =
      conn.prepare("SELECT total_threats_detected, last_threat_at FROM sensors WHERE sensor_id = ?",
                   "sensor stats");
  if (!stmt) return stmt.error();
  auto row = stmt->bind(sensor_id).step();
  if (!row) return row.error();
  if (!*row) return make_error(Errc::not_found, "Sensor not found");
  return StatsHeader{stmt->i64(0), stmt->opt_time(1)};
}

// (key, count) pairs from the all-time totals (stored and expired rows) of one sensor, grouped by
// `column` (a literal).
Result<std::vector<std::pair<std::string, std::int64_t>>> totals_by(Connection& conn,
                                                                    std::string_view column,
                                                                    std::string_view sensor_id) {
  auto sql = std::string("SELECT ").append(column).append(
      ", sum(count + expired) AS n FROM threat_totals WHERE sensor_id = ? GROUP BY 1 "
      "ORDER BY n DESC, 1");
  auto stmt = conn.prepare(sql, "sensor stats");
  if (!stmt) return stmt.error();
  stmt->bind(sensor_id);
  return collect_rows(*stmt, [](const Stmt& row) { return std::pair(row.text(0), row.i64(1)); });
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

}  // namespace

Result<std::map<std::string, std::int64_t>> count_threats_between(
    Connection& conn, const std::vector<std::string>& sensor_ids, Timestamp from, Timestamp to) {
  std::map<std::string, std::int64_t> counts;
  if (sensor_ids.empty()) return counts;
  auto start = to_unix_micros(from), end = to_unix_micros(to);
  auto whole_from = floor_hour(start + kMicrosPerHour - 1), whole_to = floor_hour(end);
  // No whole hour inside: count [from, to] from rows alone (head part; the others are empty).
  if (whole_from >= whole_to) whole_from = whole_to = end + 1;
  auto stmt = conn.prepare(recent_counts_sql(sensor_ids.size()), "count recent threats");
  if (!stmt) return stmt.error();
  for (const auto& id : sensor_ids) stmt->bind(id);
  stmt->bind(whole_from, whole_to);
  for (const auto& id : sensor_ids) stmt->bind(id);
  stmt->bind(start, whole_from);
  for (const auto& id : sensor_ids) stmt->bind(id);
  stmt->bind(whole_to, end);
  auto rows =
      collect_rows(*stmt, [](const Stmt& row) { return std::pair(row.text(0), row.i64(1)); });
  if (!rows) return rows.error();
  for (auto& [id, n] : *rows) counts[id] = n;
  return counts;
}

Result<std::vector<std::string>> SqliteStore::record_heartbeats(
    const std::vector<domain::Heartbeat>& heartbeats) {
  return write_transaction(
      "record heartbeats", [&](Connection& conn) -> Result<std::vector<std::string>> {
        auto stmt = conn.prepare(kHeartbeatSql, "record heartbeats");
        if (!stmt) return stmt.error();
        std::vector<std::string> unknown;
        for (const auto& hb : heartbeats) {
          std::optional<std::string> detectors;
          if (hb.enabled_detectors) detectors = json_text(*hb.enabled_detectors);
          stmt->reset();
          stmt->bind(hb.timestamp, hb.is_online, hb.latitude, hb.longitude, hb.location_accuracy,
                     hb.location_method, detectors, hb.sensor_id);
          if (auto s = stmt->run(); !s) return s.error();
          if (conn.changes() == 0) unknown.push_back(hb.sensor_id);
        }
        return unknown;
      });
}

Status SqliteStore::apply_registration(const domain::Registration& r, Timestamp now) {
  return with_writer([&](Connection& conn) -> Status {
    auto stmt = conn.prepare(
        "UPDATE sensors SET platform = coalesce(?, platform),"
        " agent_version = coalesce(?, agent_version),"
        " capabilities = coalesce(?, capabilities),"
        " registered_at = coalesce(registered_at, ?), updated_at = ? WHERE sensor_id = ?",
        "apply registration");
    if (!stmt) return stmt.error();
    std::optional<std::string> capabilities;
    if (!r.capabilities.empty()) capabilities = json_text(r.capabilities);
    stmt->bind(r.platform, r.agent_version, capabilities, now, now, r.sensor_id);
    if (auto s = stmt->run(); !s) return s;
    if (conn.changes() == 0) return make_error(Errc::not_found, "Sensor not found");
    return {};
  });
}

Result<domain::SensorStats> SqliteStore::sensor_stats(std::string_view sensor_id, Timestamp now) {
  return with_reader([&](Connection& conn) -> Result<domain::SensorStats> {
    auto txn = Transaction::begin(conn, false, "sensor stats");  // one consistent snapshot
    if (!txn) return txn.error();
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
  });
}

}  // namespace honeyman::store::detail
