#include "bus/detail/redis_link.hpp"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/url/parse.hpp>
#include <charconv>

namespace honeyman::bus::detail {
namespace {

struct RedisFree {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using RedisConn = std::unique_ptr<redisContext, RedisFree>;
struct ReplyFree {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

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

// Sends every payload as "<instance>\n<payload>" in one pipeline and reads the replies.
Status publish_all(redisContext* c, const std::string& channel, const std::string& instance,
                   const std::deque<std::vector<RedisLink::Payload>>& batches) {
  std::size_t pending = 0;
  std::string message;
  for (const auto& batch : batches)
    for (const auto& payload : batch) {
      message.assign(instance).push_back('\n');
      message.append(*payload);
      redisAppendCommand(c, "PUBLISH %b %b", channel.data(), channel.size(), message.data(),
                         message.size());
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

// Reads messages until the connection fails (or is shut down by stop()); hands the payloads of
// other instances to `on_message`.
void read_messages(redisContext* c, const std::string& instance,
                   const RedisLink::OnMessage& on_message) {
  for (;;) {
    redisReply* raw = nullptr;
    if (redisGetReply(c, reinterpret_cast<void**>(&raw)) != REDIS_OK) return;
    RedisReplyPtr reply(raw);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) continue;
    auto* payload = reply->element[2];
    if (payload->type != REDIS_REPLY_STRING) continue;
    std::string_view text(payload->str, payload->len);
    auto newline = text.find('\n');
    if (newline == std::string_view::npos || text.substr(0, newline) == instance) continue;
    on_message(text.substr(newline + 1));
  }
}

}  // namespace

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

RedisLink::RedisLink(const BusConfig& config, RedisAddress address, OnMessage on_message)
    : config_(config),
      address_(std::move(address)),
      instance_(uuid_v4()),
      on_message_(std::move(on_message)),
      writer_([this] { write_loop(); }),
      reader_([this] { read_loop(); }) {}

RedisLink::~RedisLink() {
  stop();
}

void RedisLink::publish(std::vector<Payload> payloads) {
  if (payloads.empty()) return;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      dropped_ += payloads.size();
      return;
    }
    if (outbox_.size() >= config_.queue_capacity) {
      dropped_ += outbox_.front().size();
      outbox_.pop_front();
    }
    outbox_.push_back(std::move(payloads));
  }
  wake_.notify_one();
}

void RedisLink::stop() {
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
}

bool RedisLink::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

// Sleeps for the current backoff (or until stop) and doubles it.
void RedisLink::back_off(std::chrono::milliseconds& delay) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, delay, [&] { return stopping_; });
  delay = std::min(delay * 2, config_.reconnect_max);
}

void RedisLink::count_dropped(const std::deque<std::vector<Payload>>& batches) {
  for (const auto& b : batches) dropped_ += b.size();
}

void RedisLink::write_loop() {
  pthread_setname_np(pthread_self(), "bus-redis-pub");
  RedisConn conn;
  auto delay = config_.reconnect_min;
  for (;;) {
    std::deque<std::vector<Payload>> batches;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !outbox_.empty(); });
      if (stopping_) return;
      batches.swap(outbox_);
    }
    if (!conn) {
      auto c = connect(address_);
      if (!c) {
        // What cannot be sent now is dropped (clients of other instances catch up with
        // ?since=; local listeners already have it).
        count_dropped(batches);
        spdlog::warn("bus: Redis publish connection failed ({}); retrying in {} ms",
                     c.error().message, delay.count());
        back_off(delay);
        continue;
      }
      conn = std::move(*c);
      delay = config_.reconnect_min;
    }
    if (auto ok = publish_all(conn.get(), config_.channel, instance_, batches); !ok) {
      count_dropped(batches);
      spdlog::warn("bus: Redis publish failed: {}", ok.error().message);
      conn.reset();
      ++reconnects_;
    }
  }
}

void RedisLink::read_loop() {
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
        read_messages(c->get(), instance_, on_message_);
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

}  // namespace honeyman::bus::detail
