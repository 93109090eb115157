// The PostgreSQL backend of SqlStore (store/detail/sql_store.hpp): a bounded pool of libpq
// connections, each call on one leased connection, transactions run again on a deadlock; plus
// what PostgreSQL does its own way: `threats` range-partitioned by day (created ahead, dropped
// whole by retention), the batch insert by COPY and array statements, listing and analytics
// queries shaped for its planner. Private to the store module.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/detail/aggregates.hpp"
#include "store/detail/batch_sums.hpp"
#include "store/detail/cursor.hpp"
#include "store/postgres/detail/pg.hpp"
#include "store/store.hpp"

namespace honeyman::store::pg {

// Opens the pool (one connection at once, to fail fast; the rest on demand).
Result<std::unique_ptr<Store>> open_postgres_store(const StoreConfig& config);

// "postgresql+asyncpg://..." (old .env files name a Python driver) → "postgresql://...", with
// connect_timeout=10 unless the URL sets one (an unreachable host must not hang a call).
std::string libpq_url(std::string_view database_url);

// Compiled-in schema migrations, in version order (migrations.cpp).
struct Migration {
  int version;
  std::string_view name;
  const char* sql;
};
const std::vector<Migration>& migrations();

// Backups (backup.cpp): pg_dump / pg_restore run with the connection settings of `database_url`
// passed in their environment (PGHOST, PGPASSWORD, ...), never on their command line.
Result<BackupReport> backup(std::string_view database_url, const std::string& destination,
                            const CopyProgress& progress);
Result<BackupReport> restore(std::string_view database_url, const std::string& source, bool replace,
                             const CopyProgress& progress);

// Connections, checked out one per call. At most `size` exist; broken ones are dropped and
// replaced on demand.
class Pool {
 public:
  // `setup` runs on every new connection (session settings).
  Pool(std::string conninfo, std::string setup, int size, std::unique_ptr<Connection> first);

  using Lease = detail::Lease<Pool, Connection>;

  // Waits while every connection is busy; Errc::unavailable when a new one cannot be opened.
  Result<Lease> acquire();

 private:
  friend Lease;
  void give_back(std::unique_ptr<Connection> conn);

  std::string conninfo_, setup_;
  int size_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  // idle + leased
};

// A WHERE clause of the threat listing under construction: conditions joined by AND, parameters
// numbered in order and cast to the column's type where PostgreSQL cannot infer it.
struct Filter {
  std::vector<std::string> conditions;
  Params params;

  // "$n::type" for a new parameter `value`.
  template <class T>
  std::string param(const T& value, std::string_view type) {
    params.add(value);
    // append() rather than operator+ on a literal: GCC 12 at -O3 reports a false -Wrestrict.
    std::string out = "$";
    out.append(std::to_string(params.size())).append("::").append(type);
    return out;
  }
  // `column` equal to one of `values` (nothing when there are none); one value as `=` lets the
  // planner see that an (x, timestamp) index yields sorted rows.
  void in(std::string_view column, const std::vector<std::string>& values, std::string_view type);
  std::string where() const { return detail::where_clause(conditions); }
};

class Backend {
 public:
  using Connection = pg::Connection;
  using Params = pg::Params;

  Backend(std::string conninfo, std::string setup, int pool_size, std::unique_ptr<Connection> first)
      : pool_(std::move(conninfo), std::move(setup), pool_size, std::move(first)) {}

