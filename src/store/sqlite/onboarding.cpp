// Onboarding tokens and dead letters.
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::detail {
namespace {

constexpr const char* kSelectToken =
    "SELECT token_hash, sensor_name, description, created_by, created_at, expires_at, used_at, "
    "used_by_sensor FROM onboarding_tokens WHERE token_hash = ?";

OnboardingToken read_token(const Stmt& row) {
  return OnboardingToken{row.text(0), row.text(1), row.opt_text(2), row.text(3),
                         row.time(4), row.time(5), row.opt_time(6), row.opt_text(7)};
}

Result<OnboardingToken> find_token(Connection& conn, std::string_view hash) {
  auto stmt = conn.prepare(kSelectToken, "find onboarding token");
  if (!stmt) return stmt.error();
  auto row = stmt->bind(hash).step();
  if (!row) return row.error();
  if (!*row) return make_error(Errc::not_found, "Onboarding token not found");
  return read_token(*stmt);
}

}  // namespace

Status SqliteStore::create_onboarding_token(const OnboardingToken& t) {
  return with_writer([&](Connection& conn) -> Status {
    auto stmt = conn.prepare(
        "INSERT INTO onboarding_tokens (token_hash, sensor_name, description, created_by, "
        "created_at, expires_at, used_at, used_by_sensor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        "create onboarding token");
    if (!stmt) return stmt.error();
    stmt->bind(t.token_hash, t.sensor_name, t.description, t.created_by, t.created_at, t.expires_at,
               t.used_at, t.used_by_sensor);
    return stmt->run();
  });
}

Result<OnboardingToken> SqliteStore::find_onboarding_token(std::string_view token_hash) {
  return with_reader([&](Connection& conn) { return find_token(conn, token_hash); });
}

// The conditional UPDATE is the whole guarantee: of concurrent consumers, exactly one changes a
// row; everyone else sees zero changes.
Result<OnboardingToken> SqliteStore::consume_onboarding_token(std::string_view token_hash,
                                                              std::string_view sensor_id,
                                                              Timestamp now) {
  return with_writer([&](Connection& conn) -> Result<OnboardingToken> {
    auto stmt = conn.prepare(
        "UPDATE onboarding_tokens SET used_at = ?, used_by_sensor = ? "
        "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        "consume onboarding token");
    if (!stmt) return stmt.error();
    if (auto s = stmt->bind(now, sensor_id, token_hash, now).run(); !s) return s.error();
    if (conn.changes() == 0)
      return make_error(Errc::unauthorized, "Invalid, expired or already used onboarding token");
    return find_token(conn, token_hash);
  });
}

Status SqliteStore::insert_dead_letters(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return {};
  return write_transaction("store dead letters", [&](Connection& conn) -> Status {
    auto stmt = conn.prepare(
        "INSERT INTO dead_letters (received_at, source, topic, reason, payload) "
        "VALUES (?, ?, ?, ?, ?)",
        "store dead letters");
    if (!stmt) return stmt.error();
    for (const auto& l : letters) {
      stmt->reset();
      stmt->bind(l.received_at, l.source, l.topic, l.reason).bind_blob(l.payload);
      if (auto s = stmt->run(); !s) return s;
    }
    return {};
  });
}

Result<std::vector<DeadLetter>> SqliteStore::list_dead_letters(int limit) {
  return with_reader([&](Connection& conn) -> Result<std::vector<DeadLetter>> {
    auto stmt = conn.prepare(
        "SELECT id, received_at, source, topic, reason, payload FROM dead_letters "
        "ORDER BY id DESC LIMIT ?",
        "list dead letters");
    if (!stmt) return stmt.error();
    stmt->bind(std::max(limit, 0));
    return collect_rows(*stmt, [](const Stmt& row) {
      return DeadLetter{row.i64(0),  row.time(1), row.text(2),
                        row.text(3), row.text(4), row.text(5)};
    });
  });
}

}  // namespace honeyman::store::detail
