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
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "core/core.hpp"
#include "store/detail/sql.hpp"

namespace honeyman::store::pg {

using detail::Blob;
using detail::Sql;

using PgConn = std::unique_ptr<PGconn, detail::FreeWith<PQfinish>>;
using PgResult = std::unique_ptr<PGresult, detail::FreeWith<PQclear>>;

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
  Params& add(Blob v);  // a bytea value (hex form)
  Params& add(std::nullopt_t);
  template <class T>
  Params& add(const std::optional<T>& v) {
    return v ? add(*v) : add(std::nullopt);
  }

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object: valid until it is next modified.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

// Array literals for `$n::text[]` / `$n::bigint[]` / `$n::float8[]` parameters (unnest batches,
// IN-lists), so one prepared statement serves any number of values.
class ArrayLiteral {
 public:
  ArrayLiteral& add(std::string_view v);  // quoted
  ArrayLiteral& add(std::int64_t v);
  ArrayLiteral& add(int v) { return add(static_cast<std::int64_t>(v)); }
  ArrayLiteral& add(double v);
  std::string text() && { return std::move(out_.append("}")); }

 private:
  void separate() {
    if (out_.size() > 1) out_ += ',';
  }
  std::string out_ = "{";
};
std::string text_array(const std::vector<std::string>& values);
std::string int_array(const std::vector<std::int64_t>& values);

// One row of a result, read by column index.
class Row : public detail::RowReader<Row> {
 public:
  Row(const PGresult* result, int row) : result_(result), row_(row) {}
  bool is_null(int col) const { return PQgetisnull(result_, row_, col) != 0; }
  std::string_view view(int col) const;
  std::string text(int col) const { return std::string(view(col)); }
  std::int64_t i64(int col) const;
  double f64(int col) const;
  bool boolean(int col) const { return view(col) == "t"; }
  std::string blob(int col) const;  // a bytea, decoded from the hex output form

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
  using Row = pg::Row;

  // Connects and runs `setup` (SET statements) once. Errc::unavailable when the server cannot
  // be reached.
  static Result<std::unique_ptr<Connection>> open(const std::string& conninfo,
                                                  const std::string& setup);

  // A statement prepared on this connection on first use, or planned at each call when `sql` is
  // per_call. `what` names the operation in error messages.
  Result<Rows> run(const Sql& sql, const Params& params, std::string_view what);
  // A statement whose text is built per call (filters): parsed each time, never cached.
  Result<Rows> run_once(const Sql& sql, const Params& params, std::string_view what);
  // Statements without parameters: BEGIN/COMMIT, DDL scripts.
  Status exec(const Sql& sql, std::string_view what);
  // COPY ... FROM STDIN with `data` in COPY text format.
  Status copy_in(const Sql& copy_sql, std::string_view data, std::string_view what);

  // The calls shared with the SQLite store: each runs `sql` (see run()) with `args` as $1, $2,
  // ... (anything Params::add takes, or one Params). execute() returns the rows changed.
  template <class... Args>
  Result<std::int64_t> execute(const Sql& sql, std::string_view what, const Args&... args) {
    auto rows = query(sql, what, args...);
    if (!rows) return rows.error();
    return rows->affected();
  }
  // Calls on_row(row) for each row.
  template <class OnRow, class... Args>
  Status for_each(const Sql& sql, std::string_view what, OnRow&& on_row, const Args&... args) {
    auto rows = query(sql, what, args...);
    if (!rows) return rows.error();
    for (int i = 0; i < rows->size(); ++i) on_row((*rows)[i]);
    return {};
  }
  // read(row) for each row.
  template <class Read, class... Args>
  auto fetch_all(const Sql& sql, std::string_view what, Read&& read, const Args&... args)
      -> Result<std::vector<std::invoke_result_t<Read&, const Row&>>> {
    auto rows = query(sql, what, args...);
    if (!rows) return rows.error();
    return collect(*rows, read);
  }
  // read(row) of the first row; nullopt when there is none.
  template <class Read, class... Args>
  auto fetch_one(const Sql& sql, std::string_view what, Read&& read, const Args&... args)
      -> Result<std::optional<std::invoke_result_t<Read&, const Row&>>> {
    auto rows = query(sql, what, args...);
    if (!rows) return rows.error();
    if (rows->empty()) return std::nullopt;
    return read((*rows)[0]);
  }

  // False once libpq has seen the connection break, or the server has closed it while idle.
  bool healthy();
  bool broken() const { return PQstatus(conn_.get()) == CONNECTION_BAD; }
  bool can_roll_back() const { return !broken(); }
  bool idle() const { return PQtransactionStatus(conn_.get()) == PQTRANS_IDLE; }
  // SQLSTATE of the latest failed statement ("" when it failed without one).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  void clear_sqlstate() { last_sqlstate_.clear(); }
  // Statements that succeeded since the last reset_progress(): a failure on a broken connection
  // with none before it changed nothing and may be retried on a new connection.
  int progress() const { return progress_; }
  void reset_progress() { progress_ = 0; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  explicit Connection(PgConn conn) : conn_(std::move(conn)) {}
  template <class... Args>
  Result<Rows> query(const Sql& sql, std::string_view what, const Args&... args) {
    if constexpr (sizeof...(Args) == 1 && (std::is_same_v<Args, Params> && ...))
      return run(sql, args..., what);
    else
      return run(sql, Params(args...), what);
  }
  Result<Rows> check(PgResult result, std::string_view what);
  Error failure(const PGresult* result, std::string_view what);

  PgConn conn_;
  // SQL text -> statement name
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> prepared_;
  std::string last_sqlstate_;
  int progress_ = 0;
};

// A transaction that rolls back unless committed; begun with BEGIN or a BEGIN that sets the
// isolation level and access mode.
using Transaction = detail::Transaction<Connection>;

// SQLSTATEs on which a whole transaction may simply be run again.
bool is_retryable_sqlstate(std::string_view sqlstate);

}  // namespace honeyman::store::pg
