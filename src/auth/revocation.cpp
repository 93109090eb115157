#include <mutex>

#include "auth/auth.hpp"

namespace honeyman::auth {

RevocationView::RevocationView(std::chrono::microseconds session_memory)
    : session_memory_(session_memory) {}

bool RevocationView::is_revoked(const AccessClaims& claims) const {
  std::shared_lock lock(mutex_);
  if (revoked_.contains(claims.jti)) return true;
  if (!claims.session_id.empty() && sessions_.contains(claims.session_id)) return true;
  auto it = users_valid_after_.find(claims.user_id);
  // Whole seconds cannot order a token and a change made in the same second: those tokens are
  // decided by their session, which the change revoked (see the class comment).
  return it != users_valid_after_.end() &&
         claims.issued_at < std::chrono::floor<std::chrono::seconds>(it->second);
}

void RevocationView::revoke_token(std::string jti, Timestamp expires_at) {
  std::unique_lock lock(mutex_);
  revoked_[std::move(jti)] = expires_at;
}

void RevocationView::revoke_session(std::string session_id, Timestamp revoked_at) {
  std::unique_lock lock(mutex_);
  auto& forget_after = sessions_[std::move(session_id)];
  forget_after = std::max(forget_after, revoked_at + session_memory_);
}

void RevocationView::invalidate_user(std::string user_id, Timestamp valid_after) {
  std::unique_lock lock(mutex_);
  auto& cutoff = users_valid_after_[std::move(user_id)];
  cutoff = std::max(cutoff, valid_after);
}

// Sessions are read again over the whole memory window at every refresh rather than since the
// last one: a revocation stamped by another instance's clock, or committed after a later one,
// cannot slip between two polls.
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
  auto sessions = store.sessions_revoked_since(now - session_memory_);
  if (!sessions) return sessions.error();
  std::unique_lock lock(mutex_);
  std::erase_if(revoked_, [&](const auto& entry) { return entry.second <= now; });
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second <= now; });
  for (auto& t : *tokens) revoked_[t.jti] = t.expires_at;
  for (auto& [id, revoked_at] : *sessions) {
    auto& forget_after = sessions_[id];
    forget_after = std::max(forget_after, revoked_at + session_memory_);
  }
  for (auto& [id, cutoff] : *users) {
    auto& current = users_valid_after_[id];
    current = std::max(current, cutoff);
    last_user_poll_ = std::max(last_user_poll_, cutoff);
  }
  return {};
}

}  // namespace honeyman::auth
