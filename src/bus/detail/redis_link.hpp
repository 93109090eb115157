// The Redis pub/sub transport both Redis-backed interfaces share (the event bus and the text
// channel): one PUBLISH connection (a writer thread that pipelines whatever is queued) and one
// SUBSCRIBE connection (a reader thread), each reconnecting with backoff. Every message goes out
// as "<instance id>\n<payload>"; the reader skips this instance's own messages (Redis echoes them)
// and hands the others' payloads to `on_message`. hiredis appears only in redis_link.cpp.
//
// Thread-safety: publish(), connected() and the counters are thread-safe. `on_message` runs on
// the reader thread and must not block. Pub/sub keeps nothing for later: what cannot be sent
// while Redis is down is dropped (and counted).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bus/bus.hpp"

namespace honeyman::bus::detail {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
};

// redis://[:password@]host[:port][/db]; Errc::invalid_input otherwise.
Result<RedisAddress> parse_redis_url(std::string_view url);

class RedisLink {
 public:
  using Payload = std::shared_ptr<const std::string>;
  using OnMessage = std::function<void(std::string_view payload)>;

  // Starts both threads; `config.channel` is the Redis channel, `config.queue_capacity` the
  // number of publish() batches that may wait for the writer.
  RedisLink(const BusConfig& config, RedisAddress address, OnMessage on_message);
  ~RedisLink();  // stop()s
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Queues `payloads` for one pipelined write. When `queue_capacity` batches wait, the oldest is
  // dropped. Never blocks.
  void publish(std::vector<Payload> payloads);
  bool connected() const { return subscribed_; }
  std::uint64_t dropped() const { return dropped_; }  // payloads not sent
  std::uint64_t reconnects() const { return reconnects_; }
  // Joins both threads; later publishes are dropped. Idempotent.
  void stop();

 private:
  bool stopping();
  void back_off(std::chrono::milliseconds& delay);
  void write_loop();
  void read_loop();
  void count_dropped(const std::deque<std::vector<Payload>>& batches);

  BusConfig config_;
  RedisAddress address_;
  std::string instance_;
  OnMessage on_message_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::vector<Payload>> outbox_;
  bool stopping_ = false;
  int reader_fd_ = -1;
  std::atomic<bool> subscribed_{false};
  std::atomic<std::uint64_t> dropped_{0}, reconnects_{0};
  std::thread writer_, reader_;
};

}  // namespace honeyman::bus::detail
