#include <mutex>

#include "auth/auth.hpp"

namespace honeyman::auth {

bool RevocationView::is_revoked(const AccessClaims& claims) const {
  std::shared_lock lock(mutex_);
  if (revoked_.contains(claims.jti)) return true;
  auto it = users_valid_after_.find(claims.user_id);
  // Token times have whole-second precision: a token issued in the same second as the
  // invalidation survives (a window below one second, accepted to keep the claims standard).
  return it != users_valid_after_.end() &&
         claims.issued_at < std::chrono::floor<std::chrono::seconds>(it->second);
}

void RevocationView::revoke_token(std::string jti, Timestamp expires_at) {
  std::unique_lock lock(mutex_);
  revoked_[std::move(jti)] = expires_at;
}

void RevocationView::invalidate_user(std::string user_id, Timestamp valid_after) {
  std::unique_lock lock(mutex_);
  auto& cutoff = users_valid_after_[std::move(user_id)];
  cutoff = std::max(cutoff, valid_after);
}

Status RevocationView::refresh(store::Store& store, Timestamp now) {
  auto tokens = store.revoked_access_tokens(now);
  if (!tokens) return tokens.error();
  Timestamp since;
  {
    std::shared_lock lock(mutex_);
    since = last_user_poll_;
  }
  auto users = store.users_invalidated_since(since);
  if (!users) return users.error();
  std::unique_lock lock(mutex_);
  std::erase_if(revoked_, [&](const auto& entry) { return entry.second <= now; });
  for (auto& t : *tokens) revoked_[t.jti] = t.expires_at;
  for (auto& [id, cutoff] : *users) {
    auto& current = users_valid_after_[id];
    current = std::max(current, cutoff);
    last_user_poll_ = std::max(last_user_poll_, cutoff);
  }
  return {};
}

}  // namespace honeyman::auth
