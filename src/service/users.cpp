#include "service/service.hpp"

namespace honeyman::service {
namespace {

namespace json = boost::json;

json::value or_null(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

// What the audit record says about a change: the new values, never a password or its hash.
json::object describe(const store::UserChange& change) {
  json::object out;
  if (change.role) out["role"] = domain::to_string(*change.role);
  if (change.is_active) out["is_active"] = *change.is_active;
  if (change.email) out["email"] = or_null(*change.email);
  if (change.full_name) out["full_name"] = or_null(*change.full_name);
  if (change.password_hash) out["password"] = "changed";
  return out;
}

Error user_not_found() {
  return make_error(Errc::not_found, "User not found");
}

}  // namespace

UserService::UserService(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

Result<std::string> UserService::hash_new_password(std::string_view password) {
  if (auto ok = auth::check_password_policy(password); !ok) return ok.error();
  return auth::hash_password(password);
}

Result<domain::User> UserService::add(const NewUser& request, const store::Actor& by) {
  if (!domain::is_valid_username(request.username))
    return validation_error({{{"body", "username"},
                              "usernames are 1-64 characters of A-Z a-z 0-9 . _ @ -",
                              "string_pattern_mismatch"}});
  auto hash = hash_new_password(request.password);
  if (!hash) return hash.error();
  domain::User user;
  user.id = uuid_v4();
  user.username = request.username;
  user.email = request.email;
  user.full_name = request.full_name;
  user.role = request.role;
  user.is_verified = true;  // created by an administrator, not self-registered
  user.password_hash = std::move(*hash);
  user.created_at = clock_.now();
  auto audit =
      store::audit_entry(by, user.created_at, "user.create", "user", user.id,
                         {{"username", user.username}, {"role", domain::to_string(user.role)}});
  return store_.create_user(user, &audit);
}

Result<std::vector<domain::User>> UserService::list() {
  return store_.list_users();
}

Result<store::UserPage> UserService::list(const store::UserQuery& query) {
  return store_.list_users(query);
}

Result<domain::User> UserService::find(std::string_view username) {
  auto user = store_.find_user_by_name(username);
  if (!user && user.error().code == Errc::not_found)
    return make_error(Errc::not_found, "no user '" + std::string(username) + "'");
  return user;
}

Result<domain::User> UserService::find_by_id(std::string_view user_id) {
  auto user = store_.find_user_by_id(user_id);
  if (!user && user.error().code == Errc::not_found) return user_not_found();
  return user;
}

Result<domain::User> UserService::apply(const domain::User& user, const store::UserChange& change,
                                        const store::Actor& by, std::string_view action) {
  // Tokens issued before now stop working on every instance at its next revocation poll, and no
  // refresh token of an earlier login can mint new ones: the change applies to live sessions too.
  auto now = clock_.now();
  auto details = describe(change);
  details["username"] = user.username;
  auto audit = store::audit_entry(by, now, std::string(action), "user", user.id, details);
  return store_.change_user(user.id, change, now, &audit);
}

Result<domain::User> UserService::apply(std::string_view username, const store::UserChange& change,
                                        const store::Actor& by, std::string_view action) {
  auto user = find(username);
  if (!user) return user.error();
  auto changed = apply(*user, change, by, action);
  if (!changed && changed.error().code == Errc::not_found)
    return make_error(Errc::not_found, "no user '" + std::string(username) + "'");
  return changed;
}

Result<domain::User> UserService::set_role(std::string_view username, domain::Role role,
                                           const store::Actor& by) {
  store::UserChange change;
  change.role = role;
  return apply(username, change, by, "user.update");
}

Result<domain::User> UserService::set_active(std::string_view username, bool active,
                                             const store::Actor& by) {
  store::UserChange change;
  change.is_active = active;
  return apply(username, change, by, "user.update");
}

Result<domain::User> UserService::set_password(std::string_view username, std::string_view password,
                                               const store::Actor& by) {
  auto hash = hash_new_password(password);
  if (!hash) return hash.error();
  store::UserChange change;
  change.password_hash = std::move(*hash);
  return apply(username, change, by, "user.password");
}

Result<domain::User> UserService::update(std::string_view user_id, const UserUpdate& update,
                                         const store::Actor& by) {
  auto user = find_by_id(user_id);
  if (!user) return user.error();
  store::UserChange change;
  change.role = update.role;
  change.is_active = update.is_active;
  change.email = update.email;
  change.full_name = update.full_name;
  auto changed = apply(*user, change, by, "user.update");
  if (!changed && changed.error().code == Errc::not_found) return user_not_found();
  return changed;
}

Result<domain::User> UserService::reset_password(std::string_view user_id,
                                                 std::string_view password,
                                                 const store::Actor& by) {
  auto user = find_by_id(user_id);
  if (!user) return user.error();
  auto hash = hash_new_password(password);
  if (!hash) return hash.error();
  store::UserChange change;
  change.password_hash = std::move(*hash);
  auto changed = apply(*user, change, by, "user.password");
  if (!changed && changed.error().code == Errc::not_found) return user_not_found();
  return changed;
}

Status UserService::remove(std::string_view user_id, const store::Actor& by) {
  auto user = find_by_id(user_id);
  if (!user) return user.error();
  auto audit = store::audit_entry(by, clock_.now(), "user.delete", "user", user->id,
                                  {{"username", user->username}});
  auto removed = store_.delete_user(user->id, &audit);
  if (!removed && removed.error().code == Errc::not_found) return user_not_found();
  return removed;
}

Result<domain::User> UserService::change_own_password(std::string_view user_id,
                                                      std::string_view current,
                                                      std::string_view replacement,
                                                      const store::Actor& by) {
  auto user = find_by_id(user_id);
  if (!user) return user.error();
  if (!auth::verify_password(user->password_hash, current))
    return make_error(Errc::bad_request, "The current password is wrong");
  auto hash = hash_new_password(replacement);
  if (!hash) return hash.error();
  store::UserChange change;
  change.password_hash = std::move(*hash);
  return apply(*user, change, by, "user.password");
}

}  // namespace honeyman::service
