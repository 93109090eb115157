#include "store/sqlite/detail/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace honeyman::store::detail {
namespace {

Result<domain::User> find_user(Connection& conn, std::string_view column, std::string_view value) {
  // `column` is one of two literals chosen by the callers below, never input.
  auto sql = std::string("SELECT ").append(kUserColumns).append(" FROM users WHERE ");
  sql.append(column).append(" = ?");
  auto stmt = conn.prepare(sql, "find user");
  if (!stmt) return stmt.error();
  auto row = stmt->bind(value).step();
  if (!row) return row.error();
  if (!*row) return make_error(Errc::not_found, "User not found");
  return read_user(*stmt);
}

}  // namespace

Result<domain::User> SqliteStore::create_user(const domain::User& u) {
  return with_writer([&](Connection& conn) -> Result<domain::User> {
    auto stmt = conn.prepare(
        "INSERT INTO users (id, username, email, full_name, role, is_active, is_verified, "
        "password_hash, created_at, last_login, tokens_valid_after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "create user");
    if (!stmt) return stmt.error();
    stmt->bind(u.id, u.username, u.email, u.full_name, domain::to_string(u.role), u.is_active,
               u.is_verified, u.password_hash, u.created_at, u.last_login, u.tokens_valid_after);
    if (auto s = stmt->run(); !s) {
      if (s.error().code == Errc::conflict)
        return make_error(Errc::conflict, "User '" + u.username + "' or its email already exists");
      return s.error();
    }
    return u;
  });
}

Result<domain::User> SqliteStore::find_user_by_id(std::string_view id) {
  return with_reader([&](Connection& conn) { return find_user(conn, "id", id); });
}

Result<domain::User> SqliteStore::find_user_by_name(std::string_view username) {
  return with_reader([&](Connection& conn) { return find_user(conn, "username", username); });
}

Result<std::vector<domain::User>> SqliteStore::list_users() {
  return with_reader([&](Connection& conn) -> Result<std::vector<domain::User>> {
    auto sql = std::string("SELECT ").append(kUserColumns).append(" FROM users ORDER BY username");
    auto stmt = conn.prepare(sql, "list users");
    if (!stmt) return stmt.error();
    return collect_rows(*stmt, [](const Stmt& row) { return read_user(row); });
  });
}

Status SqliteStore::update_user(const domain::User& u) {
  return with_writer([&](Connection& conn) -> Status {
    auto stmt = conn.prepare(
        "UPDATE users SET email = ?, full_name = ?, role = ?, is_active = ?, is_verified = ?, "
        "password_hash = ?, last_login = ?, tokens_valid_after = ? WHERE id = ?",
        "update user");
    if (!stmt) return stmt.error();
    stmt->bind(u.email, u.full_name, domain::to_string(u.role), u.is_active, u.is_verified,
               u.password_hash, u.last_login, u.tokens_valid_after, u.id);
    if (auto s = stmt->run(); !s) {
      if (s.error().code == Errc::conflict)
        return make_error(Errc::conflict, "Email already used by another user");
      return s;
    }
    if (conn.changes() == 0) return make_error(Errc::not_found, "User not found");
    return {};
  });
}

Result<std::vector<std::pair<std::string, Timestamp>>> SqliteStore::users_invalidated_since(
    Timestamp since) {
  using Rows = std::vector<std::pair<std::string, Timestamp>>;
  return with_reader([&](Connection& conn) -> Result<Rows> {
    auto stmt =
        conn.prepare("SELECT id, tokens_valid_after FROM users WHERE tokens_valid_after > ?",
                     "list invalidated users");
    if (!stmt) return stmt.error();
    stmt->bind(since);
    return collect_rows(*stmt, [](const Stmt& row) { return std::pair(row.text(0), row.time(1)); });
  });
}

}  // namespace honeyman::store::detail
