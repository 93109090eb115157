#include "http/detail/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace honeyman::http::detail {
namespace {

constexpr auto kSweepInterval = std::chrono::seconds(60);

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

LocalRateLimiter::LocalRateLimiter(TimeSource now, std::size_t max_keys)
    : now_(std::move(now)), max_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {}

std::optional<int> LocalRateLimiter::check(std::string_view key, int per_minute) {
  if (per_minute <= 0) return 60;  // a zero limit refuses everything
  const auto now = now_();
  const double rate = per_minute / 60.0;  // tokens per second
  auto& shard = shards_[KeyHash{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  auto& b = refreshed_bucket(shard, key, per_minute, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    if (tracking_.load(std::memory_order_relaxed)) {
      auto it = shard.usage.find(key);
      if (it == shard.usage.end()) it = shard.usage.emplace(std::string(key), Usage{}).first;
      it->second.per_minute = per_minute;
      ++it->second.count;
    }
    return std::nullopt;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate)));
}

std::optional<int> LocalRateLimiter::peek(std::string_view key, int per_minute) {
  if (per_minute <= 0) return 60;
  auto& shard = shards_[KeyHash{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  if (!shard.buckets.contains(key)) return std::nullopt;  // a new bucket is full
  const auto& b = refreshed_bucket(shard, key, per_minute, now_());
  if (b.tokens >= 1.0) return std::nullopt;
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / (per_minute / 60.0))));
}

LocalRateLimiter::Bucket& LocalRateLimiter::refreshed_bucket(Shard& shard, std::string_view key,
                                                             int per_minute, TimePoint now) {
  if (now - shard.last_sweep >= kSweepInterval) {
    std::erase_if(shard.buckets, [&](const auto& e) { return refilled(e.second, now); });
    shard.last_sweep = now;
  }
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) make_room(shard, now);
    it = shard.buckets.emplace(std::string(key), Bucket{double(per_minute), per_minute, now}).first;
  }
  auto& b = it->second;
  b.tokens =
      std::min<double>(per_minute, b.tokens + seconds(now - b.updated) * (per_minute / 60.0));
  b.per_minute = per_minute;
  b.updated = now;
  return b;
}

void LocalRateLimiter::track_usage() {
  tracking_ = true;
}

std::vector<RateUsage> LocalRateLimiter::take_usage() {
  std::vector<RateUsage> out;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (auto& [key, u] : shard.usage) out.push_back({key, u.per_minute, u.count});
    shard.usage.clear();
  }
  return out;
}

void LocalRateLimiter::add_usage(std::string_view key, int per_minute, int count) {
  if (per_minute <= 0 || count <= 0) return;
  auto& shard = shards_[KeyHash{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  auto& b = refreshed_bucket(shard, key, per_minute, now_());
  b.tokens = std::max<double>(-per_minute, b.tokens - count);
}

// A bucket that has refilled to capacity is indistinguishable from a new one.
bool LocalRateLimiter::refilled(const Bucket& b, TimePoint now) {
  return b.tokens + seconds(now - b.updated) * (b.per_minute / 60.0) >= b.per_minute;
}

// First forgets refilled buckets; if the shard is still full (many distinct clients at once),
// evicts the least recently used quarter so the next evictions are far apart (amortised O(1)).
void LocalRateLimiter::make_room(Shard& shard, TimePoint now) const {
  std::erase_if(shard.buckets, [&](const auto& e) { return refilled(e.second, now); });
  shard.last_sweep = now;
  if (shard.buckets.size() < max_per_shard_) return;
  std::vector<Map::iterator> order;
  order.reserve(shard.buckets.size());
  for (auto it = shard.buckets.begin(); it != shard.buckets.end(); ++it) order.push_back(it);
  auto cut = order.begin() + static_cast<std::ptrdiff_t>(order.size() / 4 + 1);
  std::nth_element(order.begin(), cut - 1, order.end(),
                   [](auto a, auto b) { return a->second.updated < b->second.updated; });
  for (auto it = order.begin(); it != cut; ++it) shard.buckets.erase(*it);
}

std::size_t LocalRateLimiter::size() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.buckets.size();
  }
  return total;
}

}  // namespace honeyman::http::detail
