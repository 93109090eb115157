// Sessions (refresh-token families), refresh-token rotation and revoked access tokens.
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

struct PresentedToken {
  std::string session_id, user_id;
  Timestamp token_expires_at, session_expires_at;
  bool used = false;
  bool session_revoked = false;
};

// FOR UPDATE OF r, s: a concurrent rotation of the same token waits here until this
// transaction ends, then reads the token and its session as this one left them (spent,
// revoked). Locking only `r` would re-read the token but not the session.
Result<std::optional<PresentedToken>> find_presented(Connection& conn, std::string_view hash) {
  auto rows = conn.run(
      "SELECT r.session_id, s.user_id, r.expires_at, s.expires_at, r.used_at IS NOT NULL, "
      "s.revoked_at IS NOT NULL FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id "
      "WHERE r.token_hash = $1 FOR UPDATE OF r, s",
      Params(hash), "rotate refresh token");
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<PresentedToken>();
  auto row = (*rows)[0];
  return PresentedToken{row.text(0), row.text(1),    row.time(2),
                        row.time(3), row.boolean(4), row.boolean(5)};
}

Status revoke_family(Connection& conn, std::string_view session_id, Timestamp now) {
  auto r = conn.run("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                    Params(now, session_id), "revoke session");
  if (!r) return r.error();
  return {};
}

Status insert_refresh_token(Connection& conn, std::string_view hash, std::string_view session_id,
                            Timestamp expires_at) {
  auto r = conn.run(
      "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
      Params(hash, session_id, expires_at), "store refresh token");
  if (!r) return r.error();
  return {};
}

// Spends the token and makes `new_hash` live in the same family, which keeps the session's
// expiry. `used_at IS NULL` makes the spend itself conditional too: even without the row lock
// only one caller could flip it.
Result<bool> spend(Connection& conn, std::string_view presented_hash, std::string_view new_hash,
                   const PresentedToken& token, Timestamp now) {
  auto r = conn.run(
      "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL "
      "RETURNING token_hash",
      Params(now, presented_hash), "spend refresh token");
  if (!r) return r.error();
  if (r->empty()) return false;
  if (auto s = insert_refresh_token(conn, new_hash, token.session_id, token.session_expires_at); !s)
    return s.error();
  return true;
}

}  // namespace

Status PgStore::create_session(const Session& session, std::string_view refresh_hash) {
  return transaction("create session", [&](Connection& conn) -> Status {
    auto r = conn.run(
        "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        Params(session.id, session.user_id, session.created_at, session.expires_at),
        "create session");
    if (!r) return r.error();
    return insert_refresh_token(conn, refresh_hash, session.id, session.expires_at);
  });
}

Result<RotateResult> PgStore::rotate_refresh_token(std::string_view presented_hash,
                                                   std::string_view new_hash, Timestamp now) {
  return transaction("rotate refresh token", [&](Connection& conn) -> Result<RotateResult> {
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
    auto spent = spend(conn, presented_hash, new_hash, token, now);
    if (!spent) return spent.error();
    result.outcome = *spent ? RotateOutcome::rotated : RotateOutcome::reused;
    if (!*spent)
      if (auto s = revoke_family(conn, token.session_id, now); !s) return s.error();
    return result;
  });
}

Status PgStore::revoke_session(std::string_view session_id, Timestamp now) {
  return with_connection([&](Connection& conn) { return revoke_family(conn, session_id, now); });
}

Status PgStore::revoke_user_sessions(std::string_view user_id, Timestamp now) {
  return with_connection([&](Connection& conn) -> Status {
    auto r =
        conn.run("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                 Params(now, user_id), "revoke user sessions");
    if (!r) return r.error();
    return {};
  });
}

Status PgStore::revoke_access_token(const RevokedToken& token) {
  return with_connection([&](Connection& conn) -> Status {
    auto r = conn.run(
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO "
        "UPDATE SET expires_at = greatest(revoked_tokens.expires_at, excluded.expires_at)",
        Params(token.jti, token.expires_at), "revoke access token");
    if (!r) return r.error();
    return {};
  });
}

Result<std::vector<RevokedToken>> PgStore::revoked_access_tokens(Timestamp now) {
  return with_connection([&](Connection& conn) -> Result<std::vector<RevokedToken>> {
    auto rows = conn.run("SELECT jti, expires_at FROM revoked_tokens WHERE expires_at > $1",
                         Params(now), "list revoked tokens");
    if (!rows) return rows.error();
    return collect(*rows, [](const Row& row) { return RevokedToken{row.text(0), row.time(1)}; });
  });
}

}  // namespace honeyman::store::pg
