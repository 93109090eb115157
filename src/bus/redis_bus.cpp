// Redis pub/sub: one PUBLISH connection (a writer thread that pipelines whatever is queued) and
// one SUBSCRIBE connection (a reader thread), each reconnecting with backoff. Every message is
// "<instance id>\n<frame>": an instance delivers its own events locally at once and skips them
// when Redis echoes them back, so its own clients keep their feed while Redis is down.
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/url/parse.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "bus/detail/dispatcher.hpp"

namespace honeyman::bus {
namespace {

struct RedisFree {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using RedisConn = std::unique_ptr<redisContext, RedisFree>;
struct ReplyFree {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
};

Result<RedisAddress> parse_redis_url(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "redis")
    return make_error(Errc::invalid_input,
                      "REDIS_URL must look like redis://[:password@]host[:port][/db]");
  RedisAddress a;
  if (!u->host().empty()) a.host = u->host();
  if (u->has_port()) a.port = u->port_number();
  if (u->has_password()) a.password = u->password();
  auto path = std::string(u->path());
  if (path.size() > 1) {
    auto digits = std::string_view(path).substr(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), a.db);
    if (ec != std::errc() || end != digits.data() + digits.size())
      return make_error(Errc::invalid_input, "REDIS_URL: the database must be a number");
  }
  return a;
}

// A connected, authenticated context with the database selected, or the reason it is not.
Result<RedisConn> connect(const RedisAddress& a) {
  timeval timeout{2, 0};
  RedisConn c(redisConnectWithTimeout(a.host.c_str(), a.port, timeout));
  if (!c) return make_error(Errc::unavailable, "out of memory");
  if (c->err) return make_error(Errc::unavailable, c->errstr);
  redisEnableKeepAlive(c.get());
  auto command = [&](RedisReplyPtr reply) -> Status {
    if (!reply) return make_error(Errc::unavailable, c->errstr);
    if (reply->type == REDIS_REPLY_ERROR) return make_error(Errc::unavailable, reply->str);
    return {};
  };
  if (!a.password.empty())
    if (auto ok = command(RedisReplyPtr(static_cast<redisReply*>(
            redisCommand(c.get(), "AUTH %b", a.password.data(), a.password.size()))));
        !ok)
      return ok.error();
  if (a.db != 0)
    if (auto ok = command(
            RedisReplyPtr(static_cast<redisReply*>(redisCommand(c.get(), "SELECT %d", a.db))));
        !ok)
      return ok.error();
  return c;
}

class RedisBus final : public EventBus {
 public:
  RedisBus(const BusConfig& config, RedisAddress address)
      : config_(config),
        address_(std::move(address)),
        instance_(uuid_v4()),
        dispatcher_(config.queue_capacity),
        writer_([this] { write_loop(); }),
        reader_([this] { read_loop(); }) {}
  ~RedisBus() override { stop(); }

  void publish(EventBatch events) override {
    published_ += events.size();
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        if (outbox_.size() >= config_.queue_capacity) {
          dropped_ += outbox_.front().size();
          outbox_.pop_front();
        }
        outbox_.push_back(events);
      }
    }
    wake_.notify_one();
    dropped_ += dispatcher_.enqueue(std::move(events));
  }
  std::uint64_t subscribe(Listener listener) override {
    return dispatcher_.subscribe(std::move(listener));
  }
  void unsubscribe(std::uint64_t id) override { dispatcher_.unsubscribe(id); }
  bool connected() const override { return subscribed_; }
  BusCounters counters() const override {
    return BusCounters{published_.load(), received_.load(), dropped_.load(), reconnects_.load()};
  }

  void stop() override {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      // The reader blocks in a read without a timeout (a timeout would kill the context):
      // shutting its socket down wakes it.
      if (reader_fd_ >= 0) ::shutdown(reader_fd_, SHUT_RDWR);
    }
    wake_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (reader_.joinable()) reader_.join();
    dispatcher_.stop();
  }

 private:
  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // Sleeps for the current backoff (or until stop) and doubles it.
  void back_off(std::chrono::milliseconds& delay) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, delay, [&] { return stopping_; });
    delay = std::min(delay * 2, config_.reconnect_max);
  }

  void write_loop();
  void read_loop();
  void read_messages(redisContext* c);
  Status publish_all(redisContext* c, const std::deque<EventBatch>& batches);

  BusConfig config_;
  RedisAddress address_;
  std::string instance_;
  detail::Dispatcher dispatcher_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<EventBatch> outbox_;
  bool stopping_ = false;
  int reader_fd_ = -1;
  std::atomic<bool> subscribed_{false};
  std::atomic<std::uint64_t> published_{0}, received_{0}, dropped_{0}, reconnects_{0};
  std::thread writer_, reader_;
};

