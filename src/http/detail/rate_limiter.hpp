// Per-key request rate limits (token buckets), held in memory by each instance. Limits hold
// across instances by exchanging usage: each instance reports what it allowed per key
// (take_usage) and charges what the others allowed to its own buckets (add_usage); see
// docs/DECISIONS.md "Rate limits across instances".
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/http.hpp"

namespace honeyman::http::detail {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Takes one token from `key`'s bucket, whose capacity is `per_minute` and which refills at
  // per_minute/60 tokens per second. nullopt: allowed. Otherwise refused, and the value is the
  // whole seconds until a token is available (>= 1). Thread-safe.
  virtual std::optional<int> check(std::string_view key, int per_minute) = 0;
  // What check() would answer, without taking a token. Thread-safe.
  virtual std::optional<int> peek(std::string_view key, int per_minute) = 0;
};

// Buckets in memory, sharded by key hash (one mutex per shard). Memory is bounded: buckets that
// have refilled completely are swept once a minute (forgetting them changes nothing), and a shard
// at its share of `max_keys` evicts its least recently used buckets.
class LocalRateLimiter final : public RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using TimeSource = std::function<TimePoint()>;  // injected so tests control time
  static TimePoint steady_now() { return std::chrono::steady_clock::now(); }

  explicit LocalRateLimiter(TimeSource now = steady_now, std::size_t max_keys = 100'000);
  std::optional<int> check(std::string_view key, int per_minute) override;
  std::optional<int> peek(std::string_view key, int per_minute) override;
  std::size_t size() const;  // buckets currently held (all shards)

  // From now on, check() counts what it allows per key for take_usage().
  void track_usage();
  // The requests allowed per key since the previous call (tracking must be on).
  std::vector<RateUsage> take_usage();
  // Takes `count` tokens from `key`'s bucket for requests another instance allowed. The bucket
  // may go below zero (down to -capacity): its client then waits until the whole cluster's use
  // has refilled, so over time the cluster allows the limit, not the limit per instance.
  void add_usage(std::string_view key, int per_minute, int count);

 private:
  struct Bucket {
    double tokens = 0;
    int per_minute = 0;
    TimePoint updated;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Map = std::unordered_map<std::string, Bucket, KeyHash, std::equal_to<>>;
  struct Usage {
    int per_minute = 0;
    int count = 0;
  };
  struct Shard {
    mutable std::mutex mutex;
    Map buckets;
    TimePoint last_sweep;
    std::unordered_map<std::string, Usage, KeyHash, std::equal_to<>> usage;  // since take_usage
  };
  static constexpr std::size_t kShards = 16;

  static bool refilled(const Bucket& b, TimePoint now);
  void make_room(Shard& shard, TimePoint now) const;
  // The key's bucket, created full and refilled to `now`. Shard mutex held.
  Bucket& refreshed_bucket(Shard& shard, std::string_view key, int per_minute, TimePoint now);

  TimeSource now_;
  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<bool> tracking_{false};
};

}  // namespace honeyman::http::detail
