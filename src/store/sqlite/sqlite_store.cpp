#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>

// SqlStore's members, instantiated for SQLite here and only here.
#include "store/detail/sql_alerting.hpp"
#include "store/detail/sql_analytics.hpp"
#include "store/detail/sql_audit.hpp"
#include "store/detail/sql_auth.hpp"
#include "store/detail/sql_onboarding.hpp"
#include "store/detail/sql_sensors.hpp"
#include "store/detail/sql_threats.hpp"
#include "store/detail/sql_triage.hpp"

namespace honeyman::store {
template class detail::SqlStore<sqlite::Backend>;
}  // namespace honeyman::store

namespace honeyman::store::sqlite {
namespace {

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)";

// In-memory databases use the memdb VFS under a random name: every connection of this store
// sees the same database, and it disappears with the last connection. Shared-cache mode would
// also share it, but its table locks fail at once with SQLITE_LOCKED instead of honouring
// busy_timeout, so readers and the writer would fail each other under load.
ConnectionOptions connection_options(const Target& target, const StoreConfig& config,
                                     const std::string& memory_name, bool writer) {
  ConnectionOptions o;
  o.memory = target.memory;
  o.uri = target.memory;
  o.filename = target.memory ? "file:/" + memory_name + "?vfs=memdb" : target.path;
  o.writer = writer;
  o.busy_timeout_ms = config.busy_timeout_ms;
  return o;
}

Result<int> current_version(Connection& conn) {
  auto stmt = conn.prepare("SELECT coalesce(max(version), 0) FROM schema_migrations",
                           "read schema version");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return static_cast<int>(stmt->i64(0));
}

// Applies `m` unless it already is. BEGIN IMMEDIATE makes the check and the change atomic, so
// two processes migrating at once apply each migration exactly once.
Status apply_if_pending(Connection& conn, const Migration& m, const MigrationProgress& progress) {
  auto txn = Transaction::begin(conn, "BEGIN IMMEDIATE", "migrate");
  if (!txn) return txn.error();
  auto version = current_version(conn);
  if (!version) return version.error();
  if (*version >= m.version) return {};
  detail::MigrationTimer timer(m.version, m.name, progress);
  if (auto s = conn.exec(m.sql, "apply migration"); !s) return s;
  auto record = conn.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES "
      "(?, ?, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))",
      "record migration");
  if (!record) return record.error();
  if (auto s = record->bind(m.version, m.name).run(); !s) return s;
  if (auto s = txn->commit(); !s) return s;
  timer.done();
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
void ReaderPool::add(std::unique_ptr<Connection> conn) {
  give_back(std::move(conn));
}

ReaderPool::Lease ReaderPool::acquire() {
  std::unique_lock lock(mutex_);
  returned_.wait(lock, [&] { return !idle_.empty(); });
  auto conn = std::move(idle_.back());
  idle_.pop_back();
  return Lease(*this, std::move(conn));
}

void ReaderPool::give_back(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(conn));
  }
  returned_.notify_one();
}

// ---------------------------------------------------------------------------------------------
Result<std::unique_ptr<Store>> open_sqlite_store(const Target& target, const StoreConfig& config) {
  std::string memory_name = target.memory ? "honeyman-" + random_token(12) : std::string();
  // The writer first: it switches a file database to WAL before readers attach.
  auto writer = Connection::open(connection_options(target, config, memory_name, true));
  if (!writer) return writer.error();
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < std::max(1, config.read_connections); ++i) {
    auto reader = Connection::open(connection_options(target, config, memory_name, false));
    if (!reader) return reader.error();
    readers.push_back(std::move(*reader));
  }
  return std::unique_ptr<Store>(
      new detail::SqlStore<Backend>(std::move(*writer), std::move(readers)));
}

Backend::Backend(std::unique_ptr<Connection> writer,
                 std::vector<std::unique_ptr<Connection>> readers)
    : writer_(std::move(writer)) {
  for (auto& r : readers) readers_.add(std::move(r));
}

Result<int> Backend::migrate(const MigrationProgress& progress) {
  return write([&](Connection& conn) -> Result<int> {
    // Waiting for another process's migration (or a backup restore) is expected, however long
    // it takes, as on PostgreSQL; the usual timeout comes back after.
    conn.set_busy_timeout(24 * 3600 * 1000);
    struct Reset {
      Connection& conn;
      ~Reset() { conn.reset_busy_timeout(); }
    } reset{conn};
    if (auto s = conn.exec(kCreateMigrationsTable, "create schema_migrations"); !s)
      return s.error();
    for (const auto& m : migrations())
      if (auto s = apply_if_pending(conn, m, progress); !s) return s.error();
    return current_version(conn);
  });
}

Result<int> Backend::schema_version() {
  return read([&](Connection& conn) -> Result<int> {
    auto exists = conn.prepare(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        "read schema version");
    if (!exists) return exists.error();
    auto row = exists->step();
    if (!row) return row.error();
    if (exists->i64(0) == 0) return 0;
    return current_version(conn);
  });
}

}  // namespace honeyman::store::sqlite
