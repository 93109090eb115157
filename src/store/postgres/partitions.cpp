// Day partitions of `threats`, created ahead of time.
//
// DDL cannot take parameters: the table names and bounds spliced into the statements below are
// computed here from integers (a UTC day), never taken from input.
#include <chrono>
#include <cstdio>

#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {

// threats_p20270115 for the day starting at `day_start` (unix micros, UTC midnight).
std::string partition_name(std::int64_t day_start) {
  using namespace std::chrono;
  auto days = sys_days{} + std::chrono::days(day_start / kMicrosPerDay);
  year_month_day ymd{days};
  char name[32];
  std::snprintf(name, sizeof name, "threats_p%04d%02u%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return name;
}

std::optional<std::int64_t> partition_day(std::string_view name) {
  using namespace std::chrono;
  constexpr std::string_view prefix = "threats_p";
  if (name.size() != prefix.size() + 8 || !name.starts_with(prefix)) return std::nullopt;
  int digits[8];
  for (std::size_t i = 0; i < 8; ++i) {
    char c = name[prefix.size() + i];
    if (c < '0' || c > '9') return std::nullopt;
    digits[i] = c - '0';
  }
  auto y = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3];
  auto m = static_cast<unsigned>(digits[4] * 10 + digits[5]);
  auto d = static_cast<unsigned>(digits[6] * 10 + digits[7]);
  year_month_day ymd{year{y}, month{m}, day{d}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd}.time_since_epoch().count() * kMicrosPerDay;
}

namespace {

// Reads pg_class with the statement's snapshot. Not to_regclass(): that consults the catalog
// cache, which an advisory lock does not refresh, so right after waiting for another process's
// lock it can still miss the partition that process just created.
Result<bool> exists(Connection& conn, const std::string& table) {
  auto r = conn.run(
      "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
      " ON n.oid = c.relnamespace WHERE c.relname = $1::text AND n.nspname = current_schema())",
      Params(table), "maintain");
  if (!r) return r.error();
  return (*r)[0].boolean(0);
}

// Creates and attaches one day's partition. Rows of that day that arrived while it did not
// exist sit in the default partition, which would make the attach fail: they move first. The
// new table is attached rather than created as PARTITION OF, which would lock the whole parent
// against readers while the default partition is scanned.
Status create_partition(Connection& conn, std::int64_t lo) {
  auto name = partition_name(lo);
  auto hi = std::to_string(lo + kMicrosPerDay), from = std::to_string(lo);
  if (auto s = conn.exec("CREATE TABLE " + name + " (LIKE threats INCLUDING DEFAULTS)", "maintain");
      !s)
    return s;
  auto moved = conn.run_once(
      "WITH moved AS (DELETE FROM threats_default WHERE timestamp >= " + from +
          " AND timestamp < " + hi + " RETURNING *) INSERT INTO " + name + " SELECT * FROM moved",
      Params(), "maintain");
  if (!moved) return moved.error();
  return conn.exec("ALTER TABLE threats ATTACH PARTITION " + name + " FOR VALUES FROM (" + from +
                       ") TO (" + hi + ")",
                   "maintain");
}

}  // namespace

Status ensure_partitions(Connection& conn, Timestamp now) {
  auto today = floor_day(to_unix_micros(now));
  std::vector<std::int64_t> missing;
  for (int d = -1; d <= kPartitionDaysAhead; ++d) {
    auto lo = today + d * kMicrosPerDay;
    auto found = exists(conn, partition_name(lo));
    if (!found) return found.error();
    if (!*found) missing.push_back(lo);
  }
  if (missing.empty()) return {};  // the usual periodic call: no lock, no transaction
  auto txn = Transaction::begin(conn, "BEGIN", "maintain");
  if (!txn) return txn.error();
  if (auto r =
          conn.run("SELECT pg_advisory_xact_lock($1::bigint)", Params(kPartitionLock), "maintain");
      !r)
    return r.error();
  for (auto lo : missing) {
    auto found = exists(conn, partition_name(lo));  // another process may have been first
    if (!found) return found.error();
    if (*found) continue;
    if (auto s = create_partition(conn, lo); !s) return s;
  }
  return txn->commit();
}

}  // namespace honeyman::store::pg
