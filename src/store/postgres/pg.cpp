#include "store/postgres/detail/pg.hpp"

#include <poll.h>

#include <charconv>
#include <cstdlib>

namespace honeyman::store::pg {
namespace {

// Connection exceptions (08), operator intervention (57P0x: shutdown, cannot connect now),
// insufficient resources (53), lock timeouts (55P03), and the transaction rollbacks (40) that a
// retry resolves are the database being unavailable right now, not a bug.
Errc errc_for(std::string_view state) {
  if (state == "23505") return Errc::conflict;
  if (state.starts_with("08") || state.starts_with("53") || state.starts_with("57P") ||
      state == "55P03" || state.starts_with("40"))
    return Errc::unavailable;
  // Text the database cannot store (NUL bytes, bad encoding), numbers out of range.
  if (state == "22021" || state == "22P05" || state == "22003" || state == "22P02")
    return Errc::invalid_input;
  return Errc::internal;
}

std::string trimmed(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

std::string format_double(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
Params& Params::add(std::int64_t v) {
  values_.push_back(std::to_string(v));
  null_.push_back(false);
  return *this;
}

Params& Params::add(bool v) {
  values_.emplace_back(v ? "t" : "f");
  null_.push_back(false);
  return *this;
}

Params& Params::add(double v) {
  values_.push_back(format_double(v));
  null_.push_back(false);
  return *this;
}

Params& Params::add(std::string_view v) {
  values_.emplace_back(v);
  null_.push_back(false);
  return *this;
}

Params& Params::add(std::nullopt_t) {
  values_.emplace_back();
  null_.push_back(true);
  return *this;
}

Params& Params::add(Blob v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + v.bytes.size() * 2);
  for (unsigned char c : v.bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  values_.push_back(std::move(out));
  null_.push_back(false);
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i)
    out.push_back(null_[i] ? nullptr : values_[i].c_str());
  return out;
}

ArrayLiteral& ArrayLiteral::add(std::string_view v) {
  separate();
  append_quoted(out_, v);
  return *this;
}

ArrayLiteral& ArrayLiteral::add(std::int64_t v) {
  separate();
  out_ += std::to_string(v);
  return *this;
}

ArrayLiteral& ArrayLiteral::add(double v) {
  separate();
  out_ += format_double(v);
  return *this;
}

std::string text_array(const std::vector<std::string>& values) {
  ArrayLiteral a;
  for (const auto& v : values) a.add(v);
  return std::move(a).text();
}

std::string int_array(const std::vector<std::int64_t>& values) {
  ArrayLiteral a;
  for (auto v : values) a.add(v);
  return std::move(a).text();
}

// ---------------------------------------------------------------------------------------------
std::string_view Row::view(int col) const {
  return {PQgetvalue(result_, row_, col),
          static_cast<std::size_t>(PQgetlength(result_, row_, col))};
}

std::int64_t Row::i64(int col) const {
  auto v = view(col);
  std::int64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}

double Row::f64(int col) const {
  // strtod rather than from_chars: it also reads "Infinity"/"NaN" as PostgreSQL spells them.
  return std::strtod(PQgetvalue(result_, row_, col), nullptr);
}

std::string Row::blob(int col) const {
  auto v = view(col);
  std::string out;
  if (!v.starts_with("\\x")) return out;
  v.remove_prefix(2);
  out.reserve(v.size() / 2);
  for (std::size_t i = 0; i + 1 < v.size(); i += 2)
    out += static_cast<char>(hex_value(v[i]) * 16 + hex_value(v[i + 1]));
  return out;
}

std::int64_t Rows::affected() const {
  const char* n = PQcmdTuples(result_.get());
  return n != nullptr && *n != '\0' ? std::strtoll(n, nullptr, 10) : 0;
}

// ---------------------------------------------------------------------------------------------
Result<std::unique_ptr<Connection>> Connection::open(const std::string& conninfo,
                                                     const std::string& setup) {
  PgConn conn(PQconnectdb(conninfo.c_str()));
  if (!conn) return make_error(Errc::unavailable, "PostgreSQL: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK)
    return make_error(Errc::unavailable,
                      "cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(conn.get())));
  // Server notices ("relation already exists, skipping") are not errors; libpq would print
  // them on stderr.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  auto c = std::unique_ptr<Connection>(new Connection(std::move(conn)));
  if (auto s = c->exec(setup, "configure connection"); !s) return s.error();
  return c;
}

Error Connection::failure(const PGresult* result, std::string_view what) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state != nullptr ? state : "";
  std::string message = result != nullptr ? trimmed(PQresultErrorMessage(result)) : "";
  if (message.empty()) message = trimmed(PQerrorMessage(conn_.get()));
  auto code = broken() ? Errc::unavailable : errc_for(last_sqlstate_);
  if (last_sqlstate_.empty() && !broken()) code = Errc::internal;
  return make_error(code, std::string(what) + ": " + message);
}

Result<Rows> Connection::check(PgResult result, std::string_view what) {
  auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    ++progress_;
    return Rows(std::move(result));
  }
  return failure(result.get(), what);
}

Result<Rows> Connection::run(const Sql& sql, const Params& params, std::string_view what) {
  if (sql.is_per_call()) return run_once(sql, params, what);
  auto it = prepared_.find(sql.view());
  if (it == prepared_.end()) {
    auto name = "hm" + std::to_string(prepared_.size() + 1);
    auto prepared =
        check(PgResult(PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr)), what);
    if (!prepared) return prepared.error();
    it = prepared_.emplace(std::string(sql.view()), std::move(name)).first;
  }
  auto values = params.pointers();
  return check(PgResult(PQexecPrepared(conn_.get(), it->second.c_str(), params.size(),
                                       values.data(), nullptr, nullptr, 0)),
               what);
}

Result<Rows> Connection::run_once(const Sql& sql, const Params& params, std::string_view what) {
  auto values = params.pointers();
  return check(PgResult(PQexecParams(conn_.get(), sql.c_str(), params.size(), nullptr,
                                     values.data(), nullptr, nullptr, 0)),
               what);
}

Status Connection::exec(const Sql& sql, std::string_view what) {
  auto r = check(PgResult(PQexec(conn_.get(), sql.c_str())), what);
  if (!r) return r.error();
  return {};
}

Status Connection::copy_in(const Sql& copy_sql, std::string_view data, std::string_view what) {
  PgResult start(PQexec(conn_.get(), copy_sql.c_str()));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) return failure(start.get(), what);
  // libpq buffers and sends in its own chunks; one call hands over the whole batch.
  bool sent = PQputCopyData(conn_.get(), data.data(), static_cast<int>(data.size())) == 1;
  if (PQputCopyEnd(conn_.get(), sent ? nullptr : "client failed to send COPY data") != 1)
    return failure(nullptr, what);
  Status outcome;
  while (PgResult r{PQgetResult(conn_.get())}) {
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && outcome) outcome = failure(r.get(), what);
  }
  if (outcome) ++progress_;
  return outcome;
}

bool Connection::healthy() {
  if (broken()) return false;
  // An idle connection has nothing to read; anything readable is the server saying goodbye
  // (restart, idle timeout), which consuming it turns into CONNECTION_BAD.
  pollfd p{PQsocket(conn_.get()), POLLIN, 0};
  if (p.fd < 0) return false;
  if (poll(&p, 1, 0) > 0) {
    if (PQconsumeInput(conn_.get()) == 0) return false;
    while (PGnotify* n = PQnotifies(conn_.get())) PQfreemem(n);
  }
  return !broken();
}

// ---------------------------------------------------------------------------------------------
bool is_retryable_sqlstate(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";  // serialization failure, deadlock
}

}  // namespace honeyman::store::pg
