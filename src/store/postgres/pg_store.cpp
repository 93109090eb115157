#include "store/postgres/pg_store.hpp"

#include <algorithm>

// SqlStore's members, instantiated for PostgreSQL here and only here.
#include "store/detail/sql_alerting.hpp"
#include "store/detail/sql_analytics.hpp"
#include "store/detail/sql_audit.hpp"
#include "store/detail/sql_auth.hpp"
#include "store/detail/sql_onboarding.hpp"
#include "store/detail/sql_sensors.hpp"
#include "store/detail/sql_threats.hpp"
#include "store/detail/sql_triage.hpp"

namespace honeyman::store {
template class detail::SqlStore<pg::Backend>;
}  // namespace honeyman::store

namespace honeyman::store::pg {
namespace {

// Any constant, the same in every process: pg_advisory_xact_lock(kMigrationLock) serialises
// migrations between processes and is released at commit or rollback.
constexpr std::int64_t kMigrationLock = 0x486f6e65794d0001;  // "HoneyM" 1

const std::string kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)";

Result<int> current_version(Connection& conn) {
  auto rows = conn.run("SELECT coalesce(max(version), 0) FROM schema_migrations", Params(),
                       "read schema version");
  if (!rows) return rows.error();
  return static_cast<int>((*rows)[0].i64(0));
}

// Applies `m` unless it already is, under the migration lock: of several processes migrating
// at once, one applies it and the others find it applied.
Status apply_if_pending(Connection& conn, const Migration& m, const MigrationProgress& progress) {
  auto txn = Transaction::begin(conn, "BEGIN", "migrate");
  if (!txn) return txn.error();
  // Waiting for another process's migration is expected, however long it takes.
  if (auto s = conn.exec("SET LOCAL lock_timeout = 0", "migrate"); !s) return s;
  if (auto r =
          conn.run("SELECT pg_advisory_xact_lock($1::bigint)", Params(kMigrationLock), "migrate");
      !r)
    return r.error();
  if (auto s = conn.exec(kCreateMigrationsTable, "create schema_migrations"); !s) return s;
  auto version = current_version(conn);
  if (!version) return version.error();
  if (*version >= m.version) return {};
  detail::MigrationTimer timer(m.version, m.name, progress);
  if (auto s = conn.exec(m.sql, "apply migration " + std::to_string(m.version)); !s) return s;
  auto record = conn.run(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES "
      "($1::integer, $2::text, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
      Params(m.version, m.name), "record migration");
  if (!record) return record.error();
  if (auto s = txn->commit(); !s) return s;
  timer.done();
  return {};
}

Result<int> schema_version_on(Connection& conn) {
  auto exists = conn.run("SELECT to_regclass('schema_migrations') IS NOT NULL", Params(),
                         "read schema version");
  if (!exists) return exists.error();
  if (!(*exists)[0].boolean(0)) return 0;
  return current_version(conn);
}

}  // namespace

std::string libpq_url(std::string_view url) {
  auto colon = url.find("://");
  auto scheme = url.substr(0, colon);
  if (auto plus = scheme.find('+'); plus != std::string_view::npos) scheme = scheme.substr(0, plus);
  auto out = std::string(scheme) + std::string(url.substr(colon));
  if (out.find("connect_timeout=") == std::string::npos)
    out += out.find('?') == std::string::npos ? "?connect_timeout=10" : "&connect_timeout=10";
  return out;
}

// ---------------------------------------------------------------------------------------------
Pool::Pool(std::string conninfo, std::string setup, int size, std::unique_ptr<Connection> first)
    : conninfo_(std::move(conninfo)), setup_(std::move(setup)), size_(std::max(1, size)) {
  idle_.push_back(std::move(first));
  open_ = 1;
}

Result<Pool::Lease> Pool::acquire() {
  std::unique_lock lock(mutex_);
  for (;;) {
    returned_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->healthy()) return Lease(*this, std::move(conn));
      --open_;  // dropped; loop to reuse another or open a new one
      continue;
    }
    ++open_;
    lock.unlock();  // connecting takes a round trip or more: not under the lock
    auto conn = Connection::open(conninfo_, setup_);
    if (!conn) {
      lock.lock();
      --open_;
      returned_.notify_one();
      return conn.error();
    }
    return Lease(*this, std::move(*conn));
  }
}

void Pool::give_back(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(mutex_);
    // A broken connection, or one left inside a transaction, is not handed out again.
    if (conn && !conn->broken() && conn->idle())
      idle_.push_back(std::move(conn));
    else
      --open_;
  }
  returned_.notify_one();
}

// ---------------------------------------------------------------------------------------------
Result<std::unique_ptr<Store>> open_postgres_store(const StoreConfig& config) {
  auto conninfo = libpq_url(config.database_url);
  // Text is UTF-8 whatever the server's default; a statement waiting for a row or table lock
  // longer than busy_timeout_ms fails with `unavailable`, as SQLite's busy timeout does. No
  // parallel query: every statement here is a short read or write among many concurrent ones, and
  // the workers a Gather starts cost more than the scan (a 90-day type ranking: 200 ms with two
  // workers on a busy 2-core machine, 4-6 ms without; docs/DECISIONS.md).
  auto setup =
      "SET client_encoding = 'UTF8'; SET max_parallel_workers_per_gather = 0; SET lock_timeout = " +
      std::to_string(std::max(0, config.busy_timeout_ms));
  auto first = Connection::open(conninfo, setup);
  if (!first) return first.error();
  return std::unique_ptr<Store>(new detail::SqlStore<Backend>(conninfo, std::move(setup),
                                                              config.pool_size, std::move(*first)));
}

Result<int> Backend::migrate(const MigrationProgress& progress) {
  auto version = read([&](Connection& conn) -> Result<int> {
    // Every command migrates at start; an up-to-date schema needs no lock and no transaction.
    if (auto known = schema_version_on(conn); known && *known >= migrations().back().version)
      return *known;
    for (const auto& m : migrations())
      if (auto s = apply_if_pending(conn, m, progress); !s) return s.error();
    return current_version(conn);
  });
  if (!version) return version;
  // The store never reads the clock except here: a freshly migrated database must accept
  // today's threats into their own partition before the server's first maintenance tick.
  if (auto s = maintain(system_clock().now()); !s) return s.error();
  return version;
}

Result<int> Backend::schema_version() {
  return read([&](Connection& conn) { return schema_version_on(conn); });
}

Status Backend::maintain(Timestamp now) {
  return read([&](Connection& conn) { return ensure_partitions(conn, now); });
}

}  // namespace honeyman::store::pg
