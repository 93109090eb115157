// What the live feed needs from the store: replay after a threat id, and the liveness sweep.
#include "store/postgres/detail/rows.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {

Result<std::vector<domain::Threat>> PgStore::threats_after(std::string_view after_id, int limit) {
  auto id = normalize_uuid(after_id);
  if (!id) return make_error(Errc::invalid_input, "not a threat id");
  return with_connection([&](Connection& conn) -> Result<std::vector<domain::Threat>> {
    static const std::string sql =
        std::string("SELECT ")
            .append(kThreatColumns)
            .append(" FROM threats WHERE id > $1::uuid ORDER BY id LIMIT $2::integer");
    auto rows = conn.run(sql, Params(*id, limit), "threats after");
    if (!rows) return rows.error();
    return collect(*rows, [](const Row& row) { return read_threat(row); });
  });
}

// Of concurrent sweeps, the first to lock a row flips it; the others wait for its commit, then
// re-check the WHERE against the new value and skip the row: each change is returned once.
Result<std::vector<SensorStatusChange>> PgStore::sweep_sensor_status(Timestamp online_since) {
  return with_connection([&](Connection& conn) -> Result<std::vector<SensorStatusChange>> {
    auto rows = conn.run(
        "UPDATE sensors SET announced_online = coalesce(last_seen >= $1::bigint, false) "
        "WHERE announced_online IS DISTINCT FROM coalesce(last_seen >= $1::bigint, false) "
        "RETURNING sensor_id, announced_online, last_heartbeat",
        Params(online_since), "sensor status sweep");
    if (!rows) return rows.error();
    return collect(*rows, [](const Row& row) {
      return SensorStatusChange{row.text(0), row.boolean(1), row.opt_time(2)};
    });
  });
}

}  // namespace honeyman::store::pg
