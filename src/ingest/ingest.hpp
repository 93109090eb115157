// ingest: the write path for threats, and MQTT ingestion.
//
// ThreatWriter: producers (the HTTP handlers, MqttIngest) submit normalised threats; one writer
// thread groups everything waiting into one transaction (group commit: flush at `batch_max`
// threats or `batch_delay` after the first one waits), so each accepted threat is durable when
// its producer hears back, at the cost of one fsync per batch rather than per threat. After the
// commit each threat the store inserted is published to the bus; one it already held (the same
// message again: redelivery, a retried HTTP batch) completes as stored but is not published.
//
// MqttIngest: broker::Subscriber (QoS 1, persistent session) → bounded message queue → one
// decoder thread (topic, size, known sensor, JSON, normalisation) → threats to the ThreatWriter,
// heartbeats and registrations to the Store, everything refused to the dead letters with its
// reason. Nothing acknowledged is dropped: store failures are retried with backoff, forever,
// while the bounded queue pushes back on the broker.
//
// Time: both take the injected Clock for every time they read or wait on (retry waits and
// budgets, cache lifetimes, the stats interval, commit times); only short condition-variable
// waits whose length is a latency knob (the batch delay, the decoder's linger and idle wake-up)
// run on real time, because a condition variable cannot wait on a ManualClock.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/broker.hpp"
#include "bus/bus.hpp"
#include "core/core.hpp"
#include "domain/domain.hpp"
#include "store/store.hpp"

namespace honeyman::ingest {

struct ThreatWriterConfig {
  std::size_t batch_max = 1000;                  // threats per transaction at most
  std::chrono::milliseconds batch_delay{2};      // how long the first waiting threat may wait
  std::size_t queue_capacity = 100'000;          // threats waiting; beyond it submit() refuses
  std::chrono::milliseconds retry_budget{5000};  // keep retrying an unavailable store this long
};

using StoredThreats = Result<std::vector<domain::Threat>>;
// Hears of every committed batch on the writer thread, after the commit and the bus: `stored`
// as stored, `inserted[i]` false for a threat the store already held. Must not block (alerting:
// rule evaluation, SIEM forwarding's bounded buffer).
using CommitObserver =
    std::function<void(const std::vector<domain::Threat>& stored, const std::vector<bool>& inserted,
                       Timestamp committed_at)>;
using Completion = std::function<void(StoredThreats)>;

struct ThreatWriterCounters {
  std::uint64_t submitted = 0, stored = 0, failed = 0, refused = 0, batches = 0;
  std::uint64_t duplicates = 0;  // completed as stored, but already stored before (not counted
                                 // in `stored`)
  std::size_t queued = 0;
};

class ThreatWriter {
 public:
  // Keeps references to `store`, `clock` and (when given) `bus`; they must outlive this object.
  // With a `bus`, every committed threat is published to it after its transaction commits
  // (never before), one batch per transaction, stamped with clock.now() as the commit time.
  ThreatWriter(ThreatWriterConfig config, store::Store& store, const Clock& clock,
               bus::EventBus* bus = nullptr);
  ~ThreatWriter();  // stop()s
  ThreatWriter(const ThreatWriter&) = delete;
  ThreatWriter& operator=(const ThreatWriter&) = delete;

  // Queues `threats` (stored together, in one transaction, or not at all) and calls `done`
  // after the commit with the threats as stored (those already stored included: the same ids),
  // or with an error: Errc::unavailable when the
  // queue is full, the writer is stopping, or the store stayed unavailable for retry_budget (of
  // the clock's time); Errc::invalid_input when the store refused them (e.g. their sensor was
  // deleted meanwhile). Never blocks. `done` runs on the writer thread (or on the caller's
  // thread when refused at once).
  void submit(std::vector<domain::Threat> threats, Completion done);

  // The same for coroutines: `co_await writer.async_store(threats, asio::use_awaitable)`; the
  // completion is posted to the handler's executor.
  template <class Token>
  auto async_store(std::vector<domain::Threat> threats, Token&& token) {
    return boost::asio::async_initiate<Token, void(StoredThreats)>(
        [this](auto handler, std::vector<domain::Threat> batch) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          submit(std::move(batch), [shared](StoredThreats result) {
            auto ex = boost::asio::get_associated_executor(*shared);
            boost::asio::post(ex, [shared, r = std::move(result)]() mutable {
              std::move (*shared)(std::move(r));
            });
          });
        },
        token, std::move(threats));
  }

