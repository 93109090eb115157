// How MQTT ingest calls the store: every call that fails with Errc::unavailable is retried, with
// no budget. A message was acknowledged to the broker before we saw it, so giving up would drop
// it; and while the decoder waits, the bounded queue pushes back on the broker instead.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "core/core.hpp"
#include "ingest/detail/stats.hpp"

namespace honeyman::ingest::detail {

// 50 ms doubling to 2 s, forever.
inline RetryPolicy mqtt_store_retry_policy() {
  RetryPolicy policy;
  policy.backoff.initial = std::chrono::milliseconds(50);
  policy.backoff.max = std::chrono::milliseconds(2000);
  return policy;
}

// retry_with_backoff() with that policy, logging and counting each retry.
template <class Fn>
auto retry_store(const Clock& clock, IngestTallies& tallies, Fn&& fn) {
  return retry_with_backoff(clock, mqtt_store_retry_policy(), std::forward<Fn>(fn),
                            [&tallies](const Error& e, std::chrono::milliseconds wait) {
                              spdlog::warn("mqtt: store unavailable ({}); retrying in {} ms",
                                           e.message, wait.count());
                              IngestTallies::add(tallies.retries, 1);
                            });
}

}  // namespace honeyman::ingest::detail
