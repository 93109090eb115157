#include "bus/detail/dispatcher.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include "metrics/metrics.hpp"

namespace honeyman::bus::detail {

namespace {

// Commit → hand-over to the listeners (the WebSocket clients' queues), per threat event. With
// Redis the frames from other instances count too: their commit time is in the frame.
void observe_lag(const EventBatch& batch) {
  static const auto lag =
      metrics::histogram("honeyman_bus_delivery_lag_seconds",
                         "Time from a threat's commit to its dispatch to this instance's "
                         "listeners (WebSocket clients), per event.",
                         metrics::latency_buckets())
          .with({});
  if (!lag) return;
  auto now = std::chrono::system_clock::now();
  for (const auto& e : batch)
    if (e->committed_at)
      lag.observe(std::max(0.0, std::chrono::duration<double>(now - *e->committed_at).count()));
}

}  // namespace

Dispatcher::Dispatcher(std::size_t capacity) : capacity_(capacity), thread_([this] { run(); }) {}

Dispatcher::~Dispatcher() {
  stop();
}

std::size_t Dispatcher::enqueue(EventBatch batch) {
  if (batch.empty()) return 0;
  std::size_t dropped = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return batch.size();
    if (queue_.size() >= capacity_) {
      dropped = queue_.front().size();
      queue_.pop_front();
    }
    queue_.push_back(std::move(batch));
  }
  wake_.notify_one();
  return dropped;
}

std::uint64_t Dispatcher::subscribe(EventBus::Listener listener) {
  std::lock_guard lock(listeners_mutex_);
  auto id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void Dispatcher::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(listeners_mutex_);
  listeners_.erase(id);
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::run() {
  pthread_setname_np(pthread_self(), "bus-dispatch");
  for (;;) {
    EventBatch batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      // Everything waiting goes out as one batch: fewer passes over the clients under load.
      batch = std::move(queue_.front());
      queue_.pop_front();
      while (!queue_.empty()) {
        auto& next = queue_.front();
        batch.insert(batch.end(), next.begin(), next.end());
        queue_.pop_front();
      }
    }
    observe_lag(batch);
    std::lock_guard lock(listeners_mutex_);
    for (auto& [id, listener] : listeners_) {
      try {
        listener(batch);
      } catch (const std::exception& e) {
        spdlog::error("bus: listener {} failed: {}", id, e.what());
      }
    }
  }
}

}  // namespace honeyman::bus::detail
