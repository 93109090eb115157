// The SQLite backend of SqlStore (store/detail/sql_store.hpp): one writer connection behind a
// mutex (SQLite allows one writer at a time anyway; queuing here is cheaper than busy-waiting in
// SQLite) and a pool of reader connections that run beside it thanks to WAL, plus what SQLite
// does its own way: schema, the row-by-row batch insert, listing and analytics queries shaped for
// its planner, retention in bounded batches. Private to the store module.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/detail/aggregates.hpp"
#include "store/detail/batch_sums.hpp"
#include "store/detail/cursor.hpp"
#include "store/sqlite/detail/sqlite.hpp"
#include "store/store.hpp"

namespace honeyman::store::sqlite {

// Where the database lives: a file path, or a process-private in-memory database.
struct Target {
  std::string path;  // empty when `memory`
  bool memory = false;
};

Result<std::unique_ptr<Store>> open_sqlite_store(const Target& target, const StoreConfig& config);

// Compiled-in schema migrations, in version order (migrations.cpp).
struct Migration {
  int version;
  std::string_view name;
  const char* sql;  // one or more statements
};
const std::vector<Migration>& migrations();

// Backups (backup.cpp): a consistent copy of the database file `path` into `destination`, and
// the way back. See store::backup_database.
Result<BackupReport> backup(const std::string& path, const std::string& destination,
                            const CopyProgress& progress);
Result<BackupReport> restore(const std::string& source, const std::string& path, bool replace,
                             const CopyProgress& progress);

// Reader connections, checked out one per call.
class ReaderPool {
 public:
  using Lease = detail::Lease<ReaderPool, Connection>;

  void add(std::unique_ptr<Connection> conn);
  Lease acquire();  // waits while every reader is busy

 private:
  friend Lease;
  void give_back(std::unique_ptr<Connection> conn);
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

// A WHERE clause of the threat listing under construction: conditions joined by AND, values
// numbered in order.
struct Filter {
  std::vector<std::string> conditions;
  Params params;

  // `column` equal to one of `values` (nothing when there are none).
  void in(std::string_view column, const std::vector<SqlValue>& values);
  // `condition` with "$" standing for the next parameter, which is `value`.
  void add(std::string_view condition, SqlValue value);
  std::string where() const { return detail::where_clause(conditions); }
};

class Backend {
 public:
  using Connection = sqlite::Connection;
  using Params = sqlite::Params;

  Backend(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers);

  // A pooled reader, no transaction: one statement reads one snapshot.
  template <class Fn>
  auto read(Fn&& fn) {
    auto lease = readers_.acquire();
    (*lease).trim_cache();
    return fn(*lease);
  }
  // A reader inside BEGIN: every statement reads the snapshot of the first.
  template <class Fn>
  auto snapshot(std::string_view what, Fn&& fn) {
    return read(
        [&](Connection& conn) { return detail::in_transaction(conn, "BEGIN", what, fn, false); });
  }
  // The writer, serialised with every other write.
  template <class Fn>
  auto write(Fn&& fn) {
    std::lock_guard lock(writer_mutex_);
    writer_->trim_cache();
    return fn(*writer_);
  }
  // BEGIN IMMEDIATE on the writer; commits when fn succeeds, rolls back when it fails.
  template <class Fn>
  auto transaction(std::string_view what, Fn&& fn) {
    return write([&](Connection& conn) {
      return detail::in_transaction(conn, "BEGIN IMMEDIATE", what, fn);
    });
  }

  // No row locks: a write transaction holds the whole database.
  static constexpr bool kRowLocks = false;
  static const char* heartbeat_sql();
  // Ids are compared as stored text.
  static std::optional<std::string> threat_id(std::string_view id) { return std::string(id); }

  Result<int> migrate(const MigrationProgress& progress);
  Result<int> schema_version();
  static const std::vector<Migration>& migrations() { return store::sqlite::migrations(); }
  Status maintain(Timestamp) { return {}; }  // nothing to do ahead of time

  // The batch insert (threats_write.cpp): one prepared statement run per row, per rollup key.
  static Result<std::map<std::string, detail::Place>> batch_places(Connection& conn,
                                                                   const detail::BatchSums& sums);
  // Writes the threats i with inserted[i], clearing it for each one already stored.
  static Status insert_rows(Connection& conn, const std::vector<domain::Threat>& threats,
                            std::vector<bool>& inserted);
  static Status add_sums(Connection& conn, const detail::BatchSums& sums);

  // Listing (threats_query.cpp).
  static Result<detail::PageRows> fetch_rows(Connection& conn, const ThreatQuery& q,
                                             const std::optional<detail::Cursor>& cursor);
  static Filter counter_filter(const ThreatQuery& q);
  static Filter row_filter(const ThreatQuery& q);
  // The rows matching `q`'s filters, counted up to cap + 1.
  static Result<std::int64_t> count_rows(Connection& conn, const ThreatQuery& q, std::int64_t cap);
  // Threats by id (bulk triage), however many.
  static Filter ids_filter(const std::vector<std::string>& ids);
  // The JSON text {field: [old, new]} of a threats row for the fields that change in it.
  static std::string changes_json(const std::vector<detail::JsonChange>& fields);
  // The export cut-off (Store::latest_threat_seq): the rowid is the insertion order.
  static Result<std::int64_t> latest_threat_seq(Connection& conn);

  // Counting (sensor_activity.cpp, analytics.cpp). aggregate() calls on_row(row) for rows whose
  // columns 0..k-1 are the keys, k a count and k+1 a score sum; keys repeat (one row per rollup
  // row or threat: grouping in SQL measured ten times slower), so on_row must add, not assign.
  static Result<std::map<std::string, std::int64_t>> count_threats_between(
      Connection& conn, const std::vector<std::string>& sensor_ids, Timestamp from, Timestamp to);
  template <class OnRow>
  static Status aggregate(Connection& conn, const detail::Aggregation& a, const TimeWindow& window,
                          OnRow&& on_row) {
    auto stmt = prepare_aggregation(conn, a, window);
    if (!stmt) return stmt.error();
    for (;;) {
      auto row = stmt->step();
      if (!row) return row.error();
      if (!*row) return {};
      on_row(std::as_const(*stmt));
    }
  }
  Result<FleetOverview> fleet_overview(Timestamp now, Timestamp online_since);
  Result<std::map<std::string, SensorThreatCount>> count_by_sensor(
      const TimeWindow& window, const std::vector<domain::Severity>& severities);

  // Retention (retention.cpp): bounded batches, oldest first.
  Result<std::int64_t> delete_threats_before(Timestamp cutoff, int batch_limit);
  Result<std::int64_t> delete_rollups_before(Timestamp cutoff, int batch_limit);

 private:
  static Result<Stmt> prepare_aggregation(Connection& conn, const detail::Aggregation& a,
                                          const TimeWindow& window);

  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;
  ReaderPool readers_;
};

}  // namespace honeyman::store::sqlite