  // Runs fn(Connection&) on a leased connection. A connection found broken by its very first
  // statement (the server restarted while it sat idle) changed nothing, so fn runs once more
  // on a fresh connection; any other failure is returned as is.
  template <class Fn>
  auto read(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
    for (int attempt = 0;; ++attempt) {
      auto lease = pool_.acquire();
      if (!lease) return lease.error();
      Connection& conn = **lease;
      conn.reset_progress();
      auto result = fn(conn);
      if (result || attempt > 0 || !conn.broken() || conn.progress() > 0) return result;
    }
  }
  // One statement is atomic on its own (autocommit).
  template <class Fn>
  auto write(Fn&& fn) {
    return read(std::forward<Fn>(fn));
  }
  // Runs fn(Connection&) inside a transaction (`begin` picks isolation); commits when fn
  // succeeds. A deadlock or serialization failure runs the whole transaction again (a few times).
  template <class Fn>
  auto transaction(std::string_view what, Fn&& fn, const char* begin = "BEGIN") {
    return read([&](Connection& conn) -> decltype(fn(conn)) {
      for (int attempt = 0;; ++attempt) {
        conn.clear_sqlstate();  // a failure decided in C++ (unknown sensor) is never retried
        auto result = detail::in_transaction(conn, begin, what, fn);
        if (result || attempt >= 4 || !is_retryable_sqlstate(conn.last_sqlstate())) return result;
      }
    });
  }
  // A read-only snapshot: several statements that must agree (rows and their total).
  template <class Fn>
  auto snapshot(std::string_view what, Fn&& fn) {
    return transaction(what, std::forward<Fn>(fn),
                       "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }

  // FOR UPDATE / FOR NO KEY UPDATE lock rows until commit.
  static constexpr bool kRowLocks = true;
  static const std::string& heartbeat_sql();
  // Threat ids are UUIDs; anything else names no threat (and must not reach a uuid parameter).
  static std::optional<std::string> threat_id(std::string_view id) { return normalize_uuid(id); }

  Result<int> migrate(const MigrationProgress& progress);
  Result<int> schema_version();
  static const std::vector<Migration>& migrations() { return store::pg::migrations(); }
  // Creates the day partitions of `threats` ahead (ensure_partitions).
  Status maintain(Timestamp now);

  // The batch insert (threats_write.cpp): the sensors' rows locked, the rows COPYed, each
  // rollup and counter table updated by one statement over arrays.
  static Result<std::map<std::string, detail::Place>> batch_places(Connection& conn,
                                                                   const detail::BatchSums& sums);
  // Writes the threats i with inserted[i], clearing it for each one already stored.
  static Status insert_rows(Connection& conn, const std::vector<domain::Threat>& threats,
                            std::vector<bool>& inserted);
  static Status add_sums(Connection& conn, const detail::BatchSums& sums);

  // Listing (threats_query.cpp): newest-first pages asked of the newest partitions first.
  static Result<detail::PageRows> fetch_rows(Connection& conn, const ThreatQuery& q,
                                             const std::optional<detail::Cursor>& cursor);
  static Filter counter_filter(const ThreatQuery& q);
  static Filter row_filter(const ThreatQuery& q);
  // The rows matching `q`'s filters, counted up to cap + 1: in the newest partitions first (an
  // unbounded count plans every partition, ~70 ms at 90 days), wider only when they hold fewer.
  static Result<std::int64_t> count_rows(Connection& conn, const ThreatQuery& q, std::int64_t cap);
  // Threats by id (bulk triage), however many.
  static Filter ids_filter(const std::vector<std::string>& ids);
  // The JSON text {field: [old, new]} of a threats row for the fields that change in it.
  static std::string changes_json(const std::vector<detail::JsonChange>& fields);
  // The export cut-off (Store::latest_threat_seq): max(seq) over the latest reserved blocks.
  static Result<std::int64_t> latest_threat_seq(Connection& conn);

  // Counting (sensor_activity.cpp, analytics.cpp). aggregate() calls on_row(row) once per group:
  // columns 0..k-1 are the keys, k the count, k+1 the score sum.
  static Result<std::map<std::string, std::int64_t>> count_threats_between(
      Connection& conn, const std::vector<std::string>& sensor_ids, Timestamp from, Timestamp to);
  template <class OnRow>
  static Status aggregate(Connection& conn, const detail::Aggregation& a, const TimeWindow& window,
                          OnRow&& on_row) {
    auto rows = run_aggregation(conn, a, window, false);
    if (!rows) return rows.error();
    for (int i = 0; i < rows->size(); ++i) on_row((*rows)[i]);
    return {};
  }
  Result<FleetOverview> fleet_overview(Timestamp now, Timestamp online_since);
  Result<std::map<std::string, SensorThreatCount>> count_by_sensor(
      const TimeWindow& window, const std::vector<domain::Severity>& severities);

  // Retention (retention.cpp): expired day partitions dropped whole, then bounded batches.
  Result<std::int64_t> delete_threats_before(Timestamp cutoff, int batch_limit);
  Result<std::int64_t> delete_rollups_before(Timestamp cutoff, int batch_limit);

 private:
  // The aggregation's groups; with `with_sensor_place` keyed by sensor_id first, each group
  // also carries the sensor's current name, city, country, latitude and longitude (columns
  // k+2.., NULL for a deleted sensor).
  static Result<Rows> run_aggregation(Connection& conn, const detail::Aggregation& a,
                                      const TimeWindow& window, bool with_sensor_place);

  Pool pool_;
};

// (sensor, detector, severity, type) → count as the five arrays of an unnest() over
// threat_totals' key and a count (ingest adds them, retention expires them).
Params total_arrays(const std::map<detail::TotalKey, std::int64_t>& totals);

// Creates the day partitions of `threats` from the day before `now` to kDaysAhead days after,
// moving any rows of those days out of the default partition. Idempotent; serialised between
// processes by an advisory lock.
inline constexpr int kPartitionDaysAhead = 7;
Status ensure_partitions(Connection& conn, Timestamp now);
// Taken (pg_advisory_xact_lock) by every change to the set of partitions: creating ahead,
// dropping old ones.
inline constexpr std::int64_t kPartitionLock = 0x486f6e65794d0002;  // "HoneyM" 2
// threats_p20270115 for the day starting at `day_start` (unix micros, UTC midnight), and back:
// the day's start, or nullopt for a name that is not a day partition's.
std::string partition_name(std::int64_t day_start);
std::optional<std::int64_t> partition_day(std::string_view name);

using detail::kMicrosPerDay;
using detail::kMicrosPerHour;
inline std::int64_t floor_day(std::int64_t micros) {
  return detail::floor_to(micros, kMicrosPerDay);
}

}  // namespace honeyman::store::pg
