#include "api/detail/response_cache.hpp"

#include "api/api.hpp"

namespace honeyman::api::detail {

std::optional<http::Response> ResponseCache::lookup(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  auto age = now - it->second.computed_at;
  if (age < ttl_) return it->second.response;
  if (age < kMaxStaleTtls * ttl_) {
    if (it->second.refreshing) return it->second.response;  // someone else is on it
    it->second.refreshing = true;
    return std::nullopt;
  }
  entries_.erase(it);  // too old to serve even while refreshing
  return std::nullopt;
}

void ResponseCache::store(const std::string& key, const http::Response& response,
                          Clock::time_point started) {
  std::lock_guard lock(mutex_);
  if (started < cleared_at_) return;  // computed before a write this instance made
  if (response.result() != http::StatusCode::ok) {
    if (auto it = entries_.find(key); it != entries_.end()) it->second.refreshing = false;
    return;
  }
  if (entries_.size() >= kMaxEntries && !entries_.contains(key)) {
    std::erase_if(entries_, [&](const auto& e) { return started - e.second.computed_at >= ttl_; });
    if (entries_.size() >= kMaxEntries) entries_.clear();  // many distinct live queries: start over
  }
  auto& entry = entries_[key];
  if (entry.computed_at > started && !entry.refreshing) return;  // a newer answer is already in
  entry = Entry{response, started, false};
}

void ResponseCache::clear(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  entries_.clear();
  cleared_at_ = now;
}

boost::asio::awaitable<http::Response> cached(http::RequestContext& ctx, Services& s,
                                              ResponseCache& cache, CachedHandler handler) {
  if (!cache.enabled()) co_return co_await handler(ctx, s);
  std::string key(ctx.request.target());
  auto started = ResponseCache::Clock::now();
  if (auto hit = cache.lookup(key, started)) co_return std::move(*hit);
  auto response = co_await handler(ctx, s);
  cache.store(key, response, started);
  co_return response;
}

void sensors_changed(Services& s) {
  if (s.sensor_list_cache) s.sensor_list_cache->clear(ResponseCache::Clock::now());
}

}  // namespace honeyman::api::detail
