// MQTT ingestion (see ingest.hpp). Threads: libmosquitto's network thread only copies messages
// into the bounded queue (blocking while it is full, which is the backpressure to the broker);
// one decoder thread does everything else; commit completions run on the ThreatWriter's thread.
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "ingest/ingest.hpp"

namespace honeyman::ingest {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kOversizedKeptBytes = 4096;  // of an oversized payload, in its dead letter
struct RawMessage {
  std::string topic;
  std::string payload;  // truncated to kOversizedKeptBytes when oversized
  std::size_t size = 0;
  bool oversized = false;
};

// A dead letter's reason for a normalisation error.
std::string describe(const Error& e) {
  if (e.code == Errc::forbidden) return "spoofed sensor id: " + e.message;
  if (e.fields.empty()) return e.message;
  std::string out = "invalid payload:";
  std::size_t shown = 0;
  for (const auto& f : e.fields) {
    if (shown++ == 5) {
      out += " (and " + std::to_string(e.fields.size() - 5) + " more)";
      break;
    }
    std::string loc;
    for (const auto& part : f.loc) loc += (loc.empty() ? "" : "/") + part;
    out += " " + loc + ": " + f.msg + " [" + f.type + "];";
  }
  return out;
}

}  // namespace

struct MqttIngest::Impl {
  // A message's threats on their way to a commit. The threats themselves move into the
  // ThreatWriter; a retry normalises the payload again with the same context (same receipt time)
  // rather than keeping a deep copy of every threat in flight.
  struct InFlightMessage {
    std::string topic, payload;
    domain::IngestContext context;
    std::size_t count = 0;
  };

  MqttIngestConfig config;
  broker::BrokerConfig broker;
  store::Store& store;
  ThreatWriter& writer;
  const Clock& clock;
  std::unique_ptr<broker::Subscriber> subscriber;

  mutable std::mutex mutex;
  // not_empty wakes the decoder, not_full the network thread; each is signalled only on the
  // transition, so a busy stream costs no wake-up per message.
  std::condition_variable not_empty, not_full, flight_changed;
  std::deque<RawMessage> queue;
  bool consuming_stopped = false;  // the network thread is gone (or going): never block it
  bool stopping = false;           // the decoder drains and exits
  std::vector<std::shared_ptr<InFlightMessage>> failed;  // to resubmit
  std::vector<store::DeadLetter> late_letters;           // refused at commit time
  MqttIngestCounters counters;
  std::thread decoder;

  // Decoder thread only.
  std::map<std::string, SteadyClock::time_point> known_until, unknown_until;
  std::chrono::milliseconds backoff{50};
  SteadyClock::time_point next_stats = SteadyClock::now();
  MqttIngestCounters logged;

  Impl(MqttIngestConfig c, broker::BrokerConfig b, store::Store& s, ThreatWriter& p, const Clock& k)
      : config(c), broker(std::move(b)), store(s), writer(p), clock(k) {}

  // --- network thread -------------------------------------------------------------------------
  void enqueue(std::string_view topic, std::string_view payload) {
    RawMessage m;
    m.topic = topic;
    m.size = payload.size();
    m.oversized = payload.size() > config.max_payload_bytes;
    m.payload = m.oversized ? payload.substr(0, kOversizedKeptBytes) : payload;
    std::unique_lock lock(mutex);
    // Blocking here stops the network thread reading: the broker queues for our session.
    not_full.wait(lock, [&] { return queue.size() < config.queue_capacity || consuming_stopped; });
    bool was_empty = queue.empty();
    queue.push_back(std::move(m));
    ++counters.received;
    if (was_empty || queue.size() == config.decode_batch) not_empty.notify_one();
  }

