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

template <class Change>
Result<domain::User> UserService::modify(std::string_view username, Change&& change) {
  auto user = find(username);
  if (!user) return user.error();
  if (auto ok = change(*user); !ok) return ok.error();
  // Tokens issued before now stop working on every instance at its next revocation poll, and no
  // refresh token of an earlier login can mint new ones: the change applies to live sessions too.
  auto now = clock_.now();
  user->tokens_valid_after = now;
  if (auto ok = store_.update_user(*user); !ok) return ok.error();
  if (auto ok = store_.revoke_user_sessions(user->id, now); !ok) return ok.error();
  return user;
}

Result<domain::User> UserService::set_role(std::string_view username, domain::Role role) {
  return modify(username, [role](domain::User& u) -> Status {
    u.role = role;
    return {};
  });
}

Result<domain::User> UserService::set_active(std::string_view username, bool active) {
  return modify(username, [active](domain::User& u) -> Status {
    u.is_active = active;
    return {};
  });
}

Result<domain::User> UserService::set_password(std::string_view username,
                                               std::string_view password) {
  if (auto ok = auth::check_password_policy(password); !ok) return ok.error();
  return modify(username, [password](domain::User& u) -> Status {
    auto hash = auth::hash_password(password);
    if (!hash) return hash.error();
    u.password_hash = std::move(*hash);
    return {};
  });
}

}  // namespace honeyman::service
