// What the two SQL backends' thin driver wrappers (sqlite/detail/sqlite.hpp,
// postgres/detail/pg.hpp) have in common, so that code written once over either (sql_store.hpp)
// sees one vocabulary: statement texts, typed row reads, byte-string parameters, C-handle
// ownership and transactions. No driver header is included here: each backend fills these in
// inside its own folder.
//
// Statement texts number their parameters PostgreSQL's way, `$1`, `$2`, ... (SQLite's wrapper
// rewrites them to its `?1`, `?2`, ... when it prepares the statement), and arguments are bound
// in that order.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/core.hpp"
#include "store/store.hpp"

namespace honeyman::store::detail {

// Reports one migration to a MigrationProgress: the start when made, the end (with the time it
// took) on done(). A migration that fails reports no end.
class MigrationTimer {
 public:
  MigrationTimer(int version, std::string_view name, const MigrationProgress& progress)
      : step_{version, name, false, {}},
        progress_(progress),
        began_(std::chrono::steady_clock::now()) {
    if (progress_) progress_(step_);
  }
  void done() {
    step_.done = true;
    step_.took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - began_);
    if (progress_) progress_(step_);
  }

 private:
  MigrationStep step_;
  const MigrationProgress& progress_;
  std::chrono::steady_clock::time_point began_;
};

// The deleter of a C handle: std::unique_ptr<sqlite3, FreeWith<sqlite3_close_v2>>.
template <auto Free>
struct FreeWith {
  template <class T>
  void operator()(T* handle) const noexcept {
    Free(handle);
  }
};

// A statement's text, passed for the duration of one call. Only built from a C string or a
// std::string, so the drivers get a NUL-terminated text without a copy.
//
// PostgreSQL prepares a statement once per connection and reuses its plan, unless it is marked
// `per_call`: texts built for one request (filters, partial updates) would pile up as prepared
// statements, and some queries of the partitioned `threats` need their values at planning time.
// SQLite prepares and caches both kinds alike.
class Sql {
 public:
  // Implicit on purpose: calls read conn.execute("UPDATE ...", ...).
  Sql(const char* text) : text_(text), size_(std::strlen(text)) {}
  Sql(const std::string& text) : text_(text.c_str()), size_(text.size()) {}

  const char* c_str() const { return text_; }
  std::string_view view() const { return {text_, size_}; }
  bool is_per_call() const { return per_call_; }

  friend Sql per_call(const std::string& text);

 private:
  const char* text_;
  std::size_t size_;
  bool per_call_ = false;
};

// `text`, to be planned at each call (see Sql).
inline Sql per_call(const std::string& text) {
  Sql sql(text);
  sql.per_call_ = true;
  return sql;
}

// Turns a Result<T> into a Status (for statements whose result is not needed).
template <class T>
Status status_of(const Result<T>& r) {
  if (!r) return r.error();
  return {};
}

// The value of a fetch_one() that found a row, or Errc::not_found with `message`.
template <class T>
Result<T> found_or(Result<std::optional<T>> row, std::string_view message) {
  if (!row) return row.error();
  if (!*row) return make_error(Errc::not_found, std::string(message));
  return std::move(**row);
}

// " WHERE c1 AND c2 ...", or "" without conditions.
std::string where_clause(const std::vector<std::string>& conditions);

// "$first, $first+1, ..." for `n` parameters (VALUES lists).
std::string param_list(int first, int n);
// "$n": a parameter's placeholder in a text built at run time.
std::string param(int n);

// One field of a bulk triage change as SQL over a `threats` row, for the backend to build the
// history's {field: [old, new]} from (changes_json), with only the fields whose `condition`
// holds in that row.
struct JsonChange {
  std::string field;      // the JSON key (a literal)
  std::string condition;  // true when the row's value changes
  std::string old_value;  // the row's current value, as a text expression
  std::string new_value;  // the new value, a text parameter (NULL: none)
};

// Bytes that need not be UTF-8 (dead-letter payloads): bound as a BLOB (SQLite) or a bytea
// (PostgreSQL), read back with Row::blob().
struct Blob {
  std::string_view bytes;
};

// The typed reads both backends' rows offer, built on the four a backend defines for its
// storage: is_null, i64, f64 and text (boolean and blob differ by backend and are its own).
// Columns are numbered from 0.
template <class Row>
class RowReader {
 public:
  Timestamp time(int col) const { return from_unix_micros(row().i64(col)); }
  std::optional<std::int64_t> opt_i64(int col) const {
    if (row().is_null(col)) return std::nullopt;
    return row().i64(col);
  }
  std::optional<double> opt_f64(int col) const {
    if (row().is_null(col)) return std::nullopt;
    return row().f64(col);
  }
  std::optional<std::string> opt_text(int col) const {
    if (row().is_null(col)) return std::nullopt;
    return row().text(col);
  }
  std::optional<Timestamp> opt_time(int col) const {
    if (row().is_null(col)) return std::nullopt;
    return time(col);
  }

 private:
  const Row& row() const { return static_cast<const Row&>(*this); }
};

// A connection borrowed from `Pool` for one call, handed back (Pool::give_back) when the lease
// ends. Moving a lease moves the duty to hand it back.
template <class Pool, class Connection>
class Lease {
 public:
  Lease(Pool& pool, std::unique_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}
  Lease(Lease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (pool_ != nullptr) pool_->give_back(std::move(conn_));
  }
  Connection& operator*() const { return *conn_; }

 private:
  Pool* pool_;
  std::unique_ptr<Connection> conn_;
};

// A transaction that rolls back unless committed. `Connection` runs parameterless statements
// with exec(text, what) and says with can_roll_back() whether a ROLLBACK can still reach the
// database. Not thread-safe, like the connection.
template <class Connection>
class Transaction {
 public:
  // Runs `begin` (BEGIN, BEGIN IMMEDIATE, BEGIN ISOLATION LEVEL ...). `what` names the
  // operation in error messages and must outlive the transaction (pass a literal).
  static Result<Transaction> begin(Connection& conn, const char* begin, std::string_view what) {
    if (auto s = conn.exec(begin, what); !s) return s.error();
    return Transaction(conn, what);
  }
  Transaction(Transaction&& other) noexcept
      : conn_(std::exchange(other.conn_, nullptr)), what_(other.what_) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (conn_ != nullptr && conn_->can_roll_back()) (void)conn_->exec("ROLLBACK", what_);
  }

  // A failed COMMIT can leave the transaction open (SQLite's SQLITE_BUSY): the destructor then
  // rolls it back. (PostgreSQL ends a transaction whose COMMIT failed; the ROLLBACK is a no-op.)
  Status commit() {
    auto s = conn_->exec("COMMIT", what_);
    if (s) conn_ = nullptr;
    return s;
  }

 private:
  Transaction(Connection& conn, std::string_view what) : conn_(&conn), what_(what) {}
  Connection* conn_;
  std::string_view what_;
};

// fn(conn) inside a transaction begun with `begin`. With `commit`, committed when fn succeeds;
// without (a read-only snapshot), rolled back once fn is done. Returns fn's Result or Status.
template <class Connection, class Fn>
auto in_transaction(Connection& conn, const char* begin, std::string_view what, Fn& fn,
                    bool commit = true) -> decltype(fn(conn)) {
  auto txn = Transaction<Connection>::begin(conn, begin, what);
  if (!txn) return txn.error();
  auto result = fn(conn);
  if (!result || !commit) return result;
  if (auto s = txn->commit(); !s) return s.error();
  return result;
}

}  // namespace honeyman::store::detail