  // --- decoder thread -------------------------------------------------------------------------
  void run() {
    pthread_setname_np(pthread_self(), "mqtt-decoder");  // for top -H and perf
    for (;;) {
      std::vector<RawMessage> batch;
      bool drained = false;
      {
        std::unique_lock lock(mutex);
        not_empty.wait_for(lock, std::chrono::milliseconds(200),
                           [&] { return !queue.empty() || stopping; });
        // A moderate stream would wake us once per message; lingering briefly lets a round
        // gather several (fewer context switches, bigger heartbeat and dead-letter writes).
        if (!queue.empty() && queue.size() < config.decode_batch && !stopping)
          not_empty.wait_for(lock, config.decode_linger,
                             [&] { return queue.size() >= config.decode_batch || stopping; });
        bool was_full = queue.size() >= config.queue_capacity;
        while (!queue.empty() && batch.size() < config.decode_batch) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        if (!batch.empty()) counters.last_batch = batch.size();
        drained = stopping && queue.empty();
        if (was_full) not_full.notify_all();
      }
      resubmit_failed();
      if (!batch.empty()) process(batch);
      flush_late_letters();
      log_stats(false);
      if (drained && batch.empty()) break;
    }
    wait_committed();
    log_stats(true);
  }

  void process(std::vector<RawMessage>& batch) {
    auto now = clock.now();
    std::vector<store::DeadLetter> letters;
    std::vector<domain::Heartbeat> heartbeats;
    std::vector<const RawMessage*> heartbeat_sources;
    for (auto& m : batch) {
      auto refused = decode(m, now, heartbeats, heartbeat_sources);
      if (refused) letters.push_back(letter(m.topic, std::move(m.payload), *refused, now));
    }
    if (!heartbeats.empty()) {
      auto unknown = with_retry([&] { return store.record_heartbeats(heartbeats); });
      if (unknown) {
        std::uint64_t recorded = 0;
        for (std::size_t i = 0; i < heartbeats.size(); ++i)
          if (std::find(unknown->begin(), unknown->end(), heartbeats[i].sensor_id) !=
              unknown->end())
            letters.push_back(letter(heartbeat_sources[i]->topic, heartbeat_sources[i]->payload,
                                     "unknown sensor '" + heartbeats[i].sensor_id + "'", now));
          else
            ++recorded;
        std::lock_guard lock(mutex);
        counters.heartbeats += recorded;
      } else {
        spdlog::error("mqtt: heartbeats not recorded: {}", unknown.error().message);
      }
    }
    write_letters(std::move(letters));
  }

  // Routes one message; returns the reason when it is refused.
  std::optional<std::string> decode(RawMessage& m, Timestamp now,
                                    std::vector<domain::Heartbeat>& heartbeats,
                                    std::vector<const RawMessage*>& heartbeat_sources) {
    auto where = broker::parse_sensor_topic(m.topic);
    if (!where) return "unexpected topic";
    const auto& sensor_id = where->sensor_id;
    auto kind = where->kind;
    if (m.oversized)
      return "payload too large: " + std::to_string(m.size) + " bytes (limit " +
             std::to_string(config.max_payload_bytes) + ")";
    if (!is_known(sensor_id)) return "unknown sensor '" + sensor_id + "'";
    boost::system::error_code ec;
    auto value = boost::json::parse(m.payload, ec);
    if (ec) return "malformed JSON: " + ec.message();
    domain::IngestContext ctx{sensor_id, now};
    const std::vector<std::string> loc{"payload"};
    if (kind == broker::TopicKind::threats) {
      auto threats = domain::normalize_threats(value, ctx, loc);
      if (!threats) return describe(threats.error());
      // Accepted: the message's bytes move on with its threats (kept for a retry or a refusal).
      auto s = std::make_shared<InFlightMessage>(
          InFlightMessage{std::move(m.topic), std::move(m.payload), ctx, threats->size()});
      submit(std::move(s), std::move(*threats), true);
    } else if (kind == broker::TopicKind::heartbeat) {
      auto hb = domain::normalize_heartbeat(value, ctx, loc);
      if (!hb) return describe(hb.error());
      heartbeats.push_back(std::move(*hb));
      heartbeat_sources.push_back(&m);
    } else {
      auto reg = domain::normalize_registration(value, ctx, loc);
      if (!reg) return describe(reg.error());
      auto done = with_retry([&] { return store.apply_registration(*reg, now); });
      if (!done && done.error().code == Errc::not_found)
        return "unknown sensor '" + sensor_id + "'";
      if (!done) spdlog::error("mqtt: registration not applied: {}", done.error().message);
      std::lock_guard lock(mutex);
      ++counters.registrations;
    }
    return std::nullopt;
  }

