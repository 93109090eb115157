// Per-key request rate limits (token buckets). The in-process LocalRateLimiter limits one
// instance; a Redis-backed implementation of the same interface will make limits cluster-wide.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace honeyman::http::detail {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Takes one token from `key`'s bucket, whose capacity is `per_minute` and which refills at
  // per_minute/60 tokens per second. nullopt: allowed. Otherwise refused, and the value is the
  // whole seconds until a token is available (>= 1). Thread-safe.
  virtual std::optional<int> check(std::string_view key, int per_minute) = 0;
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
  std::size_t size() const;  // buckets currently held (all shards)

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
  struct Shard {
    mutable std::mutex mutex;
    Map buckets;
    TimePoint last_sweep;
  };
  static constexpr std::size_t kShards = 16;

  static bool refilled(const Bucket& b, TimePoint now);
  void make_room(Shard& shard, TimePoint now) const;

  TimeSource now_;
  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace honeyman::http::detail
