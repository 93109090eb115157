#include "ingest/detail/dead_letters.hpp"

#include <spdlog/spdlog.h>

#include "ingest/detail/store_retry.hpp"

namespace honeyman::ingest::detail {

store::DeadLetter dead_letter(std::string topic, std::string payload, std::string reason,
                              Timestamp received_at) {
  store::DeadLetter d;
  d.received_at = received_at;
  d.source = "mqtt";
  d.topic = std::move(topic);
  d.reason = std::move(reason);
  d.payload = std::move(payload);
  return d;
}

void write_dead_letters(store::Store& store, const Clock& clock, IngestTallies& tallies,
                        std::vector<store::DeadLetter> letters) {
  if (letters.empty()) return;
  for (const auto& d : letters) spdlog::debug("mqtt: dead letter on {}: {}", d.topic, d.reason);
  auto done = retry_store(clock, tallies, [&] { return store.insert_dead_letters(letters); });
  if (!done) spdlog::error("mqtt: dead letters not written: {}", done.error().message);
  IngestTallies::add(tallies.dead_lettered, letters.size());
}

}  // namespace honeyman::ingest::detail
