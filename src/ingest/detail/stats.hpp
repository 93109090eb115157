// The counters of MQTT ingest that several threads add to, and their periodic log line.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/core.hpp"
#include "ingest/ingest.hpp"

namespace honeyman::ingest::detail {

// Added to from any thread (relaxed atomics: each is a tally, read only for reports).
struct IngestTallies {
  std::atomic<std::uint64_t> threats_stored{0}, heartbeats{0}, registrations{0}, dead_lettered{0},
      retries{0};

  static void add(std::atomic<std::uint64_t>& tally, std::uint64_t n) {
    tally.fetch_add(n, std::memory_order_relaxed);
  }
  // The tallies into `c` (the other fields are left as they are).
  void fill(MqttIngestCounters& c) const;
};

// Logs the counters every `interval` of the clock's steady time, when something changed since
// the last line. Not thread-safe: the decoder thread owns it.
class StatsLog {
 public:
  StatsLog(const Clock& clock, std::chrono::seconds interval);
  // Logs `c` if the interval has passed and it differs from the last line; `final` logs anyway.
  void maybe_log(const MqttIngestCounters& c, bool final);

 private:
  const Clock& clock_;
  std::chrono::seconds interval_;
  Clock::SteadyTime next_;
  MqttIngestCounters logged_;
};

}  // namespace honeyman::ingest::detail
