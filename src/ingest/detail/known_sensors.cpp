#include "ingest/detail/known_sensors.hpp"

#include <spdlog/spdlog.h>

#include "ingest/detail/store_retry.hpp"

namespace honeyman::ingest::detail {

KnownSensors::KnownSensors(store::Store& store, const Clock& clock, IngestTallies& tallies,
                           std::chrono::seconds known_ttl)
    : store_(store), clock_(clock), tallies_(tallies), known_ttl_(known_ttl) {}

bool KnownSensors::contains(const std::string& sensor_id) {
  auto now = clock_.steady_now();
  if (auto it = known_until_.find(sensor_id); it != known_until_.end() && it->second > now)
    return true;
  if (auto it = unknown_until_.find(sensor_id); it != unknown_until_.end() && it->second > now)
    return false;
  auto sensor =
      retry_store(clock_, tallies_, [&] { return store_.find_sensor(sensor_id, clock_.now()); });
  if (sensor) {
    known_until_[sensor_id] = now + known_ttl_;
    unknown_until_.erase(sensor_id);
    return true;
  }
  if (sensor.error().code != Errc::not_found)
    spdlog::error("mqtt: sensor lookup failed: {}", sensor.error().message);
  unknown_until_[sensor_id] = now + kUnknownTtl;
  return false;
}

}  // namespace honeyman::ingest::detail
