#include "store/postgres/detail/rows.hpp"
#include "store/postgres/pg_store.hpp"

namespace honeyman::store::pg {
namespace {

Result<domain::User> find_user(Connection& conn, std::string_view column, std::string_view value) {
  // `column` is one of two literals chosen by the callers below, never input.
  auto sql = std::string("SELECT ").append(kUserColumns).append(" FROM users WHERE ");
  sql.append(column).append(" = $1");
  auto rows = conn.run(sql, Params(value), "find user");
  if (!rows) return rows.error();
  if (rows->empty()) return make_error(Errc::not_found, "User not found");
  return read_user((*rows)[0]);
}

}  // namespace

Result<domain::User> PgStore::create_user(const domain::User& u) {
  return with_connection([&](Connection& conn) -> Result<domain::User> {
    auto r = conn.run(
        "INSERT INTO users (id, username, email, full_name, role, is_active, is_verified, "
        "password_hash, created_at, last_login, tokens_valid_after) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        Params(u.id, u.username, u.email, u.full_name, domain::to_string(u.role), u.is_active,
               u.is_verified, u.password_hash, u.created_at, u.last_login, u.tokens_valid_after),
        "create user");
    if (!r) {
      if (r.error().code == Errc::conflict)
        return make_error(Errc::conflict, "User '" + u.username + "' or its email already exists");
      return r.error();
    }
    return u;
  });
}

Result<domain::User> PgStore::find_user_by_id(std::string_view id) {
  return with_connection([&](Connection& conn) { return find_user(conn, "id", id); });
}

Result<domain::User> PgStore::find_user_by_name(std::string_view username) {
  return with_connection([&](Connection& conn) { return find_user(conn, "username", username); });
}

Result<std::vector<domain::User>> PgStore::list_users() {
  return with_connection([&](Connection& conn) -> Result<std::vector<domain::User>> {
    // COLLATE "C": the byte order SQLite uses, whatever the database's locale.
    auto sql = std::string("SELECT ")
                   .append(kUserColumns)
                   .append(" FROM users ORDER BY username COLLATE \"C\"");
    auto rows = conn.run(sql, Params(), "list users");
    if (!rows) return rows.error();
    return collect(*rows, [](const Row& row) { return read_user(row); });
  });
}

Status PgStore::update_user(const domain::User& u) {
  return with_connection([&](Connection& conn) -> Status {
    auto r = conn.run(
        "UPDATE users SET email = $1, full_name = $2, role = $3, is_active = $4, "
        "is_verified = $5, password_hash = $6, last_login = $7, tokens_valid_after = $8 "
        "WHERE id = $9",
        Params(u.email, u.full_name, domain::to_string(u.role), u.is_active, u.is_verified,
               u.password_hash, u.last_login, u.tokens_valid_after, u.id),
        "update user");
    if (!r) {
      if (r.error().code == Errc::conflict)
        return make_error(Errc::conflict, "Email already used by another user");
      return r.error();
    }
    if (r->affected() == 0) return make_error(Errc::not_found, "User not found");
    return {};
  });
}

Result<std::vector<std::pair<std::string, Timestamp>>> PgStore::users_invalidated_since(
    Timestamp since) {
  using Pairs = std::vector<std::pair<std::string, Timestamp>>;
  return with_connection([&](Connection& conn) -> Result<Pairs> {
    auto rows = conn.run("SELECT id, tokens_valid_after FROM users WHERE tokens_valid_after > $1",
                         Params(since), "list invalidated users");
    if (!rows) return rows.error();
    return collect(*rows, [](const Row& row) { return std::pair(row.text(0), row.time(1)); });
  });
}

}  // namespace honeyman::store::pg