  // Sets the observer of every later commit (replacing any earlier one; empty: none).
  void set_commit_observer(CommitObserver observer);

  // Stops taking new work, commits everything queued (completions included), then joins the
  // writer. Idempotent; thread-safe.
  void stop();
  ThreatWriterCounters counters() const;

 private:
  struct PendingWrite {
    std::vector<domain::Threat> threats;
    Completion done;
  };
  void run();
  std::vector<PendingWrite> take_batch();
  void commit(std::vector<PendingWrite> batch);
  void commit_each(std::vector<PendingWrite> batch, std::vector<domain::Threat> threats);
  void complete(std::vector<PendingWrite> batch, StoredThreats stored,
                const std::vector<bool>& inserted = {});
  void publish(const std::vector<domain::Threat>& stored, const std::vector<bool>& inserted);
  Result<store::InsertOutcome> insert_with_retry(std::vector<domain::Threat>& threats);

  ThreatWriterConfig config_;
  store::Store& store_;
  const Clock& clock_;
  bus::EventBus* bus_;
  std::shared_ptr<const CommitObserver> observer_;  // guarded by mutex_
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<PendingWrite> queue_;
  std::size_t queued_threats_ = 0;
  bool stopping_ = false;
  ThreatWriterCounters counters_;
  std::thread writer_;
};

// ---------------------------------------------------------------------------------------------
// MQTT ingestion.
struct MqttIngestConfig {
  std::size_t queue_capacity = 2'000;             // raw messages between network and decoder
  std::size_t max_payload_bytes = 256 * 1024;     // larger payloads are dead-lettered
  std::size_t decode_batch = 1000;                // messages decoded per round
  std::chrono::microseconds decode_linger{1000};  // a round waits this long to fill up
  std::size_t max_in_flight = 5'000;              // threats submitted and not yet committed
  std::chrono::seconds known_sensor_ttl{10};      // how long "sensor exists" is cached
  std::chrono::seconds stats_interval{10};        // counters are logged this often (if changed)
  domain::ClockSkewPolicy clock_skew;             // MAX_CLOCK_SKEW_SECONDS, ..._PAST_SECONDS
};

struct MqttIngestCounters {
  std::uint64_t received = 0;        // messages taken from the broker
  std::uint64_t threats_stored = 0;  // threats committed
  std::uint64_t heartbeats = 0, registrations = 0;
  std::uint64_t dead_lettered = 0;  // messages refused (each with a dead letter)
  std::uint64_t retries = 0;        // store writes retried after a failure
  std::size_t queue_depth = 0;      // messages waiting for the decoder
  std::size_t in_flight = 0;        // threats waiting for their commit
  std::size_t last_batch = 0;       // messages in the last decoded round
};

// Threads: libmosquitto's network thread only copies each message into the bounded queue
// (blocking while it is full: backpressure to the broker); the decoder thread does everything
// else; commit completions arrive on the ThreatWriter's thread. Every method is thread-safe.
class MqttIngest {
 public:
  // Keeps references to `store`, `writer` and `clock`; they must outlive this object.
  MqttIngest(MqttIngestConfig config, broker::BrokerConfig broker, store::Store& store,
             ThreatWriter& writer, const Clock& clock);
  ~MqttIngest();  // stop()s
  MqttIngest(const MqttIngest&) = delete;
  MqttIngest& operator=(const MqttIngest&) = delete;

  // Starts the decoder and the subscriber (which connects in the background). Errc::internal
  // when already started, Errc::unavailable after stop_consuming(), the subscriber's error for
  // an unusable broker config.
  Status start();
  // Disconnects from the broker: no new messages (unread ones stay with the broker).
  void stop_consuming();
  // stop_consuming(), then decodes everything received and waits until every accepted threat
  // is committed (retrying the store as long as needed). Call before ThreatWriter::stop().
  void stop();
  MqttIngestCounters counters() const;
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace honeyman::ingest