  bool is_known(const std::string& sensor_id) {
    auto t = SteadyClock::now();
    if (auto it = known_until.find(sensor_id); it != known_until.end() && it->second > t)
      return true;
    if (auto it = unknown_until.find(sensor_id); it != unknown_until.end() && it->second > t)
      return false;
    auto sensor = with_retry([&] { return store.find_sensor(sensor_id, clock.now()); });
    if (sensor) {
      known_until[sensor_id] = t + config.known_sensor_ttl;
      return true;
    }
    if (sensor.error().code != Errc::not_found)
      spdlog::error("mqtt: sensor lookup failed: {}", sensor.error().message);
    unknown_until[sensor_id] = t + std::chrono::seconds(1);
    return false;
  }

  // Retries `fn` while the store is unavailable: acknowledged messages are never dropped.
  template <class Fn>
  auto with_retry(Fn fn) -> decltype(fn()) {
    auto delay = std::chrono::milliseconds(50);
    for (;;) {
      auto r = fn();
      if (r || r.error().code != Errc::unavailable) return r;
      spdlog::warn("mqtt: store unavailable ({}); retrying in {} ms", r.error().message,
                   delay.count());
      {
        std::lock_guard lock(mutex);
        ++counters.retries;
      }
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, std::chrono::milliseconds(2000));
    }
  }

  void submit(std::shared_ptr<InFlightMessage> s, std::vector<domain::Threat> threats, bool fresh) {
    std::size_t n = s->count;
    if (fresh) {
      std::unique_lock lock(mutex);
      while (counters.in_flight > 0 && counters.in_flight + n > config.max_in_flight) {
        flight_changed.wait_for(lock, std::chrono::milliseconds(100));
        lock.unlock();
        resubmit_failed();
        lock.lock();
      }
      counters.in_flight += n;
    }
    writer.submit(std::move(threats), [this, s](StoredThreats r) { committed(s, std::move(r)); });
  }

  // ThreatWriter thread.
  void committed(const std::shared_ptr<InFlightMessage>& s, StoredThreats r) {
    std::lock_guard lock(mutex);
    std::size_t n = s->count;
    if (r) {
      counters.in_flight -= n;
      counters.threats_stored += n;
    } else if (r.error().code == Errc::unavailable) {
      failed.push_back(s);  // still in flight: resubmitted by the decoder
    } else {
      counters.in_flight -= n;
      late_letters.push_back(
          letter(s->topic, s->payload, "refused by the store: " + r.error().message, clock.now()));
    }
    flight_changed.notify_all();
  }

  void resubmit_failed() {
    std::vector<std::shared_ptr<InFlightMessage>> again;
    {
      std::lock_guard lock(mutex);
      again.swap(failed);
      if (again.empty()) {
        backoff = std::chrono::milliseconds(50);
        return;
      }
      counters.retries += again.size();
    }
    spdlog::warn(
        "mqtt: {} submissions not committed (store unavailable or queue full); "
        "retrying in {} ms",
        again.size(), backoff.count());
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    for (auto& s : again) {
      boost::system::error_code ec;
      auto value = boost::json::parse(s->payload, ec);
      const std::vector<std::string> loc{"payload"};
      auto threats = domain::normalize_threats(value, s->context, loc);  // succeeded before
      if (!ec && threats && threats->size() == s->count) {
        submit(s, std::move(*threats), false);
        continue;
      }
      std::lock_guard lock(mutex);  // cannot happen: the same bytes normalised the first time
      counters.in_flight -= s->count;
      late_letters.push_back(letter(s->topic, s->payload, "cannot re-read for retry", clock.now()));
    }
  }

  void wait_committed() {
    std::unique_lock lock(mutex);
    while (counters.in_flight > 0 || !failed.empty()) {
      flight_changed.wait_for(lock, std::chrono::milliseconds(100));
      lock.unlock();
      resubmit_failed();
      lock.lock();
    }
    lock.unlock();
    flush_late_letters();
  }

  store::DeadLetter letter(const std::string& topic, std::string payload, std::string reason,
                           Timestamp now) {
    store::DeadLetter d;
    d.received_at = now;
    d.source = "mqtt";
    d.topic = topic;
    d.reason = std::move(reason);
    d.payload = std::move(payload);
    return d;
  }

  void flush_late_letters() {
    std::vector<store::DeadLetter> letters;
    {
      std::lock_guard lock(mutex);
      letters.swap(late_letters);
    }
    write_letters(std::move(letters));
  }

  void write_letters(std::vector<store::DeadLetter> letters) {
    if (letters.empty()) return;
    for (const auto& d : letters) spdlog::debug("mqtt: dead letter on {}: {}", d.topic, d.reason);
    auto done = with_retry([&] { return store.insert_dead_letters(letters); });
    if (!done) spdlog::error("mqtt: dead letters not written: {}", done.error().message);
    std::lock_guard lock(mutex);
    counters.dead_lettered += letters.size();
  }

  void log_stats(bool final) {
    if (!final && SteadyClock::now() < next_stats) return;
    next_stats = SteadyClock::now() + config.stats_interval;
    MqttIngestCounters c;
    {
      std::lock_guard lock(mutex);
      c = counters;
      c.queue_depth = queue.size();
    }
    if (!final && c.received == logged.received && c.threats_stored == logged.threats_stored &&
        c.dead_lettered == logged.dead_lettered)
      return;
    logged = c;
    spdlog::info(
        "mqtt ingest{}: received {}, threats stored {}, heartbeats {}, registrations {}, "
        "dead-lettered {}, retries {}, queue {}, in flight {}, last batch {}",
        final ? " (final)" : "", c.received, c.threats_stored, c.heartbeats, c.registrations,
        c.dead_lettered, c.retries, c.queue_depth, c.in_flight, c.last_batch);
  }
};

