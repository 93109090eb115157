// The sqlite3 C API behind RAII: connections, cached prepared statements, transactions and the
// mapping of SQLite result codes onto Errc. Private to the SQLite store; store.hpp never sees it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/core.hpp"

namespace honeyman::store::detail {

struct SqliteClose {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteClose>;

struct SqliteFinalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteFinalize>;

// BUSY, LOCKED, CANTOPEN, IOERR, FULL → unavailable; a unique/primary-key violation → conflict;
// anything else → internal. The message reads "<what>: <sqlite's message>".
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// A value for a statement whose shape is decided at run time (filters, partial updates).
// A plain struct rather than std::variant: g++ 12 reports false maybe-uninitialized warnings
// (-Werror) when variants holding a std::string are copied from initializer lists.
struct SqlValue {
  enum class Kind { null, integer, real, text };
  SqlValue() = default;
  // Implicit on purpose: filters read as values.push_back(severity), not SqlValue(severity).
  SqlValue(std::int64_t v) : kind(Kind::integer), integer(v) {}
  SqlValue(double v) : kind(Kind::real), real(v) {}
  SqlValue(std::string v) : kind(Kind::text), text(std::move(v)) {}
  bool operator==(const SqlValue&) const = default;

  Kind kind = Kind::null;
  std::int64_t integer = 0;
  double real = 0;
  std::string text;
};

// A prepared statement borrowed for one use: binds parameters left to right, steps, reads
// columns, and on destruction resets itself and clears its bindings so the cache can hand it out
// again (a reset statement also releases its read snapshot). Not thread-safe, like its connection.
class Stmt {
 public:
  Stmt(sqlite3_stmt* stmt, bool* in_use, SqliteStmt owned, std::string_view what);
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

  // Binds each argument to the next parameter (1, 2, ...). Accepts integers, bool, double,
  // strings, Timestamp (as unix microseconds), std::nullopt and std::optional of those.
  template <class... Args>
  Stmt& bind(const Args&... args) {
    (bind_one(args), ...);
    return *this;
  }
  // Binds one value of a statement built at run time (see SqlValue).
  Stmt& bind_value(const SqlValue& v);
  // Binds `text` as a BLOB (dead-letter payloads may not be UTF-8).
  Stmt& bind_blob(std::string_view bytes);

  Result<bool> step();  // true: a row is ready to read; false: done
  Status run();         // steps to completion, ignoring any rows
  void reset();         // ready to bind from parameter 1 and run again (batched inserts)

  bool is_null(int col) const;
  std::int64_t i64(int col) const;
  double f64(int col) const;
  bool boolean(int col) const { return i64(col) != 0; }
  std::string text(int col) const;
  Timestamp time(int col) const { return from_unix_micros(i64(col)); }
  std::optional<std::int64_t> opt_i64(int col) const;
  std::optional<double> opt_f64(int col) const;
  std::optional<std::string> opt_text(int col) const;
  std::optional<Timestamp> opt_time(int col) const;

 private:
  void bind_one(std::int64_t v);
  void bind_one(int v) { bind_one(static_cast<std::int64_t>(v)); }
  void bind_one(bool v) { bind_one(static_cast<std::int64_t>(v ? 1 : 0)); }
  void bind_one(double v);
  void bind_one(std::string_view v);
  void bind_one(const std::string& v) { bind_one(std::string_view(v)); }
  void bind_one(const char* v) { bind_one(std::string_view(v)); }
  void bind_one(Timestamp v) { bind_one(to_unix_micros(v)); }
  void bind_one(std::nullopt_t);
  template <class T>
  void bind_one(const std::optional<T>& v) {
    if (v)
      bind_one(*v);
    else
      bind_one(std::nullopt);
  }
  void check_bind(int rc);

  sqlite3_stmt* stmt_;
  bool* in_use_;      // the cache entry's flag, cleared on destruction; null when owned
  SqliteStmt owned_;  // set when the cached copy was busy and this one is private
  std::string_view what_;
  int next_ = 1;
  int bind_rc_ = SQLITE_OK;
};

// Steps through every row of `stmt`, collecting read(stmt) for each.
template <class Read>
auto collect_rows(Stmt& stmt, Read read) -> Result<std::vector<decltype(read(stmt))>> {
  std::vector<decltype(read(stmt))> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(read(stmt));
  }
}

// How a connection is opened and tuned.
struct ConnectionOptions {
  std::string filename;  // a path, or a memdb URI when `uri`
  bool uri = false;
  bool memory = false;  // memdb: no WAL (the journal stays in memory)
  bool writer = false;  // readers are opened query_only
  int busy_timeout_ms = 5000;
};

// One sqlite3 connection plus its statement cache. Used by one thread at a time.
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const ConnectionOptions& options);

  // A statement from the cache (prepared on first use). `what` names the operation for errors
  // and must outlive the Stmt (pass a literal).
  Result<Stmt> prepare(std::string_view sql, std::string_view what);
  // Runs one or more statements without parameters (schema scripts, pragmas, BEGIN/COMMIT).
  Status exec(const char* sql, std::string_view what);
  std::int64_t changes() const { return sqlite3_changes64(db_.get()); }
  // Drops cached statements when the cache grew large (queries with long IN-lists each get
  // their own SQL text). Call only while no Stmt of this connection is alive.
  void trim_cache();

 private:
  struct Cached {
    SqliteStmt stmt;
    bool in_use = false;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  explicit Connection(SqliteDb db) : db_(std::move(db)) {}
  Status configure(const ConnectionOptions& options);

  SqliteDb db_;  // declared first: destroyed after every cached statement
  std::unordered_map<std::string, Cached, Hash, std::equal_to<>> cache_;
};

// A transaction that rolls back unless committed. `immediate` takes the write lock at BEGIN
// (so two writers queue on busy_timeout instead of failing on lock upgrade).
class Transaction {
 public:
  static Result<Transaction> begin(Connection& conn, bool immediate, std::string_view what);
  Transaction(Transaction&& other) noexcept : conn_(other.conn_), what_(other.what_) {
    other.conn_ = nullptr;
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  Transaction(Connection& conn, std::string_view what) : conn_(&conn), what_(what) {}
  Connection* conn_;
  std::string_view what_;
};

}  // namespace honeyman::store::detail