Status RedisBus::publish_all(redisContext* c, const std::deque<EventBatch>& batches) {
  std::size_t pending = 0;
  std::string message;
  for (const auto& batch : batches)
    for (const auto& event : batch) {
      message.assign(instance_).push_back('\n');
      message.append(*event->frame);
      redisAppendCommand(c, "PUBLISH %b %b", config_.channel.data(), config_.channel.size(),
                         message.data(), message.size());
      ++pending;
    }
  for (; pending > 0; --pending) {
    redisReply* raw = nullptr;
    if (redisGetReply(c, reinterpret_cast<void**>(&raw)) != REDIS_OK)
      return make_error(Errc::unavailable, c->errstr);
    freeReplyObject(raw);
  }
  return {};
}

void RedisBus::write_loop() {
  pthread_setname_np(pthread_self(), "bus-redis-pub");
  RedisConn conn;
  auto delay = config_.reconnect_min;
  for (;;) {
    std::deque<EventBatch> batches;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !outbox_.empty(); });
      if (stopping_) return;
      batches.swap(outbox_);
    }
    if (!conn) {
      auto c = connect(address_);
      if (!c) {
        // Pub/sub keeps nothing for later: what cannot be sent now is dropped (clients of
        // other instances catch up with ?since=). Local clients already have it.
        for (const auto& b : batches) dropped_ += b.size();
        spdlog::warn("bus: Redis publish connection failed ({}); retrying in {} ms",
                     c.error().message, delay.count());
        back_off(delay);
        continue;
      }
      conn = std::move(*c);
      delay = config_.reconnect_min;
    }
    if (auto ok = publish_all(conn.get(), batches); !ok) {
      for (const auto& b : batches) dropped_ += b.size();
      spdlog::warn("bus: Redis publish failed: {}", ok.error().message);
      conn.reset();
      ++reconnects_;
    }
  }
}

void RedisBus::read_loop() {
  pthread_setname_np(pthread_self(), "bus-redis-sub");
  auto delay = config_.reconnect_min;
  while (!stopping()) {
    auto c = connect(address_);
    if (c) {
      RedisReplyPtr reply(static_cast<redisReply*>(
          redisCommand(c->get(), "SUBSCRIBE %b", config_.channel.data(), config_.channel.size())));
      if (reply && reply->type != REDIS_REPLY_ERROR) {
        {
          std::lock_guard lock(mutex_);
          if (stopping_) return;
          reader_fd_ = (*c)->fd;
        }
        subscribed_ = true;
        spdlog::info("bus: subscribed to Redis channel {}", config_.channel);
        delay = config_.reconnect_min;
        read_messages(c->get());
        subscribed_ = false;
        std::lock_guard lock(mutex_);
        reader_fd_ = -1;
        if (stopping_) return;
      }
      spdlog::warn("bus: Redis subscription lost ({}); reconnecting", (*c)->errstr);
      ++reconnects_;
    } else {
      spdlog::warn("bus: Redis subscribe connection failed ({}); retrying in {} ms",
                   c.error().message, delay.count());
    }
    back_off(delay);
  }
}

void RedisBus::read_messages(redisContext* c) {
  for (;;) {
    redisReply* raw = nullptr;
    if (redisGetReply(c, reinterpret_cast<void**>(&raw)) != REDIS_OK) return;
    RedisReplyPtr reply(raw);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) continue;
    auto* payload = reply->element[2];
    if (payload->type != REDIS_REPLY_STRING) continue;
    std::string_view text(payload->str, payload->len);
    auto newline = text.find('\n');
    if (newline == std::string_view::npos || text.substr(0, newline) == instance_) continue;
    auto event = parse_event(std::string(text.substr(newline + 1)));
    if (!event) {
      spdlog::warn("bus: ignoring a malformed event from Redis: {}", event.error().message);
      continue;
    }
    ++received_;
    dropped_ += dispatcher_.enqueue(EventBatch{std::move(*event)});
  }
}

}  // namespace

Result<std::unique_ptr<EventBus>> make_redis_bus(const BusConfig& config) {
  auto address = parse_redis_url(config.redis_url);
  if (!address) return address.error();
  return std::unique_ptr<EventBus>(std::make_unique<RedisBus>(config, std::move(*address)));
}

}  // namespace honeyman::bus