MqttIngest::MqttIngest(MqttIngestConfig config, broker::BrokerConfig broker, store::Store& store,
                       ThreatWriter& writer, const Clock& clock)
    : impl_(std::make_unique<Impl>(config, std::move(broker), store, writer, clock)) {}

MqttIngest::~MqttIngest() {
  stop();
}

Status MqttIngest::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->consuming_stopped) return make_error(Errc::unavailable, "MQTT ingest was stopped");
  if (impl_->decoder.joinable()) return make_error(Errc::internal, "MQTT ingest already started");
  auto* impl = impl_.get();
  auto sub = broker::start_subscriber(
      impl_->broker, broker::sensor_topic_filters(impl_->broker.shared_group),
      [impl](std::string_view topic, std::string_view payload) { impl->enqueue(topic, payload); });
  if (!sub) return sub.error();
  impl_->subscriber = std::move(*sub);
  impl_->decoder = std::thread([impl] { impl->run(); });
  return {};
}

void MqttIngest::stop_consuming() {
  broker::Subscriber* subscriber = nullptr;
  {
    // Unblock a network thread waiting for room: it must finish its callback to exit.
    std::lock_guard lock(impl_->mutex);
    impl_->consuming_stopped = true;
    impl_->not_full.notify_all();
    subscriber = impl_->subscriber.get();
  }
  // Not under the lock: the network thread takes it to finish its last callback.
  if (subscriber) subscriber->stop();
}

void MqttIngest::stop() {
  stop_consuming();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    impl_->not_empty.notify_all();
  }
  if (impl_->decoder.joinable()) impl_->decoder.join();
}

MqttIngestCounters MqttIngest::counters() const {
  std::lock_guard lock(impl_->mutex);
  auto c = impl_->counters;
  c.queue_depth = impl_->queue.size();
  return c;
}

bool MqttIngest::connected() const {
  return impl_->subscriber && impl_->subscriber->connected();
}

}  // namespace honeyman::ingest
