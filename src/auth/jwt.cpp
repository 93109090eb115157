#include <jwt.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "auth/auth.hpp"

namespace honeyman::auth {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
using Jwt = std::unique_ptr<jwt_t, JwtFree>;
struct JwtStrFree {
  void operator()(char* s) const noexcept { std::free(s); }  // libjwt 1.10 allocates with malloc
};
using JwtStr = std::unique_ptr<char, JwtStrFree>;

const unsigned char* key_bytes(const AuthConfig& c) {
  return reinterpret_cast<const unsigned char*>(c.secret_key.data());
}

std::int64_t seconds(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
Timestamp from_seconds(long s) {
  return Timestamp{std::chrono::seconds{s}};
}
// The token times a Timestamp holds (microseconds) without overflow: years 1970..9999. A claim
// outside is refused before converting it (an exp of 10^17 s wrapped to the year 8319).
constexpr long kLatestTokenSeconds = 253'402'300'799;
bool valid_token_time(long s) {
  return s >= 0 && s <= kLatestTokenSeconds;
}

Error invalid_token() {
  return make_error(Errc::unauthorized, "Could not validate credentials");
}

std::string grant(jwt_t* j, const char* name) {
  const char* v = jwt_get_grant(j, name);
  return v ? v : "";
}

}  // namespace

std::string issue_access_token(const AuthConfig& config, const AccessClaims& c) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return {};
  Jwt j(raw);
  jwt_add_grant(j.get(), "sub", c.user_id.c_str());
  jwt_add_grant(j.get(), "name", c.username.c_str());
  jwt_add_grant(j.get(), "role", std::string(domain::to_string(c.role)).c_str());
  jwt_add_grant(j.get(), "type", "access");
  jwt_add_grant(j.get(), "jti", c.jti.c_str());
  jwt_add_grant(j.get(), "sid", c.session_id.c_str());
  jwt_add_grant_int(j.get(), "iat", seconds(c.issued_at));
  jwt_add_grant_int(j.get(), "exp", seconds(c.expires_at));
  jwt_set_alg(j.get(), JWT_ALG_HS256, key_bytes(config),
              static_cast<int>(config.secret_key.size()));
  JwtStr out(jwt_encode_str(j.get()));
  return out ? std::string(out.get()) : std::string();
}

Result<AccessClaims> verify_access_token(const AuthConfig& config, std::string_view token,
                                         Timestamp now) {
  if (token.empty() || token.size() > 4096) return invalid_token();
  std::string text(token);
  jwt_t* raw = nullptr;
  // With a key given, libjwt refuses unsigned (`alg: none`) tokens; the explicit algorithm
  // check below also refuses every algorithm but HS256 (no RS/HS confusion).
  if (jwt_decode(&raw, text.c_str(), key_bytes(config),
                 static_cast<int>(config.secret_key.size())) != 0 ||
      raw == nullptr)
    return invalid_token();
  Jwt j(raw);
  if (jwt_get_alg(j.get()) != JWT_ALG_HS256) return invalid_token();
  if (grant(j.get(), "type") != "access") return invalid_token();
  AccessClaims c;
  c.user_id = grant(j.get(), "sub");
  c.username = grant(j.get(), "name");
  c.jti = grant(j.get(), "jti");
  c.session_id = grant(j.get(), "sid");
  auto role = domain::parse_role(grant(j.get(), "role"));
  errno = 0;
  long iat = jwt_get_grant_int(j.get(), "iat");
  long exp = jwt_get_grant_int(j.get(), "exp");
  if (errno != 0 || !role || c.user_id.empty() || c.jti.empty() || !valid_token_time(iat) ||
      !valid_token_time(exp))
    return invalid_token();
  c.role = *role;
  c.issued_at = from_seconds(iat);
  c.expires_at = from_seconds(exp);
  if (c.expires_at <= now) return make_error(Errc::unauthorized, "Token has expired");
  return c;
}

}  // namespace honeyman::auth
