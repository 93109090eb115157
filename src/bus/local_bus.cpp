#include <atomic>

#include "bus/detail/dispatcher.hpp"

namespace honeyman::bus {
namespace {

class LocalBus final : public EventBus {
 public:
  explicit LocalBus(const BusConfig& config) : dispatcher_(config.queue_capacity) {}
  ~LocalBus() override { stop(); }

  void publish(EventBatch events) override {
    published_ += events.size();
    dropped_ += dispatcher_.enqueue(std::move(events));
  }
  std::uint64_t subscribe(Listener listener) override {
    return dispatcher_.subscribe(std::move(listener));
  }
  void unsubscribe(std::uint64_t id) override { dispatcher_.unsubscribe(id); }
  bool connected() const override { return true; }
  BusCounters counters() const override {
    return BusCounters{published_.load(), 0, dropped_.load(), 0};
  }
  void stop() override { dispatcher_.stop(); }

 private:
  detail::Dispatcher dispatcher_;
  std::atomic<std::uint64_t> published_{0}, dropped_{0};
};

}  // namespace

std::unique_ptr<EventBus> make_local_bus(const BusConfig& config) {
  return std::make_unique<LocalBus>(config);
}

Result<std::unique_ptr<EventBus>> make_bus(const BusConfig& config) {
  if (config.redis_url.empty()) return make_local_bus(config);
  return make_redis_bus(config);
}

}  // namespace honeyman::bus
