#include "ingest/detail/stats.hpp"

#include <spdlog/spdlog.h>

namespace honeyman::ingest::detail {

void IngestTallies::fill(MqttIngestCounters& c) const {
  c.threats_stored = threats_stored.load(std::memory_order_relaxed);
  c.heartbeats = heartbeats.load(std::memory_order_relaxed);
  c.registrations = registrations.load(std::memory_order_relaxed);
  c.dead_lettered = dead_lettered.load(std::memory_order_relaxed);
  c.retries = retries.load(std::memory_order_relaxed);
}

StatsLog::StatsLog(const Clock& clock, std::chrono::seconds interval)
    : clock_(clock), interval_(interval), next_(clock.steady_now()) {}

void StatsLog::maybe_log(const MqttIngestCounters& c, bool final) {
  auto now = clock_.steady_now();
  if (!final && now < next_) return;
  next_ = now + interval_;
  if (!final && c.received == logged_.received && c.threats_stored == logged_.threats_stored &&
      c.dead_lettered == logged_.dead_lettered)
    return;
  logged_ = c;
  spdlog::info(
      "mqtt ingest{}: received {}, threats stored {}, heartbeats {}, registrations {}, "
      "dead-lettered {}, retries {}, queue {}, in flight {}, last batch {}",
      final ? " (final)" : "", c.received, c.threats_stored, c.heartbeats, c.registrations,
      c.dead_lettered, c.retries, c.queue_depth, c.in_flight, c.last_batch);
}

}  // namespace honeyman::ingest::detail
