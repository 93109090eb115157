#include "ingest/detail/decoder.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "ingest/detail/dead_letters.hpp"
#include "ingest/detail/store_retry.hpp"

namespace honeyman::ingest::detail {

// A round's accepted heartbeats, each with the message it came from (for a dead letter when the
// store does not know its sensor after all).
struct Decoder::Heartbeats {
  std::vector<domain::Heartbeat> values;
  std::vector<const RawMessage*> sources;
};

Decoder::Decoder(const MqttIngestConfig& config, store::Store& store, ThreatWriter& writer,
                 const Clock& clock, MessageQueue& queue, IngestTallies& tallies)
    : config_(config),
      store_(store),
      clock_(clock),
      queue_(queue),
      tallies_(tallies),
      in_flight_(writer, tallies, config.max_in_flight),
      known_(store, clock, tallies, config.known_sensor_ttl),
      stats_(clock, config.stats_interval) {}

void Decoder::run() {
  pthread_setname_np(pthread_self(), "mqtt-decoder");  // for top -H and perf
  for (;;) {
    auto round = queue_.take(kIdleWake, config_.decode_linger);
    resubmit_failed();
    if (!round.messages.empty()) process(round.messages);
    write_refused();
    stats_.maybe_log(counters(), false);
    if (round.drained) break;
  }
  while (!in_flight_.wait_until_settled()) resubmit_failed();
  write_refused();
  stats_.maybe_log(counters(), true);
}

MqttIngestCounters Decoder::counters() const {
  MqttIngestCounters c;
  tallies_.fill(c);
  c.received = queue_.received();
  c.queue_depth = queue_.depth();
  c.last_batch = queue_.last_round();
  c.in_flight = in_flight_.count();
  return c;
}

void Decoder::process(std::vector<RawMessage>& round) {
  auto now = clock_.now();
  std::vector<store::DeadLetter> letters;
  Heartbeats heartbeats;
  for (auto& m : round)
    if (auto refusal = handle(m, now, heartbeats))
      letters.push_back(dead_letter(m.topic, std::move(m.payload), std::move(*refusal), now));
  record_heartbeats(heartbeats, now, letters);
  write_dead_letters(store_, clock_, tallies_, std::move(letters));
}

// Acts on one message; returns the reason when it is refused.
std::optional<std::string> Decoder::handle(RawMessage& m, Timestamp now, Heartbeats& heartbeats) {
  auto routed = route_message(m, config_.max_payload_bytes);
  if (auto* refused = std::get_if<Refusal>(&routed)) return std::move(refused->reason);
  auto& from = std::get<broker::SensorTopic>(routed);
  if (!known_.contains(from.sensor_id)) return unknown_sensor_reason(from.sensor_id);
  auto decoded = decode_payload(from, m.payload, now, config_.clock_skew);
  if (auto* refused = std::get_if<Refusal>(&decoded)) return std::move(refused->reason);
  if (auto* threats = std::get_if<std::vector<domain::Threat>>(&decoded)) {
    submit_threats(m, std::move(from), now, std::move(*threats));
  } else if (auto* heartbeat = std::get_if<domain::Heartbeat>(&decoded)) {
    heartbeats.values.push_back(std::move(*heartbeat));
    heartbeats.sources.push_back(&m);
  } else if (auto* result = std::get_if<CommandResult>(&decoded)) {
    return apply_command_result(*result, from.sensor_id, now);
  } else {
    return apply_registration(std::get<domain::Registration>(decoded), from.sensor_id, now);
  }
  return std::nullopt;
}

// The message's bytes move on with its threats (kept for a resubmission or a refusal).
void Decoder::submit_threats(RawMessage& m, broker::SensorTopic from, Timestamp now,
                             std::vector<domain::Threat> threats) {
  auto message = std::make_shared<InFlight::Message>(InFlight::Message{
      std::move(m.topic), std::move(m.payload), std::move(from), now, threats.size()});
  while (!in_flight_.wait_for_room(message->count)) resubmit_failed();
  in_flight_.submit(std::move(message), std::move(threats));
}

std::optional<std::string> Decoder::apply_registration(const domain::Registration& r,
                                                       const std::string& sensor_id,
                                                       Timestamp now) {
  auto done = retry_store(clock_, tallies_, [&] { return store_.apply_registration(r, now); });
  if (!done && done.error().code == Errc::not_found) return unknown_sensor_reason(sensor_id);
  if (!done) spdlog::error("mqtt: registration not applied: {}", done.error().message);
  IngestTallies::add(tallies_.registrations, 1);
  return std::nullopt;
}

// Only the sensor the command was sent to can answer it: another sensor's id is "unknown".
std::optional<std::string> Decoder::apply_command_result(const CommandResult& r,
                                                         const std::string& sensor_id,
                                                         Timestamp now) {
  auto done = retry_store(clock_, tallies_, [&] {
    return store_.set_command_result(r.command_id, sensor_id, r.status, r.message, now);
  });
  if (!done && done.error().code == Errc::not_found)
    return "unknown command '" + r.command_id + "' for sensor '" + sensor_id + "'";
  if (!done) spdlog::error("mqtt: command result not recorded: {}", done.error().message);
  return std::nullopt;
}

// One store call for the round's heartbeats; those of sensors it did not know are dead-lettered.
void Decoder::record_heartbeats(const Heartbeats& heartbeats, Timestamp now,
                                std::vector<store::DeadLetter>& letters) {
  if (heartbeats.values.empty()) return;
  auto unknown =
      retry_store(clock_, tallies_, [&] { return store_.record_heartbeats(heartbeats.values); });
  if (!unknown) {
    spdlog::error("mqtt: heartbeats not recorded: {}", unknown.error().message);
    return;
  }
  std::uint64_t recorded = 0;
  for (std::size_t i = 0; i < heartbeats.values.size(); ++i) {
    const auto& id = heartbeats.values[i].sensor_id;
    if (std::find(unknown->begin(), unknown->end(), id) == unknown->end()) {
      ++recorded;
      continue;
    }
    const auto* source = heartbeats.sources[i];
    letters.push_back(dead_letter(source->topic, source->payload, unknown_sensor_reason(id), now));
  }
  IngestTallies::add(tallies_.heartbeats, recorded);
}

// Resubmits the commits that failed (the writer already retried each for its budget) until none
// fails again, waiting with backoff between rounds. Blocks the decoder meanwhile, so the queue
// fills and pushes back on the broker.
void Decoder::resubmit_failed() {
  if (!in_flight_.has_failed()) return;
  retry_with_backoff(
      clock_, mqtt_store_retry_policy(), [&] { return resubmit_round(); },
      [](const Error& e, std::chrono::milliseconds wait) {
        spdlog::warn("mqtt: {}; retrying in {} ms", e.message, wait.count());
      });
}

Status Decoder::resubmit_round() {
  auto failed = in_flight_.take_failed();
  IngestTallies::add(tallies_.retries, failed.size());
  std::vector<store::DeadLetter> letters;
  for (auto& m : failed) {
    auto decoded = decode_payload(m->from, m->payload, m->received_at, config_.clock_skew);
    auto* threats = std::get_if<std::vector<domain::Threat>>(&decoded);
    if (threats && threats->size() == m->count) {
      in_flight_.resubmit(m, std::move(*threats));
      continue;
    }
    // Cannot happen: the same bytes decoded to these threats the first time.
    in_flight_.abandon(m);
    letters.push_back(dead_letter(m->topic, m->payload, "cannot re-read for retry", clock_.now()));
  }
  write_dead_letters(store_, clock_, tallies_, std::move(letters));
  in_flight_.wait_resubmitted();
  if (!in_flight_.has_failed()) return {};
  return make_error(Errc::unavailable,
                    "submissions not committed (store unavailable or ingest queue full)");
}

void Decoder::write_refused() {
  auto refused = in_flight_.take_refused();
  if (refused.empty()) return;
  auto now = clock_.now();
  std::vector<store::DeadLetter> letters;
  letters.reserve(refused.size());
  for (auto& [m, reason] : refused)
    letters.push_back(dead_letter(m->topic, m->payload, std::move(reason), now));
  write_dead_letters(store_, clock_, tallies_, std::move(letters));
}

}  // namespace honeyman::ingest::detail
