// Sessions (refresh-token families), refresh-token rotation and revoked access tokens.
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::detail {
namespace {

struct PresentedToken {
  std::string session_id, user_id;
  Timestamp token_expires_at, session_expires_at;
  bool used = false;
  bool session_revoked = false;
};

Result<std::optional<PresentedToken>> find_presented(Connection& conn, std::string_view hash) {
  auto stmt = conn.prepare(
      "SELECT r.session_id, s.user_id, r.expires_at, s.expires_at, r.used_at IS NOT NULL, "
      "s.revoked_at IS NOT NULL FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id "
      "WHERE r.token_hash = ?",
      "rotate refresh token");
  if (!stmt) return stmt.error();
  auto row = stmt->bind(hash).step();
  if (!row) return row.error();
  if (!*row) return std::optional<PresentedToken>();
  return PresentedToken{stmt->text(0), stmt->text(1),    stmt->time(2),
                        stmt->time(3), stmt->boolean(4), stmt->boolean(5)};
}

Status revoke_family(Connection& conn, std::string_view session_id, Timestamp now) {
  auto stmt = conn.prepare("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           "revoke session");
  if (!stmt) return stmt.error();
  return stmt->bind(now, session_id).run();
}

Status insert_refresh_token(Connection& conn, std::string_view hash, std::string_view session_id,
                            Timestamp expires_at) {
  auto stmt = conn.prepare(
      "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (?, ?, ?)",
      "store refresh token");
  if (!stmt) return stmt.error();
  return stmt->bind(hash, session_id, expires_at).run();
}

// Spends `token` and makes `new_hash` live in the same family, which keeps the session's expiry.
Status spend(Connection& conn, std::string_view presented_hash, std::string_view new_hash,
             const PresentedToken& token, Timestamp now) {
  auto stmt = conn.prepare("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?",
                           "spend refresh token");
  if (!stmt) return stmt.error();
  if (auto s = stmt->bind(now, presented_hash).run(); !s) return s;
  return insert_refresh_token(conn, new_hash, token.session_id, token.session_expires_at);
}

}  // namespace

Status SqliteStore::create_session(const Session& session, std::string_view refresh_hash) {
  return write_transaction("create session", [&](Connection& conn) -> Status {
    auto stmt = conn.prepare(
        "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        "create session");
    if (!stmt) return stmt.error();
    stmt->bind(session.id, session.user_id, session.created_at, session.expires_at);
    if (auto s = stmt->run(); !s) return s;
    return insert_refresh_token(conn, refresh_hash, session.id, session.expires_at);
  });
}

// One BEGIN IMMEDIATE transaction: of two concurrent calls with the same token, the second sees
// it spent, so exactly one rotates and the other revokes the family.
Result<RotateResult> SqliteStore::rotate_refresh_token(std::string_view presented_hash,
                                                       std::string_view new_hash, Timestamp now) {
  return write_transaction("rotate refresh token", [&](Connection& conn) -> Result<RotateResult> {
    auto found = find_presented(conn, presented_hash);
    if (!found) return found.error();
    if (!*found) return RotateResult{};
    const auto& token = **found;
    RotateResult result{RotateOutcome::invalid, token.user_id, token.session_id};
    if (token.session_revoked) return result;
    if (token.used) {
      if (auto s = revoke_family(conn, token.session_id, now); !s) return s.error();
      result.outcome = RotateOutcome::reused;
      return result;
    }
    if (token.token_expires_at <= now || token.session_expires_at <= now) return result;
    if (auto s = spend(conn, presented_hash, new_hash, token, now); !s) return s.error();
    result.outcome = RotateOutcome::rotated;
    return result;
  });
}

Status SqliteStore::revoke_session(std::string_view session_id, Timestamp now) {
  return with_writer([&](Connection& conn) { return revoke_family(conn, session_id, now); });
}

Status SqliteStore::revoke_user_sessions(std::string_view user_id, Timestamp now) {
  return with_writer([&](Connection& conn) -> Status {
    auto stmt =
        conn.prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                     "revoke user sessions");
    if (!stmt) return stmt.error();
    return stmt->bind(now, user_id).run();
  });
}

Status SqliteStore::revoke_access_token(const RevokedToken& token) {
  return with_writer([&](Connection& conn) -> Status {
    auto stmt = conn.prepare(
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) "
        "ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
        "revoke access token");
    if (!stmt) return stmt.error();
    return stmt->bind(token.jti, token.expires_at).run();
  });
}

Result<std::vector<RevokedToken>> SqliteStore::revoked_access_tokens(Timestamp now) {
  return with_reader([&](Connection& conn) -> Result<std::vector<RevokedToken>> {
    auto stmt = conn.prepare("SELECT jti, expires_at FROM revoked_tokens WHERE expires_at > ?",
                             "list revoked tokens");
    if (!stmt) return stmt.error();
    stmt->bind(now);
    return collect_rows(*stmt, [](const Stmt& row) {
      return RevokedToken{row.text(0), row.time(1)};
    });
  });
}

}  // namespace honeyman::store::detail
