// Dead letters of MQTT ingest: every refused message is stored with its reason (and at most
// kOversizedKeptBytes of an oversized payload), for `honeyman dead-letters`.
#pragma once

#include <string>
#include <vector>

#include "core/core.hpp"
#include "ingest/detail/stats.hpp"
#include "store/store.hpp"

namespace honeyman::ingest::detail {

store::DeadLetter dead_letter(std::string topic, std::string payload, std::string reason,
                              Timestamp received_at);

// Writes `letters` in one call (retried while the store is unavailable) and counts them as dead-
// lettered. Any other store error is logged: the letters are lost, the messages stay refused.
// Blocking; called by the decoder thread.
void write_dead_letters(store::Store& store, const Clock& clock, IngestTallies& tallies,
                        std::vector<store::DeadLetter> letters);

}  // namespace honeyman::ingest::detail
