// The sqlite3 C API behind RAII: connections, cached prepared statements, transactions and the
// mapping of SQLite result codes onto Errc. Private to the SQLite store; store.hpp never sees it.
// Connection offers the statement calls the PostgreSQL store's Connection offers too (execute,
// fetch_one, fetch_all, for_each), which the code shared by both stores is written against.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/core.hpp"
#include "store/detail/sql.hpp"

namespace honeyman::store::sqlite {

using SqliteDb = std::unique_ptr<sqlite3, detail::FreeWith<sqlite3_close_v2>>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, detail::FreeWith<sqlite3_finalize>>;

// BUSY, LOCKED, CANTOPEN, IOERR, FULL → unavailable; a unique/primary-key violation → conflict;
// anything else → internal. The message reads "<what>: <sqlite's message>".
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// "?, ?, ?" with `n` placeholders, for IN-lists (values are always bound, never inlined).
std::string placeholders(std::size_t n);

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

// The values of a statement whose text is built at run time, bound in order ($1, $2, ...):
// the same calls as the PostgreSQL store's Params, so shared code builds either.
class Params {
 public:
  template <class... Args>
  explicit Params(const Args&... args) {
    (add(args), ...);
  }
  Params& add(const SqlValue& v) {
    values_.push_back(v);
    return *this;
  }
  Params& add(std::int64_t v) { return add(SqlValue(v)); }
  Params& add(int v) { return add(std::int64_t{v}); }
  Params& add(bool v) { return add(std::int64_t{v ? 1 : 0}); }
  Params& add(double v) { return add(SqlValue(v)); }
  Params& add(std::string_view v) { return add(SqlValue(std::string(v))); }
  Params& add(const std::string& v) { return add(std::string_view(v)); }
  Params& add(const char* v) { return add(std::string_view(v)); }
  Params& add(Timestamp v) { return add(to_unix_micros(v)); }
  Params& add(std::nullopt_t) { return add(SqlValue()); }
  template <class T>
  Params& add(const std::optional<T>& v) {
    return v ? add(*v) : add(std::nullopt);
  }

  int size() const { return static_cast<int>(values_.size()); }
  const std::vector<SqlValue>& values() const { return values_; }

 private:
  std::vector<SqlValue> values_;
};

// A prepared statement borrowed for one use: binds parameters left to right, steps, reads
// columns, and on destruction resets itself and clears its bindings so the cache can hand it out
// again (a reset statement also releases its read snapshot). Not thread-safe, like its connection.
class Stmt : public detail::RowReader<Stmt> {
 public:
  Stmt(sqlite3_stmt* stmt, bool* in_use, SqliteStmt owned, std::string_view what);
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

  // Binds each argument to the next parameter (1, 2, ...). Accepts integers, bool, double,
  // strings, Timestamp (as unix microseconds), detail::Blob, std::nullopt, std::optional of those,
  // and Params (each of its values in turn).
  template <class... Args>
  Stmt& bind(const Args&... args) {
    (bind_one(args), ...);
    return *this;
  }

  Result<bool> step();  // true: a row is ready to read; false: done
  Status run();         // steps to completion, ignoring any rows
  void reset();         // ready to bind from parameter 1 and run again (batched inserts)

  bool is_null(int col) const;
  std::int64_t i64(int col) const;
  double f64(int col) const;
  bool boolean(int col) const { return i64(col) != 0; }
  std::string text(int col) const;
  // The column's bytes without a copy: valid until the next step() or reset().
  std::string_view view(int col) const;
  std::string blob(int col) const { return text(col); }

