// Dashboard users over REST (SPEC §7, admin) and one's own password: the CLI's `user ...` rules
// (service::UserService), with the audit log.
#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/request_bodies.hpp"
#include "api/detail/routes.hpp"

namespace honeyman::api::detail {

namespace {

constexpr std::size_t kMaxText = 256;
constexpr std::size_t kMaxPassword = 1024;

std::optional<domain::Role> role_member(const json::object& body, std::vector<FieldError>& errors,
                                        bool required) {
  auto text = string_member(body, "role", errors, required, 16);
  if (!text) return std::nullopt;
  auto role = domain::parse_role(*text);
  if (!role)
    errors.push_back({{"body", "role"}, "Input should be 'admin', 'analyst' or 'viewer'", "enum"});
  return role;
}

// A nullable text member: absent → nullopt; null → {nullopt}.
std::optional<std::optional<std::string>> nullable_member(const json::object& body,
                                                          std::string_view key,
                                                          std::vector<FieldError>& errors) {
  auto it = body.find(key);
  if (it == body.end()) return std::nullopt;
  if (it->value().is_null()) return std::optional<std::string>();
  auto text = string_member(body, key, errors, true, kMaxText);
  if (!text) return std::nullopt;
  return std::optional<std::string>(std::move(*text));
}

}  // namespace

Result<service::NewUser> parse_new_user(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"username", "email", "full_name", "role", "password"}, errors);
  service::NewUser user;
  auto username = string_member(body, "username", errors, true, 64);
  auto role = role_member(body, errors, true);
  auto password = string_member(body, "password", errors, true, kMaxPassword);
  user.email = string_member(body, "email", errors, false, kMaxText);
  user.full_name = string_member(body, "full_name", errors, false, kMaxText);
  if (!errors.empty()) return validation_error(std::move(errors));
  user.username = std::move(*username);
  user.role = *role;
  user.password = std::move(*password);
  return user;
}

Result<service::UserUpdate> parse_user_update(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"role", "is_active", "email", "full_name"}, errors);
  service::UserUpdate update;
  update.role = role_member(body, errors, false);
  if (auto* active = body.if_contains("is_active")) {
    if (active->is_bool())
      update.is_active = active->get_bool();
    else
      errors.push_back({{"body", "is_active"}, "Input should be a valid boolean", "bool_type"});
  }
  update.email = nullable_member(body, "email", errors);
  update.full_name = nullable_member(body, "full_name", errors);
  if (errors.empty() && update.empty())
    errors.push_back(
        {{"body"}, "give at least one of role, is_active, email and full_name", "value_error"});
  if (!errors.empty()) return validation_error(std::move(errors));
  return update;
}

Result<std::string> parse_password_reset(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"password"}, errors);
  auto password = string_member(body, "password", errors, true, kMaxPassword);
  if (!errors.empty()) return validation_error(std::move(errors));
  return std::move(*password);
}

Result<PasswordChange> parse_password_change(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"current_password", "new_password"}, errors);
  auto current = string_member(body, "current_password", errors, true, kMaxPassword);
  auto replacement = string_member(body, "new_password", errors, true, kMaxPassword);
  if (!errors.empty()) return validation_error(std::move(errors));
  return PasswordChange{std::move(*current), std::move(*replacement)};
}

namespace {

asio::awaitable<Response> list_users(RequestContext& ctx, Services& s) {
  QueryReader q(ctx.query);
  store::UserQuery query;
  query.page = q.integer("page", 1, 1, 1'000'000);
  query.page_size = q.integer("page_size", 50, 1, 100);
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  auto page = co_await run_blocking(s.pool, [&] { return s.users.list(query); });
  if (!page) co_return http::error_response(page.error());
  json::array users;
  for (const auto& u : page->users) users.push_back(domain::to_json(u));
  co_return ok(json::object{{"users", std::move(users)},
                            {"total", page->total},
                            {"page", query.page},
                            {"page_size", query.page_size}});
}

asio::awaitable<Response> create_user(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto request = parse_new_user(*body);
  if (!request) co_return http::error_response(request.error());
  auto by = actor_of(ctx);
  auto user = co_await run_blocking(s.pool, [&] { return s.users.add(*request, by); });
  if (!user) co_return http::error_response(user.error());
  co_return created(domain::to_json(*user));
}

asio::awaitable<Response> get_user(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "user_id");
  if (!id) co_return http::error_response(id.error());
  auto user = co_await run_blocking(s.pool, [&] { return s.users.find_by_id(*id); });
  if (!user) co_return http::error_response(user.error());
  co_return ok(domain::to_json(*user));
}

