#include "service/service.hpp"

namespace honeyman::service {

UserService::UserService(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

Result<domain::User> UserService::add(const NewUser& request) {
  if (!domain::is_valid_username(request.username))
    return validation_error({{{"body", "username"},
                              "usernames are 1-64 characters of A-Z a-z 0-9 . _ @ -",
                              "string_pattern_mismatch"}});
  if (auto ok = auth::check_password_policy(request.password); !ok) return ok.error();
  auto hash = auth::hash_password(request.password);
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
  return store_.create_user(user);
}

Result<std::vector<domain::User>> UserService::list() {
  return store_.list_users();
}

Result<domain::User> UserService::find(std::string_view username) {
  auto user = store_.find_user_by_name(username);
  if (!user && user.error().code == Errc::not_found)
    return make_error(Errc::not_found, "no user '" + std::string(username) + "'");
  return user;
}

Result<domain::User> UserService::apply(std::string_view username,
                                        const store::UserChange& change) {
  auto user = find(username);
  if (!user) return user.error();
  // Tokens issued before now stop working on every instance at its next revocation poll, and no
  // refresh token of an earlier login can mint new ones: the change applies to live sessions too.
  auto changed = store_.change_user(user->id, change, clock_.now());
  if (!changed && changed.error().code == Errc::not_found)
    return make_error(Errc::not_found, "no user '" + std::string(username) + "'");
  return changed;
}

Result<domain::User> UserService::set_role(std::string_view username, domain::Role role) {
  store::UserChange change;
  change.role = role;
  return apply(username, change);
}

Result<domain::User> UserService::set_active(std::string_view username, bool active) {
  store::UserChange change;
  change.is_active = active;
  return apply(username, change);
}

Result<domain::User> UserService::set_password(std::string_view username,
                                               std::string_view password) {
  if (auto ok = auth::check_password_policy(password); !ok) return ok.error();
  auto hash = auth::hash_password(password);
  if (!hash) return hash.error();
  store::UserChange change;
  change.password_hash = std::move(*hash);
  return apply(username, change);
}

}  // namespace honeyman::service
