// libpq behind RAII: connections with a per-connection prepared-statement cache, text-format
// parameters, typed reads of results, COPY, transactions, and the mapping of SQLSTATEs onto
// Errc. Private to the PostgreSQL store; store.hpp never sees a libpq type.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/core.hpp"

namespace honeyman::store::pg {

struct PgConnClose {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnClose>;

struct PgResultClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultClear>;

// Statement parameters, all sent in text format (PostgreSQL parses them by the statement's
// declared or inferred types; SQL casts them where inference is ambiguous).
class Params {
 public:
  template <class... Args>
  explicit Params(const Args&... args) {
    (add(args), ...);
  }
  Params& add(std::int64_t v);
  Params& add(int v) { return add(static_cast<std::int64_t>(v)); }
  Params& add(bool v);
  Params& add(double v);
  Params& add(std::string_view v);
  Params& add(const std::string& v) { return add(std::string_view(v)); }
  Params& add(const char* v) { return add(std::string_view(v)); }
  Params& add(Timestamp v) { return add(to_unix_micros(v)); }
  Params& add(std::nullopt_t);
  template <class T>
  Params& add(const std::optional<T>& v) {
    return v ? add(*v) : add(std::nullopt);
  }
  // `bytes` as a bytea value (hex form), for payloads that may not be UTF-8.
  Params& add_bytea(std::string_view bytes);

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object: valid until it is next modified.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

// Array literals for `$n::text[]` / `$n::bigint[]` / `$n::float8[]` parameters (unnest batches,
// IN-lists), so one prepared statement serves any number of values.
std::string text_array(const std::vector<std::string>& values);
std::string int_array(const std::vector<std::int64_t>& values);
std::string float_array(const std::vector<double>& values);

// One row of a result, read by column index.
class Row {
 public:
  Row(const PGresult* result, int row) : result_(result), row_(row) {}
  bool is_null(int col) const { return PQgetisnull(result_, row_, col) != 0; }
  std::string_view view(int col) const;
  std::string text(int col) const { return std::string(view(col)); }
  std::int64_t i64(int col) const;
  double f64(int col) const;
  bool boolean(int col) const { return view(col) == "t"; }
  Timestamp time(int col) const { return from_unix_micros(i64(col)); }
  std::string bytea(int col) const;  // decodes the hex output form
  std::optional<std::string> opt_text(int col) const;
  std::optional<std::int64_t> opt_i64(int col) const;
  std::optional<double> opt_f64(int col) const;
  std::optional<Timestamp> opt_time(int col) const;

 private:
  const PGresult* result_;
  int row_;
};

// A statement's result: its rows and, for INSERT/UPDATE/DELETE, the affected count.
class Rows {
 public:
  explicit Rows(PgResult result) : result_(std::move(result)) {}
  int size() const { return PQntuples(result_.get()); }
  bool empty() const { return size() == 0; }
  Row operator[](int row) const { return Row(result_.get(), row); }
  std::int64_t affected() const;

 private:
  PgResult result_;
};

// Reads every row into a vector.
template <class Read>
auto collect(const Rows& rows, Read read) -> std::vector<decltype(read(rows[0]))> {
  std::vector<decltype(read(rows[0]))> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(read(rows[i]));
  return out;
}

// One libpq connection. Used by one thread at a time (a pool lease).
class Connection {
 public:
  // Connects and runs `setup` (SET statements) once. Errc::unavailable when the server cannot
  // be reached.
  static Result<std::unique_ptr<Connection>> open(const std::string& conninfo,
                                                  const std::string& setup);

  // A fixed statement, prepared on this connection on first use. `what` names the operation in
  // error messages.
  Result<Rows> run(const std::string& sql, const Params& params, std::string_view what);
  // A statement whose text is built per call (filters): parsed each time, never cached.
  Result<Rows> run_once(const std::string& sql, const Params& params, std::string_view what);
  // Statements without parameters: BEGIN/COMMIT, DDL scripts.
  Status exec(const std::string& sql, std::string_view what);
  // COPY ... FROM STDIN with `data` in COPY text format.
  Status copy_in(const std::string& copy_sql, std::string_view data, std::string_view what);

  // False once libpq has seen the connection break, or the server has closed it while idle.
  bool healthy();
  bool broken() const { return PQstatus(conn_.get()) == CONNECTION_BAD; }
  bool idle() const { return PQtransactionStatus(conn_.get()) == PQTRANS_IDLE; }
  // SQLSTATE of the latest failed statement ("" when it failed without one).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  void clear_sqlstate() { last_sqlstate_.clear(); }
  // Statements that succeeded since the last reset_progress(): a failure on a broken connection
  // with none before it changed nothing and may be retried on a new connection.
  int progress() const { return progress_; }
  void reset_progress() { progress_ = 0; }

 private:
  explicit Connection(PgConn conn) : conn_(std::move(conn)) {}
  Result<Rows> check(PgResult result, std::string_view what);
  Error failure(const PGresult* result, std::string_view what);

  PgConn conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::string last_sqlstate_;
  int progress_ = 0;
};

// A transaction that rolls back unless committed.
class Transaction {
 public:
  // `begin` is the BEGIN statement (isolation level, read only).
  static Result<Transaction> begin(Connection& conn, std::string_view what,
                                   const char* begin = "BEGIN");
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

// SQLSTATEs on which a whole transaction may simply be run again.
bool is_retryable_sqlstate(std::string_view sqlstate);

}  // namespace honeyman::store::pg