asio::awaitable<Response> update_user(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "user_id");
  if (!id) co_return http::error_response(id.error());
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto update = parse_user_update(*body);
  if (!update) co_return http::error_response(update.error());
  auto by = actor_of(ctx);
  auto user = co_await run_blocking(s.pool, [&] { return s.users.update(*id, *update, by); });
  if (!user) co_return http::error_response(user.error());
  co_return ok(domain::to_json(*user));
}

asio::awaitable<Response> reset_password(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "user_id");
  if (!id) co_return http::error_response(id.error());
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto password = parse_password_reset(*body);
  if (!password) co_return http::error_response(password.error());
  auto by = actor_of(ctx);
  auto user =
      co_await run_blocking(s.pool, [&] { return s.users.reset_password(*id, *password, by); });
  if (!user) co_return http::error_response(user.error());
  co_return ok(message("Password changed; the user's sessions have ended"));
}

asio::awaitable<Response> delete_user(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "user_id");
  if (!id) co_return http::error_response(id.error());
  auto by = actor_of(ctx);
  auto done = co_await run_blocking(s.pool, [&] { return s.users.remove(*id, by); });
  if (!done) co_return http::error_response(done.error());
  co_return ok(message("User deleted"));
}

asio::awaitable<Response> change_own_password(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto change = parse_password_change(*body);
  if (!change) co_return http::error_response(change.error());
  auto by = actor_of(ctx);
  auto user = co_await run_blocking(s.pool, [&] {
    return s.users.change_own_password(ctx.principal.id, change->current_password,
                                       change->new_password, by);
  });
  if (!user) co_return http::error_response(user.error());
  co_return ok(message("Password changed; every session has ended, log in again"));
}

}  // namespace

void add_user_routes(http::Router& router, Services& s) {
  using http::Access;
  using http::RateClass;
  using http::Verb;
  auto bind = [&s](auto fn) { return [&s, fn](RequestContext& c) { return fn(c, s); }; };
  const auto base = s.config.prefix + "/users";
  const auto one = base + "/{user_id}";
  auto user_id = path_param("user_id", {{"type", "string"}, {"format", "uuid"}}, "The user's id");
  auto no_user = error_answer(404, "No such user");
  auto last_admin = error_answer(409, "It would leave no active admin");

  router.add(
      {Verb::get, base, Access::admin, RateClass::normal, bind(list_users),
       "Dashboard users, by username",
       route_doc("Users", {json_answer(200, "A page of users", schema_ref("UserList"))},
                 {query_param("page", {{"type", "integer"}, {"minimum", 1}}, "Default 1"),
                  query_param("page_size", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}},
                              "Default 50")})});
  router.add({Verb::post, base, Access::admin, RateClass::normal, bind(create_user), "Add a user",
              route_doc("Users",
                        {json_answer(201, "Created", schema_ref("User")),
                         error_answer(409, "The username or email is taken")},
                        {}, schema_ref("UserCreate"))});
  router.add(
      {Verb::get, one, Access::admin, RateClass::normal, bind(get_user), "One user",
       route_doc("Users", {json_answer(200, "The user", schema_ref("User")), no_user}, {user_id})});
  auto patch_doc = route_doc("Users",
                             {json_answer(200, "The user as changed", schema_ref("User")), no_user,
                              last_admin, error_answer(409, "The email is taken")},
                             {user_id}, schema_ref("UserUpdate"));
  patch_doc.description =
      "A role change or disabling ends the user's sessions (every instance refuses their tokens "
      "within its revocation poll). The last active admin cannot be demoted or disabled (409).";
  router.add({Verb::patch, one, Access::admin, RateClass::normal, bind(update_user),
              "Change a user's role, active flag, email or name", patch_doc});
  router.add({Verb::post, one + "/password", Access::admin, RateClass::normal, bind(reset_password),
              "Set a user's password (ends their sessions)",
              route_doc("Users", {json_answer(200, "Changed", schema_ref("Message")), no_user},
                        {user_id}, schema_ref("PasswordReset"))});
  router.add(
      {Verb::delete_, one, Access::admin, RateClass::normal, bind(delete_user),
       "Delete a user (the audit log keeps their name)",
       route_doc("Users", {json_answer(200, "Deleted", schema_ref("Message")), no_user, last_admin},
                 {user_id})});
  // The login bucket: a stolen access token must not make a cheap password oracle.
  router.add({Verb::post, s.config.prefix + "/auth/password", Access::viewer, RateClass::login,
              bind(change_own_password), "Change one's own password (ends every session)",
              route_doc("Auth",
                        {json_answer(200, "Changed", schema_ref("Message")),
                         error_answer(400, "The current password is wrong")},
                        {}, schema_ref("PasswordChange"))});
}

}  // namespace honeyman::api::detail
