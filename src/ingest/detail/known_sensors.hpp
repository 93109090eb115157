// "Does this sensor exist?" for the decoder, asked of the store and cached on the injected
// clock's steady time: a yes for `known_ttl` (a deleted sensor's messages are still taken that
// long; the store then refuses its threats, which are dead-lettered), a no for one second (a
// sensor onboarded a moment ago is found soon). Not thread-safe: the decoder thread owns it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "core/core.hpp"
#include "ingest/detail/stats.hpp"
#include "store/store.hpp"

namespace honeyman::ingest::detail {

class KnownSensors {
 public:
  KnownSensors(store::Store& store, const Clock& clock, IngestTallies& tallies,
               std::chrono::seconds known_ttl);
  // Looks the sensor up unless cached; the lookup is retried while the store is unavailable.
  // Another store error counts as "unknown" (logged).
  bool contains(const std::string& sensor_id);

  static constexpr std::chrono::seconds kUnknownTtl{1};

 private:
  store::Store& store_;
  const Clock& clock_;
  IngestTallies& tallies_;
  std::chrono::seconds known_ttl_;
  std::map<std::string, Clock::SteadyTime, std::less<>> known_until_, unknown_until_;
};

}  // namespace honeyman::ingest::detail
