#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/request_bodies.hpp"
#include "api/detail/routes.hpp"

namespace honeyman::api::detail {

Result<LoginBody> parse_login(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"username", "password"}, errors);
  auto username = string_member(body, "username", errors, true, 64);
  auto password = string_member(body, "password", errors, true, 1024);
  if (!errors.empty()) return validation_error(std::move(errors));
  return LoginBody{std::move(*username), std::move(*password)};
}

Result<std::string> parse_refresh(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"refresh_token"}, errors);
  auto token = string_member(body, "refresh_token", errors, true, 256);
  if (!errors.empty()) return validation_error(std::move(errors));
  return std::move(*token);
}

namespace {

json::object token_json(const auth::TokenPair& t) {
  return {{"access_token", t.access_token},
          {"refresh_token", t.refresh_token},
          {"token_type", "bearer"},
          {"expires_in", t.expires_in}};
}

asio::awaitable<Response> login(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto credentials = parse_login(*body);
  if (!credentials) co_return http::error_response(credentials.error());
  auto result = co_await run_blocking(s.pool, [&] {
    return s.auth.login(credentials->username, credentials->password, ctx.client_address);
  });
  if (!result) co_return http::error_response(result.error());
  co_return ok(
      json::object{{"user", domain::to_json(result->user)}, {"token", token_json(result->token)}});
}

asio::awaitable<Response> refresh(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto token = parse_refresh(*body);
  if (!token) co_return http::error_response(token.error());
  auto result =
      co_await run_blocking(s.pool, [&] { return s.auth.refresh(*token, ctx.client_address); });
  if (!result) co_return http::error_response(result.error());
  co_return ok(token_json(*result));
}

// The authenticator already verified the token; read it again for the session id it carries.
asio::awaitable<Response> logout(RequestContext& ctx, Services& s) {
  auto header = ctx.request[boost::beast::http::field::authorization];
  auto claims = s.auth.authenticate_bearer(header.size() > 7 ? header.substr(7) : "");
  if (!claims) co_return http::error_response(claims.error());
  auto done =
      co_await run_blocking(s.pool, [&] { return s.auth.logout(*claims, ctx.client_address); });
  if (!done) co_return http::error_response(done.error());
  co_return ok(message("Successfully logged out"));
}

asio::awaitable<Response> me(RequestContext& ctx, Services& s) {
  auto user =
      co_await run_blocking(s.pool, [&] { return s.store.find_user_by_id(ctx.principal.id); });
  if (!user) co_return http::error_response(user.error());
  co_return ok(domain::to_json(*user));
}

}  // namespace

void add_auth_routes(http::Router& router, Services& s) {
  const auto& p = s.config.prefix;
  using http::Access;
  using http::RateClass;
  using http::Verb;
  auto login_doc = route_doc("Auth",
                             {json_answer(200, "Signed in", schema_ref("LoginResponse")),
                              error_answer(401, "Unknown user or wrong password (same text)"),
                              error_answer(403, "The user is disabled")},
                             {}, schema_ref("LoginRequest"));
  router.add({Verb::post, p + "/auth/login", Access::anyone, RateClass::login,
              [&s](RequestContext& c) { return login(c, s); }, "Log in: user and token pair",
              login_doc});
  router.add({Verb::post, p + "/auth/refresh", Access::anyone, RateClass::login,
              [&s](RequestContext& c) { return refresh(c, s); },
              "Rotate a refresh token (single use; reuse revokes the session)",
              route_doc("Auth",
                        {json_answer(200, "A new token pair", schema_ref("Token")),
                         error_answer(401, "Unknown, expired or already used refresh token")},
                        {}, schema_ref("RefreshRequest"))});
  router.add({Verb::post, p + "/auth/logout", Access::viewer, RateClass::normal,
              [&s](RequestContext& c) { return logout(c, s); },
              "Revoke the session and the presented access token",
              route_doc("Auth", {json_answer(200, "Logged out", schema_ref("Message"))})});
  router.add({Verb::get, p + "/auth/me", Access::viewer, RateClass::normal,
              [&s](RequestContext& c) { return me(c, s); }, "The logged-in user",
              route_doc("Auth", {json_answer(200, "The caller", schema_ref("User"))})});
}

}  // namespace honeyman::api::detail
