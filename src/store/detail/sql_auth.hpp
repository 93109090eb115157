// SqlStore: users, sessions (refresh-token families), refresh-token rotation and revoked access
// tokens. Included only where a backend instantiates SqlStore (see sql_store.hpp).
#pragma once

#include <string>

#include "store/detail/rows.hpp"
#include "store/detail/sql_audit.hpp"
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
Result<domain::User> SqlStore<B>::create_user(const domain::User& u, const AuditEntry* audit) {
  static const std::string sql = std::string("INSERT INTO users (")
                                     .append(kUserColumns)
                                     .append(") VALUES (")
                                     .append(param_list(1, 11))
                                     .append(")");
  return b_.transaction("create user", [&](Connection& conn) -> Result<domain::User> {
    auto r = with_stored(user_fields(u),
                         [&](const auto&... v) { return conn.execute(sql, "create user", v...); });
    if (!r && r.error().code == Errc::conflict)
      return make_error(Errc::conflict, "User '" + u.username + "' or its email already exists");
    if (!r) return r.error();
    if (auto s = write_audit(conn, audit); !s) return s.error();
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

// Paged by username (byte order, as list_users()); the page and the total from one snapshot.
template <class B>
Result<UserPage> SqlStore<B>::list_users(const UserQuery& q) {
  static const std::string sql = std::string("SELECT ")
                                     .append(kUserColumns)
                                     .append(" FROM users ORDER BY username LIMIT $1 OFFSET $2");
  if (q.page < 1 || q.page_size < 1 || q.page_size > 100)
    return make_error(Errc::invalid_input, "page must be >= 1 and page_size 1..100");
  return b_.snapshot("list users", [&](Connection& conn) -> Result<UserPage> {
    auto total = conn.fetch_one("SELECT count(*) FROM users", "count users",
                                [](const auto& row) { return row.i64(0); });
    if (!total) return total.error();
    auto offset = static_cast<std::int64_t>(q.page - 1) * q.page_size;
    auto users = conn.fetch_all(sql, "list users", read_user, std::int64_t{q.page_size}, offset);
    if (!users) return users.error();
    return UserPage{std::move(*users), total->value_or(0)};
  });
}

// Refuses a change that would leave no active admin: `user_id` is one, and the only one. Where
// the database locks rows (PostgreSQL), every active admin's row is locked (in id order, so two
// such changes queue rather than deadlock): of two admins demoting each other at once, the
// second re-reads the first's row after it commits, finds itself the last, and is refused.
// SQLite's write transaction holds the whole database already.
template <bool kRowLocks, class Connection>
Status keep_an_admin(Connection& conn, std::string_view user_id) {
  static const std::string sql =
      std::string("SELECT id FROM users WHERE role = $1 AND is_active ORDER BY id")
          .append(kRowLocks ? " FOR UPDATE" : "");
  auto admins = conn.fetch_all(
      sql, "check admins", [](const auto& row) { return row.text(0); },
      stored(domain::Role::admin));
  if (!admins) return admins.error();
  if (admins->size() == 1 && admins->front() == user_id)
    return make_error(Errc::conflict, "cannot demote, disable or delete the last active admin");
  return {};
}

template <class UserChange>
bool may_remove_admin(const UserChange& change) {
  return (change.role && *change.role != domain::Role::admin) ||
         (change.is_active && !*change.is_active);
}

// Where the database locks rows (PostgreSQL), the UPDATE of the user row comes first, as in
// start_session: a login and a change of the same user queue on that row, and the change's
// session revocation, a statement after it, sees the session of a login that committed first.
// (keep_an_admin, before it, locks only admins' rows, and a login locks only its own.)
template <class B>
Result<domain::User> SqlStore<B>::change_user(std::string_view user_id, const UserChange& change,
                                              Timestamp now, const AuditEntry* audit) {
  return b_.transaction("change user", [&](Connection& conn) -> Result<domain::User> {
    if (may_remove_admin(change))
      if (auto s = keep_an_admin<B::kRowLocks>(conn, user_id); !s) return s.error();
    // "col = $n" for each column changed, its value appended to `params`.
    typename B::Params params;
    std::vector<std::string> assignments;
    auto set = [&](std::string_view column, const auto& value) {
      params.add(value);
      assignments.push_back(std::string(column).append(" = ").append(param(params.size())));
    };
    if (change.role) set("role", std::string(stored(*change.role)));
    if (change.is_active) set("is_active", *change.is_active);
    if (change.password_hash) set("password_hash", *change.password_hash);
    if (change.email) set("email", *change.email);
    if (change.full_name) set("full_name", *change.full_name);
    if (change.ends_sessions()) set("tokens_valid_after", now);
    if (assignments.empty()) assignments.push_back("id = id");  // nothing to write: it must exist
    params.add(user_id);
    std::string sql = "UPDATE users SET ";
    for (const auto& a : assignments) sql.append(&a == &assignments.front() ? "" : ", ").append(a);
    sql.append(" WHERE id = ").append(param(params.size()));
    auto changed = conn.execute(per_call(sql), "change user", params);
    if (!changed && changed.error().code == Errc::conflict)
      return make_error(Errc::conflict, "Email already taken by another user");
    if (!changed) return changed.error();
    if (*changed == 0) return make_error(Errc::not_found, "User not found");
    if (change.ends_sessions()) {
      auto revoked = conn.execute(
          "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
          "revoke user sessions", now, user_id);
      if (!revoked) return revoked.error();
    }
    if (auto s = write_audit(conn, audit); !s) return s.error();
    return find_user(conn, "id", user_id);
  });
}

// Sessions and their refresh tokens go by the foreign keys' cascade.
template <class B>
Status SqlStore<B>::delete_user(std::string_view user_id, const AuditEntry* audit) {
  return b_.transaction("delete user", [&](Connection& conn) -> Status {
    if (auto s = keep_an_admin<B::kRowLocks>(conn, user_id); !s) return s;
    auto deleted = conn.execute("DELETE FROM users WHERE id = $1", "delete user", user_id);
    if (!deleted) return deleted.error();
    if (*deleted == 0) return make_error(Errc::not_found, "User not found");
    return write_audit(conn, audit);
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

// Why a login's conditional UPDATE changed nothing: the user is gone, inactive, or has another
// password hash than the one the login verified.
template <class Connection>
Error login_refusal(Connection& conn, std::string_view user_id, std::string_view password_hash) {
  auto user = find_user(conn, "id", user_id);
  if (!user) return user.error();
  if (!user->is_active) return make_error(Errc::forbidden, "Inactive user");
  if (user->password_hash != password_hash)
    return make_error(Errc::unauthorized, "Password changed during login");
  return make_error(Errc::internal, "login refused for no known reason");
}

// The conditional UPDATE takes the user's row lock (PostgreSQL) before the session exists: a
// concurrent change_user either commits first, and this UPDATE re-reads the row and matches
// nothing, or waits, and then revokes the session made here.
template <class B>
Result<domain::User> SqlStore<B>::start_session(const Session& session,
                                                std::string_view refresh_hash,
                                                std::string_view password_hash,
                                                const AuditEntry* audit) {
  static const std::string sql =
      std::string(
          "UPDATE users SET last_login = $1 WHERE id = $2 AND is_active AND "
          "password_hash = $3 RETURNING ")
          .append(kUserColumns);
  return b_.transaction("start session", [&](Connection& conn) -> Result<domain::User> {
    auto user = conn.fetch_one(sql, "start session", read_user, session.created_at, session.user_id,
                               password_hash);
    if (!user) return user.error();
    if (!*user) return login_refusal(conn, session.user_id, password_hash);
    auto r = conn.execute(
        "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        "create session", session.id, session.user_id, session.created_at, session.expires_at);
    if (!r) return r.error();
    if (auto s = insert_refresh_token(conn, refresh_hash, session.id, session.expires_at); !s)
      return s.error();
    if (auto s = write_audit(conn, audit); !s) return s.error();
    return std::move(**user);
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
Status SqlStore<B>::revoke_session(std::string_view session_id, Timestamp now,
                                   const AuditEntry* audit) {
  return b_.transaction("revoke session", [&](Connection& conn) -> Status {
    if (auto s = revoke_family(conn, session_id, now); !s) return s;
    return write_audit(conn, audit);
  });
}

template <class B>
Result<std::vector<std::pair<std::string, Timestamp>>> SqlStore<B>::sessions_revoked_since(
    Timestamp since) {
  return b_.read([&](Connection& conn) {
    return conn.fetch_all(
        "SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1", "list revoked sessions",
        [](const auto& row) { return std::pair(row.text(0), row.time(1)); }, since);
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
