// auth: who is calling. Access tokens (JWT HS256), refresh-token families with rotation and
// reuse detection, argon2id passwords, sensor API keys, and the revocation view every request
// consults. Role checks themselves live in http::allows.
//
// Thread-safety: all functions and AuthService methods are thread-safe. AuthService methods
// that take the Store block (database, argon2id): call them from a BlockingPool.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/core.hpp"
#include "domain/domain.hpp"
#include "store/store.hpp"

namespace honeyman::auth {

struct AuthConfig {
  std::string secret_key;                        // HS256 key; required outside development
  std::chrono::minutes access_token_ttl{30};     // ACCESS_TOKEN_EXPIRE_MINUTES
  std::chrono::hours refresh_token_ttl{24 * 7};  // REFRESH_TOKEN_EXPIRE_DAYS
  std::chrono::seconds api_key_cache_ttl{5};     // how long a verified API key is trusted
};

// ---------------------------------------------------------------------------------------------
// Passwords: argon2id (libsodium, interactive limits). Policy: 8..1024 bytes.
Status check_password_policy(std::string_view password);
Result<std::string> hash_password(std::string_view password);
bool verify_password(std::string_view hash, std::string_view password);

// ---------------------------------------------------------------------------------------------
// Access tokens: claims sub (user id), name (username), role, type "access", jti, sid
// (session id), iat, exp.
struct AccessClaims {
  std::string user_id;
  std::string username;
  domain::Role role = domain::Role::viewer;
  std::string jti;
  std::string session_id;
  Timestamp issued_at, expires_at;  // whole seconds, as in the token
};

std::string issue_access_token(const AuthConfig& config, const AccessClaims& claims);
// Errc::unauthorized for a token that is malformed, not HS256 (including `alg: none`), signed
// with another key, expired at `now`, or not of type "access".
Result<AccessClaims> verify_access_token(const AuthConfig& config, std::string_view token,
                                         Timestamp now);

// ---------------------------------------------------------------------------------------------
// Secrets handed out once and stored only as SHA-256 hashes.
std::string new_api_key();        // "hmk_" + 43 url-safe characters (256 bits)
std::string new_refresh_token();  // 43 url-safe characters (256 bits)
std::string hash_secret(std::string_view secret);

// ---------------------------------------------------------------------------------------------
// What the instance knows about revoked access tokens, revoked sessions and invalidated users.
// Updated at once by this instance's own logouts and reuse detections, and from the store by
// refresh() so revocations made by other instances or the CLI take effect within one refresh
// period.
//
// A token is revoked when its jti is, when its session (sid) is, or when it was issued in a
// second before its user's tokens_valid_after. The session rule is the exact one: every change of
// a user revokes all the user's sessions in the transaction that stamps tokens_valid_after, so a
// token issued earlier in the same second (which the whole-second iat cannot tell apart) dies
// with its session.
class RevocationView {
 public:
  // `session_memory`: how long after its revocation a session can still have a live access token
  // (the access-token lifetime plus a margin); its entry is kept that long.
  explicit RevocationView(std::chrono::microseconds session_memory);

  bool is_revoked(const AccessClaims& claims) const;
  void revoke_token(std::string jti, Timestamp expires_at);
  void revoke_session(std::string session_id, Timestamp revoked_at);
  void invalidate_user(std::string user_id, Timestamp valid_after);
  // Reloads from the store; drops entries that expired by `now`.
  Status refresh(store::Store& store, Timestamp now);

 private:
  std::chrono::microseconds session_memory_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Timestamp> revoked_;            // jti -> token expiry
  std::unordered_map<std::string, Timestamp> sessions_;           // session id -> forget after
  std::unordered_map<std::string, Timestamp> users_valid_after_;  // user id -> cutoff
  Timestamp last_user_poll_{};
};

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  std::int64_t expires_in = 0;  // seconds
};

struct LoginResult {
  domain::User user;
  TokenPair token;
};

class AuthService {
 public:
  AuthService(AuthConfig config, store::Store& store, const Clock& clock);

  // Errc::unauthorized with the same message for an unknown user and a wrong password (and the
  // same argon2id cost); Errc::forbidden for an inactive user with the right password. Only
  // last_login and the new session are written, and only if the user is still active with the
  // password verified (Store::start_session): a concurrent `user disable`, `passwd` or
  // `set-role` is never undone, and the login either fails or its session ends with the change.
  // Audit: a successful login is recorded with its session, a refused one (unknown user, wrong
  // password, inactive) on its own, from `client_addr`.
  Result<LoginResult> login(std::string_view username, std::string_view password,
                            std::string_view client_addr = {});
  // Rotation: the presented token is spent; reuse revokes its whole family, access tokens
  // included. Errc::unauthorized.
  // A detected reuse is recorded in the audit log.
  Result<TokenPair> refresh(std::string_view refresh_token, std::string_view client_addr = {});
  // Revokes the token's session family, with every access token of it, and the access token
  // itself (until it expires).
  Status logout(const AccessClaims& claims, std::string_view client_addr = {});
  // Verifies signature, expiry, type and revocation.
  Result<AccessClaims> authenticate_bearer(std::string_view token);
  // Whether claims accepted earlier have been revoked since (logout, session revoked, user
  // changed); in memory, for long-lived connections (WebSocket) to re-check.
  bool is_revoked(const AccessClaims& claims) const { return revocations_.is_revoked(claims); }
  // The sensor_id owning `api_key`, or Errc::unauthorized. Cached for api_key_cache_ttl.
  Result<std::string> authenticate_api_key(std::string_view api_key);
  // The cached answer for `api_key`, without touching the store (callers on network threads
  // try this first and fall back to authenticate_api_key on a BlockingPool).
  std::optional<std::string> cached_api_key(std::string_view api_key) const;
  // Drops cached API keys of `sensor_id` (after revoke-key or delete on this instance).
  void forget_sensor_keys(std::string_view sensor_id);
  Status refresh_revocations();

  const AuthConfig& config() const { return config_; }

 private:
  Result<LoginResult> attempt_login(std::string_view username, std::string_view password,
                                    std::string_view client_addr);
  TokenPair issue_pair(const domain::User& user, const std::string& session_id,
                       std::string refresh_token);

  AuthConfig config_;
  store::Store& store_;
  const Clock& clock_;
  RevocationView revocations_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;  // verified against for unknown users, to equalise timing

  struct CachedKey {
    std::string sensor_id;
    Timestamp expires;
  };
  mutable std::shared_mutex keys_mutex_;
  std::unordered_map<std::string, CachedKey> key_cache_;  // key hash -> sensor
};

}  // namespace honeyman::auth
