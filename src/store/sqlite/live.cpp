// What the live feed needs from the store: replay after a threat id, and the liveness sweep.
#include "store/sqlite/detail/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::detail {

Result<std::vector<domain::Threat>> SqliteStore::threats_after(std::string_view after_id,
                                                               int limit) {
  auto id = normalize_uuid(after_id);
  if (!id) return make_error(Errc::invalid_input, "not a threat id");
  return with_reader([&](Connection& conn) -> Result<std::vector<domain::Threat>> {
    static const std::string sql = std::string("SELECT ")
                                       .append(kThreatColumns)
                                       .append(" FROM threats WHERE id > ? ORDER BY id LIMIT ?");
    auto stmt = conn.prepare(sql, "threats after");
    if (!stmt) return stmt.error();
    stmt->bind(*id, limit);
    return collect_rows(*stmt, [](const Stmt& row) { return read_threat(row); });
  });
}

Result<std::vector<SensorStatusChange>> SqliteStore::sweep_sensor_status(Timestamp online_since) {
  return write_transaction(
      "sensor status sweep", [&](Connection& conn) -> Result<std::vector<SensorStatusChange>> {
        auto stmt = conn.prepare(
            "UPDATE sensors SET announced_online = (coalesce(last_seen >= ?1, 0)) "
            "WHERE announced_online != (coalesce(last_seen >= ?1, 0)) "
            "RETURNING sensor_id, announced_online, last_heartbeat",
            "sensor status sweep");
        if (!stmt) return stmt.error();
        stmt->bind(online_since);
        return collect_rows(*stmt, [](const Stmt& row) {
          return SensorStatusChange{row.text(0), row.boolean(1), row.opt_time(2)};
        });
      });
}

}  // namespace honeyman::store::detail
