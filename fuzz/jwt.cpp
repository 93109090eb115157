// Access tokens (auth::verify_access_token, libjwt underneath). Random bytes almost never pass
// the signature, so besides fully random tokens ('0') the target also signs what it is given
// with the known key ('1': claims under the standard header; '2': a header line, then claims),
// which takes the fuzzer past the signature to the header and claim checks. Whatever the mode,
// an accepted token must carry a valid HS256 signature under the key (no forgery, no
// `alg: none`), a user, a jti and an expiry after "now".
#include <sodium.h>

#include "auth/auth.hpp"
#include "fuzz/fuzz.hpp"
#include "fuzz/support.hpp"

namespace honeyman::fuzz {
namespace {

constexpr std::string_view kJwtTarget = "jwt";
constexpr std::string_view kJwtKey = "fuzz-key-0123456789abcdef-012345";  // 32 bytes

std::string jwt_base64url(std::string_view bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), kVariant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string jwt_hmac(std::string_view signing_input) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(kJwtKey.data()),
                              kJwtKey.size());
  crypto_auth_hmacsha256_update(
      &state, reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
  return mac;
}

std::string jwt_sign(std::string_view header, std::string_view claims) {
  auto input = jwt_base64url(header) + "." + jwt_base64url(claims);
  return input + "." + jwt_base64url(jwt_hmac(input));
}

// Whether `token` is "<header>.<claims>.<signature>" with the signature HS256 under the key,
// checked here independently of libjwt.
bool jwt_signed_with_key(std::string_view token) {
  auto last = token.rfind('.');
  if (last == std::string_view::npos) return false;
  auto signature = token.substr(last + 1);
  while (!signature.empty() && signature.back() == '=') signature.remove_suffix(1);
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  std::size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(mac.data()), mac.size(), signature.data(),
                        signature.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return false;
  mac.resize(length);
  return mac == jwt_hmac(token.substr(0, last));
}

// An accepted token's times are its claims' whole seconds, exactly (not wrapped around).
void check_jwt_times(std::string_view claims_json, const auth::AccessClaims& claims) {
  boost::system::error_code ec;
  auto parsed = boost::json::parse(claims_json, ec);
  if (ec || !parsed.is_object()) return;
  for (auto [name, at] :
       {std::pair{"iat", claims.issued_at}, std::pair{"exp", claims.expires_at}}) {
    const auto* v = parsed.get_object().if_contains(name);
    if (v == nullptr || !v->is_int64()) continue;
    const auto seconds = v->get_int64();
    support::check(seconds >= 0 && seconds <= 253'402'300'799, kJwtTarget,
                   "token accepted with a time outside years 1970..9999");
    support::check(at.time_since_epoch() == std::chrono::seconds(seconds), kJwtTarget,
                   "token times differ from its claims");
  }
}

}  // namespace

int jwt(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto rest = support::as_text(data + 1, size - 1);
  std::string token;
  std::string_view claims_json;  // what was signed, when the target signed it
  switch (data[0] % 3) {
    case 0:
      token = rest;
      break;
    case 1:
      claims_json = rest;
      token = jwt_sign(R"({"alg":"HS256","typ":"JWT"})", rest);
      break;
    default: {
      auto newline = rest.find('\n');
      if (newline == std::string_view::npos) return 0;
      claims_json = rest.substr(newline + 1);
      token = jwt_sign(rest.substr(0, newline), claims_json);
    }
  }
  auth::AuthConfig config;
  config.secret_key = std::string(kJwtKey);
  auto claims = auth::verify_access_token(config, token, support::kNow);
  if (!claims) {
    support::check(claims.error().code == Errc::unauthorized, kJwtTarget, "a bad token is not 401");
    support::check_error_answer(kJwtTarget, claims.error());
    return 0;
  }
  support::check(jwt_signed_with_key(token), kJwtTarget, "token accepted without our signature");
  support::check(!claims->user_id.empty() && !claims->jti.empty(), kJwtTarget,
                 "token accepted without sub or jti");
  support::check(claims->expires_at > support::kNow, kJwtTarget, "expired token accepted");
  check_jwt_times(claims_json, *claims);
  return 0;
}

}  // namespace honeyman::fuzz
