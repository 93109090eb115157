#include <sodium.h>

#include "auth/auth.hpp"

namespace honeyman::auth {

Status check_password_policy(std::string_view password) {
  if (password.size() < 8)
    return validation_error(
        {{{"body", "password"}, "Password must be at least 8 characters", "string_too_short"}});
  if (password.size() > 1024)
    return validation_error(
        {{{"body", "password"}, "Password must be at most 1024 characters", "string_too_long"}});
  return {};
}

Result<std::string> hash_password(std::string_view password) {
  if (sodium_init() < 0) return make_error(Errc::internal, "libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  // Interactive limits: ~64 MiB and well under 100 ms here, so login stays responsive while an
  // offline attacker still pays argon2id's memory cost per guess.
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return make_error(Errc::unavailable, "out of memory while hashing a password");
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (sodium_init() < 0) return false;
  std::string h(hash);  // libsodium needs a NUL-terminated string
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

std::string new_api_key() {
  return "hmk_" + random_token(32);
}
std::string new_refresh_token() {
  return random_token(32);
}
std::string hash_secret(std::string_view secret) {
  return sha256_hex(secret);
}

}  // namespace honeyman::auth