 private:
  void bind_one(std::int64_t v);
  void bind_one(int v) { bind_one(static_cast<std::int64_t>(v)); }
  void bind_one(bool v) { bind_one(static_cast<std::int64_t>(v ? 1 : 0)); }
  void bind_one(double v);
  void bind_one(std::string_view v);
  void bind_one(const std::string& v) { bind_one(std::string_view(v)); }
  void bind_one(const char* v) { bind_one(std::string_view(v)); }
  void bind_one(Timestamp v) { bind_one(to_unix_micros(v)); }
  void bind_one(detail::Blob v);
  void bind_one(std::nullopt_t);
  void bind_one(const SqlValue& v);
  void bind_one(const Params& params) {
    for (const auto& v : params.values()) bind_one(v);
  }
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
  using Row = Stmt;

  static Result<std::unique_ptr<Connection>> open(const ConnectionOptions& options);

  // A statement from the cache (prepared on first use). Parameters may be written `?`, `?N` or
  // `$N` (rewritten to `?N`). `what` names the operation for errors and must outlive the Stmt
  // (pass a literal).
  Result<Stmt> prepare(std::string_view sql, std::string_view what);
  // Runs one or more statements without parameters (schema scripts, pragmas, BEGIN/COMMIT).
  Status exec(const char* sql, std::string_view what);
  std::int64_t changes() const { return sqlite3_changes64(db_.get()); }
  bool can_roll_back() const { return true; }
  // Overrides the busy timeout until reset_busy_timeout() (back to the one it was opened with).
  void set_busy_timeout(int ms) { sqlite3_busy_timeout(db_.get(), ms); }
  void reset_busy_timeout() { sqlite3_busy_timeout(db_.get(), busy_timeout_ms_); }
  // Drops cached statements when the cache grew large (queries with long IN-lists each get
  // their own SQL text). Call only while no Stmt of this connection is alive.
  void trim_cache();

  // The calls shared with the PostgreSQL store: each prepares `sql` (cached), binds `args` (see
  // Stmt::bind) to $1, $2, ... and runs it. execute() returns the rows changed.
  template <class... Args>
  Result<std::int64_t> execute(const detail::Sql& sql, std::string_view what, const Args&... args) {
    auto stmt = prepare(sql.view(), what);
    if (!stmt) return stmt.error();
    if (auto s = stmt->bind(args...).run(); !s) return s.error();
    return changes();
  }
  // Calls on_row(row) for each row.
  template <class OnRow, class... Args>
  Status for_each(const detail::Sql& sql, std::string_view what, OnRow&& on_row,
                  const Args&... args) {
    auto stmt = prepare(sql.view(), what);
    if (!stmt) return stmt.error();
    stmt->bind(args...);
    for (;;) {
      auto row = stmt->step();
      if (!row) return row.error();
      if (!*row) return {};
      on_row(std::as_const(*stmt));
    }
  }
  // read(row) for each row.
  template <class Read, class... Args>
  auto fetch_all(const detail::Sql& sql, std::string_view what, Read&& read, const Args&... args)
      -> Result<std::vector<std::invoke_result_t<Read&, const Stmt&>>> {
    std::vector<std::invoke_result_t<Read&, const Stmt&>> out;
    auto done = for_each(
        sql, what, [&](const Stmt& row) { out.push_back(read(row)); }, args...);
    if (!done) return done.error();
    return out;
  }
  // read(row) of the first row; nullopt when there is none.
  template <class Read, class... Args>
  auto fetch_one(const detail::Sql& sql, std::string_view what, Read&& read, const Args&... args)
      -> Result<std::optional<std::invoke_result_t<Read&, const Stmt&>>> {
    auto stmt = prepare(sql.view(), what);
    if (!stmt) return stmt.error();
    auto row = stmt->bind(args...).step();
    if (!row) return row.error();
    if (!*row) return std::nullopt;
    return read(std::as_const(*stmt));
  }

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
  int busy_timeout_ms_ = 5000;
  std::unordered_map<std::string, Cached, Hash, std::equal_to<>> cache_;
};

// BEGIN takes its locks lazily; BEGIN IMMEDIATE takes the write lock at once, so two writers
// queue on busy_timeout instead of failing on lock upgrade.
using Transaction = detail::Transaction<Connection>;

}  // namespace honeyman::store::sqlite
