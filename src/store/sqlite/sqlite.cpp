#include "store/sqlite/detail/sqlite.hpp"

#include <string>

namespace honeyman::store::sqlite {
namespace {

// Pages held in memory per connection, in KiB when negative (SQLite's convention): 32 MiB keeps
// the hot index pages of a few million threats cached without growing without bound.
constexpr const char* kCacheSize = "PRAGMA cache_size = -32768";
// Reads through mmap avoid a copy per page; 256 MiB of address space per connection.
constexpr const char* kMmapSize = "PRAGMA mmap_size = 268435456";
constexpr std::size_t kMaxCachedStatements = 128;

Errc errc_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return Errc::unavailable;
    case SQLITE_CONSTRAINT:
      return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ? Errc::conflict
                                                                                  : Errc::internal;
    default:
      return Errc::internal;
  }
}

// `$N` (PostgreSQL's spelling, which statements shared by both stores use) → `?N`, outside
// quoted literals and identifiers. SQLite would read `$1` as a parameter *named* "$1" and number
// named parameters by first appearance, not by their digits.
std::string sqlite_numbering(std::string_view sql) {
  std::string out(sql);
  char quote = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '$' && i + 1 < out.size() && out[i + 1] >= '0' && out[i + 1] <= '9') {
      out[i] = '?';
    }
  }
  return out;
}

}  // namespace

std::string placeholders(std::size_t n) {
  std::string out;
  out.reserve(n * 3);
  for (std::size_t i = 0; i < n; ++i) out += i == 0 ? "?" : ", ?";
  return out;
}

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  // sqlite3_errmsg describes the latest failure on `db` (callers report at once); without a
  // handle, or when it describes something else, use the generic text of `rc`.
  const char* text = db != nullptr && (sqlite3_errcode(db) & 0xff) == (rc & 0xff)
                         ? sqlite3_errmsg(db)
                         : sqlite3_errstr(rc);
  return make_error(errc_for(rc), std::string(what) + ": " + text);
}

// ---------------------------------------------------------------------------------------------
Stmt::Stmt(sqlite3_stmt* stmt, bool* in_use, SqliteStmt owned, std::string_view what)
    : stmt_(stmt), in_use_(in_use), owned_(std::move(owned)), what_(what) {}

Stmt::Stmt(Stmt&& other) noexcept
    : stmt_(other.stmt_),
      in_use_(other.in_use_),
      owned_(std::move(other.owned_)),
      what_(other.what_),
      next_(other.next_),
      bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
  other.in_use_ = nullptr;
}

Stmt::~Stmt() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (in_use_ != nullptr) *in_use_ = false;
}

void Stmt::check_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  ++next_;
}

void Stmt::bind_one(std::int64_t v) {
  check_bind(sqlite3_bind_int64(stmt_, next_, v));
}
void Stmt::bind_one(double v) {
  check_bind(sqlite3_bind_double(stmt_, next_, v));
}
void Stmt::bind_one(std::nullopt_t) {
  check_bind(sqlite3_bind_null(stmt_, next_));
}
void Stmt::bind_one(std::string_view v) {
  // SQLITE_TRANSIENT copies: arguments are often temporaries that die before step().
  check_bind(sqlite3_bind_text64(stmt_, next_, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}
void Stmt::bind_one(const SqlValue& value) {
  switch (value.kind) {
    case SqlValue::Kind::null:
      bind_one(std::nullopt);
      break;
    case SqlValue::Kind::integer:
      bind_one(value.integer);
      break;
    case SqlValue::Kind::real:
      bind_one(value.real);
      break;
    case SqlValue::Kind::text:
      bind_one(std::string_view(value.text));
      break;
  }
}

void Stmt::bind_one(detail::Blob v) {
  check_bind(sqlite3_bind_blob64(stmt_, next_, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT));
}

Result<bool> Stmt::step() {
  sqlite3* db = sqlite3_db_handle(stmt_);
  if (bind_rc_ != SQLITE_OK) return sqlite_error(db, bind_rc_, what_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db, sqlite3_extended_errcode(db), what_);
}

Status Stmt::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) return {};
  }
}

void Stmt::reset() {
  next_ = 1;
  bind_rc_ = SQLITE_OK;
  // A step error was already reported by step(); reset's return code only repeats it.
  sqlite3_reset(stmt_);
}

bool Stmt::is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}
std::int64_t Stmt::i64(int col) const {
  return sqlite3_column_int64(stmt_, col);
}
double Stmt::f64(int col) const {
  return sqlite3_column_double(stmt_, col);
}

std::string Stmt::text(int col) const {
  return std::string(view(col));
}

std::string_view Stmt::view(int col) const {
  const auto* data = sqlite3_column_blob(stmt_, col);  // works for TEXT too, without conversion
  auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col));
  return data == nullptr ? std::string_view()
                         : std::string_view(static_cast<const char*>(data), size);
}

// ---------------------------------------------------------------------------------------------
Result<std::unique_ptr<Connection>> Connection::open(const ConnectionOptions& options) {
  // NOMUTEX: each connection is used by one thread at a time (writer mutex / reader pool).
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (options.uri) flags |= SQLITE_OPEN_URI;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(options.filename.c_str(), &raw, flags, nullptr);
  SqliteDb db(raw);  // closed on every path, even when open failed
  if (rc != SQLITE_OK) return sqlite_error(raw, rc, "open database");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  std::unique_ptr<Connection> conn(new Connection(std::move(db)));
  conn->busy_timeout_ms_ = options.busy_timeout_ms;
  if (auto s = conn->configure(options); !s) return s.error();
  return conn;
}

Status Connection::configure(const ConnectionOptions& options) {
  if (!options.memory && options.writer) {
    // WAL lets readers run beside the writer. synchronous=FULL syncs the WAL at every commit:
    // NORMAL would lose the last commits on power loss, and a 201 promises durability. Group
    // commit (one transaction per ingest batch) keeps the fsync count low.
    if (auto s = exec("PRAGMA journal_mode = WAL", "enable WAL"); !s) return s;
    // Bound the WAL file after checkpoints instead of letting it keep its peak size.
    if (auto s = exec("PRAGMA journal_size_limit = 67108864", "configure"); !s) return s;
  }
  if (auto s = exec("PRAGMA synchronous = FULL", "configure"); !s) return s;
  if (auto s = exec("PRAGMA foreign_keys = ON", "configure"); !s) return s;
  if (auto s = exec("PRAGMA temp_store = MEMORY", "configure"); !s) return s;
  if (auto s = exec(kCacheSize, "configure"); !s) return s;
  if (!options.memory)
    if (auto s = exec(kMmapSize, "configure"); !s) return s;
  if (!options.writer)
    if (auto s = exec("PRAGMA query_only = ON", "configure"); !s) return s;
  return {};
}

Result<Stmt> Connection::prepare(std::string_view sql, std::string_view what) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Stmt(it->second.stmt.get(), &it->second.in_use, nullptr, what);
  }
  auto text = sqlite_numbering(sql);
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), text.data(), static_cast<int>(text.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK) return sqlite_error(db_.get(), rc, what);
  if (it != cache_.end()) return Stmt(raw, nullptr, std::move(stmt), what);  // cached one busy
  auto [slot, inserted] = cache_.emplace(std::string(sql), Cached{std::move(stmt), true});
  return Stmt(raw, &slot->second.in_use, nullptr, what);
}

Status Connection::exec(const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_.get(), sqlite3_extended_errcode(db_.get()), what);
  return {};
}

void Connection::trim_cache() {
  if (cache_.size() > kMaxCachedStatements) cache_.clear();
}

}  // namespace honeyman::store::sqlite
