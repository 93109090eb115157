// The Redis-backed EventBus and TextChannel, both on a RedisLink (detail/redis_link.hpp). The
// bus delivers an instance's own events locally at once (the link skips them when Redis echoes
// them back), so its own clients keep their feed while Redis is down.
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "bus/detail/dispatcher.hpp"
#include "bus/detail/redis_link.hpp"

namespace honeyman::bus {
namespace {

class RedisBus final : public EventBus {
 public:
  RedisBus(const BusConfig& config, detail::RedisAddress address)
      : dispatcher_(config.queue_capacity),
        link_(config, std::move(address), [this](std::string_view frame) { receive(frame); }) {}
  ~RedisBus() override { stop(); }

  void publish(EventBatch events) override {
    published_ += events.size();
    std::vector<detail::RedisLink::Payload> frames;
    frames.reserve(events.size());
    for (const auto& e : events) frames.push_back(e->frame);
    link_.publish(std::move(frames));
    dropped_ += dispatcher_.enqueue(std::move(events));
  }
  std::uint64_t subscribe(Listener listener) override {
    return dispatcher_.subscribe(std::move(listener));
  }
  void unsubscribe(std::uint64_t id) override { dispatcher_.unsubscribe(id); }
  bool connected() const override { return link_.connected(); }
  BusCounters counters() const override {
    return BusCounters{published_.load(), received_.load(), dropped_.load() + link_.dropped(),
                       link_.reconnects()};
  }
  void stop() override {
    link_.stop();
    dispatcher_.stop();
  }

 private:
  // On the link's reader thread: another instance's event.
  void receive(std::string_view frame) {
    auto event = parse_event(std::string(frame));
    if (!event) {
      spdlog::warn("bus: ignoring a malformed event from Redis: {}", event.error().message);
      return;
    }
    ++received_;
    dropped_ += dispatcher_.enqueue(EventBatch{std::move(*event)});
  }

  detail::Dispatcher dispatcher_;  // before link_: the link's reader thread feeds it
  std::atomic<std::uint64_t> published_{0}, received_{0}, dropped_{0};
  detail::RedisLink link_;
};

class RedisChannel final : public TextChannel {
 public:
  RedisChannel(const BusConfig& config, detail::RedisAddress address)
      : link_(config, std::move(address), [this](std::string_view m) { receive(m); }) {}
  ~RedisChannel() override { stop(); }

  void publish(std::string message) override {
    link_.publish({std::make_shared<const std::string>(std::move(message))});
  }
  void listen(Listener listener) override {
    std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
  }
  bool connected() const override { return link_.connected(); }
  void stop() override { link_.stop(); }

 private:
  void receive(std::string_view message) {
    std::lock_guard lock(mutex_);
    if (listener_) listener_(message);
  }

  std::mutex mutex_;  // guards listener_ (set from any thread, called on the reader thread)
  Listener listener_;
  detail::RedisLink link_;  // last: its threads use the members above
};

}  // namespace

Result<std::unique_ptr<EventBus>> make_redis_bus(const BusConfig& config) {
  auto address = detail::parse_redis_url(config.redis_url);
  if (!address) return address.error();
  return std::unique_ptr<EventBus>(std::make_unique<RedisBus>(config, std::move(*address)));
}

Result<std::unique_ptr<TextChannel>> make_redis_channel(const BusConfig& config) {
  auto address = detail::parse_redis_url(config.redis_url);
  if (!address) return address.error();
  return std::unique_ptr<TextChannel>(std::make_unique<RedisChannel>(config, std::move(*address)));
}

}  // namespace honeyman::bus
