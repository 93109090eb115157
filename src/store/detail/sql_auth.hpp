// SqlStore: users, sessions (refresh-token families), refresh-token rotation and revoked access
// tokens. Included only where a backend instantiates SqlStore (see sql_store.hpp).
#pragma once

#include <string>

#include "store/detail/rows.hpp"
#include "store/detail/sql_store.hpp"

namespace honeyman::store::detail {

template <class Connection>
Result<domain::User> find_user(Connection& conn, std::string_view column, std::string_view value) {
  // `column` is one of two literals chosen by the callers below, never input.
  auto sql = std::string("SELECT ").append(kUserColumns).append(" FROM users WHERE ");
  sql.append(column).append(" = $1");
  return found_or(conn.fetch_one(sql, "find user", read_user, value), "User not found");
}

template <class B>
Result<domain::User> SqlStore<B>::create_user(const domain::User& u) {
  static const std::string sql = std::string("INSERT INTO users (")
                                     .append(kUserColumns)
                                     .append(") VALUES (")
                                     .append(param_list(1, 11))
                                     .append(")");
  return b_.write([&](Connection& conn) -> Result<domain::User> {
    auto r = with_stored(user_fields(u),
                         [&](const auto&... v) { return conn.execute(sql, "create user", v...); });
    if (!r && r.error().code == Errc::conflict)
      return make_error(Errc::conflict, "User '" + u.username + "' or its email already exists");
    if (!r) return r.error();
    return u;
  });
}

template <class B>
Result<domain::User> SqlStore<B>::find_user_by_id(std::string_view id) {
  return b_.read([&](Connection& conn) { return find_user(conn, "id", id); });
}

template <class B>
Result<domain::User> SqlStore<B>::find_user_by_name(std::string_view username) {
  return b_.read([&](Connection& conn) { return find_user(conn, "username", username); });
}

// Byte order on both stores: SQLite's default, and PostgreSQL's username is COLLATE "C".
template <class B>
Result<std::vector<domain::User>> SqlStore<B>::list_users() {
  static const std::string sql =
      std::string("SELECT ").append(kUserColumns).append(" FROM users ORDER BY username");
  return b_.read([&](Connection& conn) { return conn.fetch_all(sql, "list users", read_user); });
}

template <class B>
Status SqlStore<B>::update_user(const domain::User& u) {
  return b_.write([&](Connection& conn) -> Status {
    auto changed = conn.execute(
        "UPDATE users SET email = $1, full_name = $2, role = $3, is_active = $4, "
        "is_verified = $5, password_hash = $6, last_login = $7, tokens_valid_after = $8 "
        "WHERE id = $9",
        "update user", u.email, u.full_name, stored(u.role), u.is_active, u.is_verified,
        u.password_hash, u.last_login, u.tokens_valid_after, u.id);
    if (!changed && changed.error().code == Errc::conflict)
      return make_error(Errc::conflict, "Email already used by another user");
    if (!changed) return changed.error();
    if (*changed == 0) return make_error(Errc::not_found, "User not found");
    return {};
  });
}

template <class B>
Result<std::vector<std::pair<std::string, Timestamp>>> SqlStore<B>::users_invalidated_since(
    Timestamp since) {
  return b_.read([&](Connection& conn) {
    return conn.fetch_all(
        "SELECT id, tokens_valid_after FROM users WHERE tokens_valid_after > $1",
        "list invalidated users",
        [](const auto& row) { return std::pair(row.text(0), row.time(1)); }, since);
  });
}

// ---------------------------------------------------------------------------------------------
struct PresentedToken {
  std::string session_id, user_id;
  Timestamp token_expires_at, session_expires_at;
  bool used = false;
  bool session_revoked = false;
};

// Where the database locks rows (PostgreSQL), FOR UPDATE OF r, s makes a concurrent rotation of
// the same token wait here until this transaction ends, then read the token and its session as
// this one left them (spent, revoked); locking only `r` would re-read the token but not the
// session. SQLite's write transaction holds the whole database already.
template <bool kRowLocks, class Connection>
Result<std::optional<PresentedToken>> find_presented(Connection& conn, std::string_view hash) {
  static const std::string sql =
      std::string(
          "SELECT r.session_id, s.user_id, r.expires_at, s.expires_at, r.used_at IS NOT NULL, "
          "s.revoked_at IS NOT NULL FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id "
          "WHERE r.token_hash = $1")
          .append(kRowLocks ? " FOR UPDATE OF r, s" : "");
  return conn.fetch_one(
      sql, "rotate refresh token",
      [](const auto& row) {
        return PresentedToken{row.text(0), row.text(1),    row.time(2),
                              row.time(3), row.boolean(4), row.boolean(5)};
      },
      hash);
}

template <class Connection>
Status revoke_family(Connection& conn, std::string_view session_id, Timestamp now) {
  return status_of(
      conn.execute("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                   "revoke session", now, session_id));
}

template <class Connection>
Status insert_refresh_token(Connection& conn, std::string_view hash, std::string_view session_id,
                            Timestamp expires_at) {
  return status_of(conn.execute(
      "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
      "store refresh token", hash, session_id, expires_at));
}

// Spends the token and makes `new_hash` live in the same family, which keeps the session's
// expiry; false when another caller spent it first. `used_at IS NULL` makes the spend itself
// conditional: even without a row lock only one caller could flip it.
template <class Connection>
Result<bool> spend(Connection& conn, std::string_view presented_hash, std::string_view new_hash,
                   const PresentedToken& token, Timestamp now) {
  auto spent = conn.execute(
      "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
      "spend refresh token", now, presented_hash);
  if (!spent) return spent.error();
  if (*spent == 0) return false;
  if (auto s = insert_refresh_token(conn, new_hash, token.session_id, token.session_expires_at); !s)
    return s.error();
  return true;
}

template <class B>
Status SqlStore<B>::create_session(const Session& session, std::string_view refresh_hash) {
  return b_.transaction("create session", [&](Connection& conn) -> Status {
    auto r = conn.execute(
        "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        "create session", session.id, session.user_id, session.created_at, session.expires_at);
    if (!r) return r.error();
    return insert_refresh_token(conn, refresh_hash, session.id, session.expires_at);
  });
}

// Of concurrent calls with the same token exactly one rotates: the others find it spent (after
// the row lock, or SQLite's write lock) and revoke the family.
template <class B>
Result<RotateResult> SqlStore<B>::rotate_refresh_token(std::string_view presented_hash,
                                                       std::string_view new_hash, Timestamp now) {
  return b_.transaction("rotate refresh token", [&](Connection& conn) -> Result<RotateResult> {
    auto found = find_presented<B::kRowLocks>(conn, presented_hash);
    if (!found) return found.error();
    if (!*found) return RotateResult{};
    const auto& token = **found;
    RotateResult result{RotateOutcome::invalid, token.user_id, token.session_id};
    if (token.session_revoked) return result;
    if (!token.used) {
      if (token.token_expires_at <= now || token.session_expires_at <= now) return result;
      auto spent = spend(conn, presented_hash, new_hash, token, now);
      if (!spent) return spent.error();
      if (*spent) {
        result.outcome = RotateOutcome::rotated;
        return result;
      }
    }
    if (auto s = revoke_family(conn, token.session_id, now); !s) return s.error();
    result.outcome = RotateOutcome::reused;
    return result;
  });
}

template <class B>
Status SqlStore<B>::revoke_session(std::string_view session_id, Timestamp now) {
  return b_.write([&](Connection& conn) { return revoke_family(conn, session_id, now); });
}

template <class B>
Status SqlStore<B>::revoke_user_sessions(std::string_view user_id, Timestamp now) {
  return b_.write([&](Connection& conn) {
    return status_of(conn.execute(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        "revoke user sessions", now, user_id));
  });
}

// A token revoked twice keeps the later expiry.
template <class B>
Status SqlStore<B>::revoke_access_token(const RevokedToken& token) {
  return b_.write([&](Connection& conn) {
    return status_of(conn.execute(
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO "
        "UPDATE SET expires_at = excluded.expires_at "
        "WHERE excluded.expires_at > revoked_tokens.expires_at",
        "revoke access token", token.jti, token.expires_at));
  });
}

template <class B>
Result<std::vector<RevokedToken>> SqlStore<B>::revoked_access_tokens(Timestamp now) {
  return b_.read([&](Connection& conn) {
    return conn.fetch_all(
        "SELECT jti, expires_at FROM revoked_tokens WHERE expires_at > $1", "list revoked tokens",
        [](const auto& row) {
          return RevokedToken{row.text(0), row.time(1)};
        },
        now);
  });
}

}  // namespace honeyman::store::detail
