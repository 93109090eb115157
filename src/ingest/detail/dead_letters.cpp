#include "ingest/detail/dead_letters.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <string_view>

#include "ingest/detail/store_retry.hpp"
#include "metrics/metrics.hpp"

namespace honeyman::ingest::detail {
namespace {

// honeyman_ingest_dead_letters_total{reason}: the reason texts name sensors and fields, so the
// label is the kind of refusal (a fixed set), looked up once per kind.
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kReasonKinds = {{
    {"unexpected topic", "unexpected_topic"},
    {"payload too large", "payload_too_large"},
    {"malformed JSON", "malformed_json"},
    {"spoofed sensor id", "spoofed_sensor_id"},
    {"invalid payload", "invalid_payload"},
    {"unknown sensor", "unknown_sensor"},
    {"refused by the store", "refused_by_store"},
    {"cannot re-read", "reread_failed"},
}};

void count_dead_letter(std::string_view reason) {
  static const auto counters = [] {
    auto family = metrics::counter("honeyman_ingest_dead_letters_total",
                                   "MQTT messages refused and stored as dead letters, by reason.");
    std::array<metrics::Counter, kReasonKinds.size() + 1> out;
    for (std::size_t i = 0; i < kReasonKinds.size(); ++i)
      out[i] = family.with({{"reason", std::string(kReasonKinds[i].second)}});
    out.back() = family.with({{"reason", "other"}});
    return out;
  }();
  std::size_t i = 0;
  while (i < kReasonKinds.size() && !reason.starts_with(kReasonKinds[i].first)) ++i;
  counters[i].inc();
}

}  // namespace

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
  for (const auto& d : letters) count_dead_letter(d.reason);
}

}  // namespace honeyman::ingest::detail
