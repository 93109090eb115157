// The MQTT decoder thread's work. Each round takes up to `decode_batch` raw messages from the
// queue and, per message: routes it (topic, size), checks its sensor exists, decodes it; then
// submits threats to the ThreatWriter (at most `max_in_flight` waiting for their commit),
// records the round's heartbeats in one store call, applies registrations, and writes the
// round's dead letters in one call. Every store call is retried while the store is unavailable,
// and failed commits are resubmitted until they succeed: while the decoder waits, the queue
// fills and pushes back on the broker.
//
// Thread-safety: run() is the decoder thread; counters() may be called from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/core.hpp"
#include "ingest/detail/decode.hpp"
#include "ingest/detail/in_flight.hpp"
#include "ingest/detail/known_sensors.hpp"
#include "ingest/detail/message_queue.hpp"
#include "ingest/detail/stats.hpp"
#include "ingest/ingest.hpp"
#include "store/store.hpp"

namespace honeyman::ingest::detail {

class Decoder {
 public:
  // Keeps references to everything; they must outlive it.
  Decoder(const MqttIngestConfig& config, store::Store& store, ThreatWriter& writer,
          const Clock& clock, MessageQueue& queue, IngestTallies& tallies);

  // Rounds until the queue is closed and drained, then waits until every accepted threat is
  // committed (resubmitting as long as needed) and writes the last dead letters.
  void run();
  MqttIngestCounters counters() const;

  // With nothing to do, a round still ends this often (real time), to resubmit failed commits
  // and log the counters.
  static constexpr std::chrono::milliseconds kIdleWake{200};

 private:
  struct Heartbeats;
  void process(std::vector<RawMessage>& round);
  std::optional<std::string> handle(RawMessage& m, Timestamp now, Heartbeats& heartbeats);
  void submit_threats(RawMessage& m, broker::SensorTopic from, Timestamp now,
                      std::vector<domain::Threat> threats);
  std::optional<std::string> apply_command_result(const CommandResult& r,
                                                  const std::string& sensor_id, Timestamp now);
  std::optional<std::string> apply_registration(const domain::Registration& r,
                                                const std::string& sensor_id, Timestamp now);
  void record_heartbeats(const Heartbeats& heartbeats, Timestamp now,
                         std::vector<store::DeadLetter>& letters);
  void resubmit_failed();
  Status resubmit_round();
  void write_refused();

  const MqttIngestConfig& config_;
  store::Store& store_;
  const Clock& clock_;
  MessageQueue& queue_;
  IngestTallies& tallies_;
  InFlight in_flight_;
  KnownSensors known_;  // decoder thread only
  StatsLog stats_;      // decoder thread only
};

}  // namespace honeyman::ingest::detail
