// A small per-instance cache of whole responses, for read-only routes that dashboards poll every
// few seconds (the analytics, the sensor list). Entries live `ttl`; after that the first request
// recomputes while the others keep getting the previous answer (at most 5 × ttl old), so a busy
// dashboard wall never sends a burst of identical queries to the store when an entry expires.
// Thread-safe. Keys are request targets (path and query string); callers check access first.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/http.hpp"

namespace honeyman::api {
struct Services;
}

namespace honeyman::api::detail {

class ResponseCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ResponseCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  bool enabled() const { return ttl_.count() > 0; }
  // The cached response, or nullopt when the caller must compute it and then call store().
  std::optional<http::Response> lookup(const std::string& key, Clock::time_point now);
  // Keeps `response` (a 200 only) as computed at `started`; anything else just ends a refresh.
  void store(const std::string& key, const http::Response& response, Clock::time_point started);
  // Forgets every entry, and answers whose computation started before `now` are not kept: after
  // a write through this instance, its next read shows the write.
  void clear(Clock::time_point now);

 private:
  struct Entry {
    http::Response response;
    Clock::time_point computed_at;
    bool refreshing = false;
  };
  static constexpr std::size_t kMaxEntries = 256;
  static constexpr int kMaxStaleTtls = 5;

  std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  Clock::time_point cleared_at_{};
};

// Serves `handler`'s answer from `cache` when it can; the key is the whole target (path and
// query), so callers check access before (the router does) and answers must not depend on who asks.
using CachedHandler = boost::asio::awaitable<http::Response> (*)(http::RequestContext&, Services&);
boost::asio::awaitable<http::Response> cached(http::RequestContext& ctx, Services& s,
                                              ResponseCache& cache, CachedHandler handler);

// A sensor was created, changed or deleted through this instance: cached sensor lists go.
void sensors_changed(Services& s);

}  // namespace honeyman::api::detail
