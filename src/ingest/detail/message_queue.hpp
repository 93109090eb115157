// The bounded queue between libmosquitto's network thread (the producer) and the decoder thread
// (the consumer). A full queue blocks push(), which stops the network thread reading its socket:
// the broker keeps the rest in our persistent session. That is the backpressure; memory here
// stays bounded by `capacity` messages.
//
// Thread-safe: one producer, one consumer, and any thread for the control calls. Waits are on
// real time (condition variables): they are wake-up latencies, not behaviour under test.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "ingest/detail/decode.hpp"

namespace honeyman::ingest::detail {

class MessageQueue {
 public:
  // `batch`: most messages take() returns; reaching it wakes the consumer at once.
  MessageQueue(std::size_t capacity, std::size_t batch);

  // Producer: appends `m`, first waiting while the queue is full, unless release_producer() was
  // called (the message is already acknowledged, so it is kept even beyond the capacity).
  void push(RawMessage m);
  // Never blocks the producer again: the network thread must finish its callback to exit.
  void release_producer();

  struct Round {
    std::vector<RawMessage> messages;  // at most `batch`, oldest first
    bool drained = false;              // close() was called and nothing is left
  };
  // Consumer: waits up to `idle` for a first message, then up to `linger` for a full batch (a
  // moderate stream would otherwise wake the consumer once per message), and takes what is
  // there. Returns at once when closed.
  Round take(std::chrono::milliseconds idle, std::chrono::microseconds linger);
  // Asks the consumer to take what is left without waiting, and to finish when drained.
  void close();

  std::uint64_t received() const;  // messages pushed, ever
  std::size_t depth() const;       // messages waiting
  std::size_t last_round() const;  // messages in the last non-empty round

 private:
  const std::size_t capacity_, batch_;
  mutable std::mutex mutex_;
  // not_empty wakes the consumer, not_full the producer; each is signalled only on the
  // transition, so a busy stream costs no wake-up per message.
  std::condition_variable not_empty_, not_full_;
  std::deque<RawMessage> queue_;
  bool producer_released_ = false, closed_ = false;
  std::uint64_t received_ = 0;
  std::size_t last_round_ = 0;
};

}  // namespace honeyman::ingest::detail
