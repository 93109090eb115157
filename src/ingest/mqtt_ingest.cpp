// MQTT ingestion (see ingest.hpp): the wiring of its parts, each with one owner thread.
//   libmosquitto's network thread → detail::MessageQueue::push (bounded; blocks when full);
//   the decoder thread → detail::Decoder::run (routing, decoding, store calls, dead letters,
//     detail::InFlight for the threats waiting for their commit);
//   the ThreatWriter's thread → commit outcomes into detail::InFlight.
#include <mutex>
#include <thread>

#include "ingest/detail/decoder.hpp"
#include "ingest/detail/message_queue.hpp"
#include "ingest/detail/stats.hpp"
#include "ingest/ingest.hpp"

namespace honeyman::ingest {

struct MqttIngest::Impl {
  MqttIngestConfig config;
  broker::BrokerConfig broker;
  detail::IngestTallies tallies;
  detail::MessageQueue queue;
  detail::Decoder decoder;

  std::mutex mutex;  // guards the three below (start and stop may come from any thread)
  std::unique_ptr<broker::Subscriber> subscriber;
  bool consuming_stopped = false;
  std::thread decoder_thread;
  std::mutex stop_mutex;  // a second stop() waits for the first to finish

  Impl(MqttIngestConfig c, broker::BrokerConfig b, store::Store& store, ThreatWriter& writer,
       const Clock& clock)
      : config(c),
        broker(std::move(b)),
        queue(config.queue_capacity, config.decode_batch),
        decoder(config, store, writer, clock, queue, tallies) {}
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
  if (impl_->decoder_thread.joinable())
    return make_error(Errc::internal, "MQTT ingest already started");
  auto* impl = impl_.get();
  auto sub = broker::start_subscriber(
      impl->broker, broker::sensor_topic_filters(impl->broker.shared_group),
      [impl](std::string_view topic, std::string_view payload) {
        // Network thread: copy and queue, nothing else (blocking here is the backpressure).
        impl->queue.push(detail::capture_message(topic, payload, impl->config.max_payload_bytes));
      });
  if (!sub) return sub.error();
  impl->subscriber = std::move(*sub);
  impl->decoder_thread = std::thread([impl] { impl->decoder.run(); });
  return {};
}

void MqttIngest::stop_consuming() {
  broker::Subscriber* subscriber = nullptr;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->consuming_stopped = true;
    subscriber = impl_->subscriber.get();
  }
  // A network thread waiting for room must finish its callback to exit.
  impl_->queue.release_producer();
  if (subscriber) subscriber->stop();
}

void MqttIngest::stop() {
  stop_consuming();
  std::lock_guard stopping(impl_->stop_mutex);
  impl_->queue.close();
  std::thread decoder;
  {
    std::lock_guard lock(impl_->mutex);
    decoder = std::move(impl_->decoder_thread);
  }
  if (decoder.joinable()) decoder.join();
}

MqttIngestCounters MqttIngest::counters() const {
  return impl_->decoder.counters();
}

bool MqttIngest::connected() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->subscriber && impl_->subscriber->connected();
}

}  // namespace honeyman::ingest
