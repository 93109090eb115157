#include <boost/beast/http/field.hpp>

#include "api/detail/common.hpp"

namespace honeyman::api {
namespace {

namespace asio = boost::asio;

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// The product's roles as the http module's access levels (http::allows compares those).
http::Access access_of(domain::Role role) {
  switch (role) {
    case domain::Role::admin:
      return http::Access::admin;
    case domain::Role::analyst:
      return http::Access::analyst;
    case domain::Role::viewer:
      return http::Access::viewer;
  }
  return http::Access::viewer;
}

class Authenticator final : public http::Authenticator {
 public:
  explicit Authenticator(Services& s) : s_(s) {}

  asio::awaitable<Result<http::Principal>> authenticate(const http::Request& req) override {
    auto authorization = req[boost::beast::http::field::authorization];
    if (!authorization.empty()) co_return bearer(authorization);
    auto key = req["X-API-Key"];
    if (!key.empty()) co_return co_await api_key(key);
    co_return http::Principal{};
  }

 private:
  Result<http::Principal> bearer(std::string_view header) {
    if (!iequals_prefix(header, "bearer "))
      return make_error(Errc::unauthorized, "Authorization must be 'Bearer <token>'");
    // JWT verification is CPU only (HMAC + in-memory revocation view): no pool hop.
    auto claims = s_.auth.authenticate_bearer(header.substr(7));
    if (!claims) return claims.error();
    http::Principal p;
    p.kind = http::Principal::Kind::user;
    p.id = claims->user_id;
    p.name = claims->username;
    p.grants = access_of(claims->role);
    p.token_id = claims->jti;
    p.token_expires_at = claims->expires_at;
    return p;
  }

  asio::awaitable<Result<http::Principal>> api_key(std::string_view key) {
    auto sensor = s_.auth.cached_api_key(key);
    if (!sensor) {
      // Only reference captures in a lambda passed inside co_await: GCC 12 destroys by-value
      // captures of such temporaries twice.
      std::string owned(key);
      auto looked_up =
          co_await run_blocking(s_.pool, [&] { return s_.auth.authenticate_api_key(owned); });
      if (!looked_up) co_return looked_up.error();
      sensor = std::move(*looked_up);
    }
    http::Principal p;
    p.kind = http::Principal::Kind::sensor;
    p.id = *sensor;
    p.name = *sensor;
    co_return p;
  }

  Services& s_;
};

}  // namespace

std::unique_ptr<http::Authenticator> make_authenticator(Services& services) {
  return std::make_unique<Authenticator>(services);
}

}  // namespace honeyman::api
