#include <spdlog/spdlog.h>

#include <mutex>

#include "auth/auth.hpp"

namespace honeyman::auth {
namespace {

Error bad_credentials() {
  return make_error(Errc::unauthorized, "Incorrect username or password");
}
Error inactive_user() {
  return make_error(Errc::forbidden, "Inactive user");
}
Error bad_refresh() {
  return make_error(Errc::unauthorized, "Invalid or expired refresh token");
}

// How long past its session's revocation an access token of it may still be presented: tokens
// are issued after the store call that starts or rotates the session commits, so one can carry
// an issue time a little later than a revocation that raced it; the margin also covers clock
// differences between the instances that stamp and read revocations.
constexpr std::chrono::minutes kRevokedSessionMargin{1};

}  // namespace

AuthService::AuthService(AuthConfig config, store::Store& store, const Clock& clock)
    : config_(std::move(config)),
      store_(store),
      clock_(clock),
      revocations_(config_.access_token_ttl + kRevokedSessionMargin) {}

TokenPair AuthService::issue_pair(const domain::User& user, const std::string& session_id,
                                  std::string refresh_token) {
  auto now = std::chrono::floor<std::chrono::seconds>(clock_.now());
  AccessClaims claims{user.id,
                      user.username,
                      user.role,
                      uuid_v4(),
                      session_id,
                      now,
                      now + config_.access_token_ttl};
  return TokenPair{
      issue_access_token(config_, claims), std::move(refresh_token),
      std::chrono::duration_cast<std::chrono::seconds>(config_.access_token_ttl).count()};
}

Result<LoginResult> AuthService::login(std::string_view username, std::string_view password,
                                       std::string_view client_addr) {
  auto result = attempt_login(username, password, client_addr);
  if (!result &&
      (result.error().code == Errc::unauthorized || result.error().code == Errc::forbidden)) {
    // The name as given (bounded; it may be anything): who tried matters, whether or not such
    // a user exists. Never the password.
    store::Actor who{std::string(username.substr(0, 64)), "anonymous", std::string(client_addr)};
    auto entry = store::audit_entry(
        who, clock_.now(), "auth.login_failed", "user", "",
        {{"reason", result.error().code == Errc::forbidden ? "inactive" : "bad_credentials"}});
    if (auto recorded = store_.record_audit(entry); !recorded)
      spdlog::warn("audit: a failed login could not be recorded: {}", recorded.error().message);
  }
  return result;
}

Result<LoginResult> AuthService::attempt_login(std::string_view username, std::string_view password,
                                               std::string_view client_addr) {
  auto user = store_.find_user_by_name(username);
  if (!user) {
    if (user.error().code != Errc::not_found) return user.error();
    // A real argon2id hash of a random password, so an unknown user costs as much as a known
    // one. Made on first need: hashing at construction would add ~50 ms to start-up.
    std::call_once(dummy_once_, [this] {
      if (auto dummy = hash_password(random_token(16))) dummy_hash_ = std::move(*dummy);
    });
    verify_password(dummy_hash_, password);
    return bad_credentials();
  }
  if (!verify_password(user->password_hash, password)) return bad_credentials();
  if (!user->is_active) return inactive_user();

  // The user may have been changed while argon2id ran: the store starts the session only if the
  // user is still active with the hash just verified, and answers with the row as it is now.
  auto now = clock_.now();
  store::Session session{uuid_v4(), user->id, now, now + config_.refresh_token_ttl};
  auto refresh_token = new_refresh_token();
  auto audit = store::audit_entry(
      {user->username, std::string(domain::to_string(user->role)), std::string(client_addr)}, now,
      "auth.login", "user", user->id, {{"session", session.id}});
  auto started =
      store_.start_session(session, hash_secret(refresh_token), user->password_hash, &audit);
  if (!started) {
    switch (started.error().code) {
      case Errc::forbidden:
        return inactive_user();
      case Errc::unauthorized:
      case Errc::not_found:
        return bad_credentials();
      default:
        return started.error();
    }
  }
  spdlog::info("login: user '{}' signed in", started->username);
  auto pair = issue_pair(*started, session.id, std::move(refresh_token));
  return LoginResult{std::move(*started), std::move(pair)};
}

Result<TokenPair> AuthService::refresh(std::string_view refresh_token,
                                       std::string_view client_addr) {
  if (refresh_token.empty() || refresh_token.size() > 256) return bad_refresh();
  auto fresh = new_refresh_token();
  auto rotated =
      store_.rotate_refresh_token(hash_secret(refresh_token), hash_secret(fresh), clock_.now());
  if (!rotated) return rotated.error();
  switch (rotated->outcome) {
    case store::RotateOutcome::invalid:
      return bad_refresh();
    case store::RotateOutcome::reused:
      revocations_.revoke_session(rotated->session_id, clock_.now());
      spdlog::warn("refresh token reuse detected: session {} of user {} revoked",
                   rotated->session_id, rotated->user_id);
      if (auto recorded = store_.record_audit(store::audit_entry(
              {rotated->user_id, "anonymous", std::string(client_addr)}, clock_.now(),
              "auth.refresh_reuse", "session", rotated->session_id));
          !recorded)
        spdlog::warn("audit: a refresh-token reuse could not be recorded: {}",
                     recorded.error().message);
      return make_error(Errc::unauthorized, "Refresh token reuse detected; session revoked");
    case store::RotateOutcome::rotated:
      break;
  }
  auto user = store_.find_user_by_id(rotated->user_id);
  if (!user || !user->is_active) {
    (void)store_.revoke_session(rotated->session_id, clock_.now());
    revocations_.revoke_session(rotated->session_id, clock_.now());
    return bad_refresh();
  }
  return issue_pair(*user, rotated->session_id, std::move(fresh));
}

Status AuthService::logout(const AccessClaims& claims, std::string_view client_addr) {
  auto now = clock_.now();
  if (!claims.session_id.empty()) {
    auto audit = store::audit_entry(
        {claims.username, std::string(domain::to_string(claims.role)), std::string(client_addr)},
        now, "auth.logout", "session", claims.session_id);
    if (auto s = store_.revoke_session(claims.session_id, now, &audit); !s) return s;
    revocations_.revoke_session(claims.session_id, now);
  }
  if (auto s = store_.revoke_access_token({claims.jti, claims.expires_at}); !s) return s;
  revocations_.revoke_token(claims.jti, claims.expires_at);
  return {};
}

Result<AccessClaims> AuthService::authenticate_bearer(std::string_view token) {
  auto claims = verify_access_token(config_, token, clock_.now());
  if (!claims) return claims;
  if (revocations_.is_revoked(*claims))
    return make_error(Errc::unauthorized, "Token has been revoked");
  return claims;
}

Result<std::string> AuthService::authenticate_api_key(std::string_view api_key) {
  if (api_key.empty() || api_key.size() > 256)
    return make_error(Errc::unauthorized, "Invalid API key");
  if (auto cached = cached_api_key(api_key)) return *cached;
  auto hash = hash_secret(api_key);
  auto now = clock_.now();
  auto sensor = store_.find_sensor_by_api_key(hash);
  if (!sensor) {
    if (sensor.error().code == Errc::not_found)
      return make_error(Errc::unauthorized, "Invalid API key");
    return sensor.error();
  }
  std::unique_lock lock(keys_mutex_);
  if (key_cache_.size() > 100'000) key_cache_.clear();  // bound memory against key spraying
  key_cache_[hash] = CachedKey{*sensor, now + config_.api_key_cache_ttl};
  return sensor;
}

std::optional<std::string> AuthService::cached_api_key(std::string_view api_key) const {
  auto hash = hash_secret(api_key);
  std::shared_lock lock(keys_mutex_);
  if (auto it = key_cache_.find(hash); it != key_cache_.end() && it->second.expires > clock_.now())
    return it->second.sensor_id;
  return std::nullopt;
}

void AuthService::forget_sensor_keys(std::string_view sensor_id) {
  std::unique_lock lock(keys_mutex_);
  std::erase_if(key_cache_, [&](const auto& e) { return e.second.sensor_id == sensor_id; });
}

Status AuthService::refresh_revocations() {
  return revocations_.refresh(store_, clock_.now());
}

}  // namespace honeyman::auth
