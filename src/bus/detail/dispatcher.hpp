// The dispatch thread both buses share: a bounded queue of batches and the listeners they go to.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "bus/bus.hpp"

namespace honeyman::bus::detail {

class Dispatcher {
 public:
  explicit Dispatcher(std::size_t capacity);
  ~Dispatcher();  // stop()s

  // Queues a batch for the listeners; when `capacity` batches wait, the oldest is dropped and
  // its size returned (0 otherwise).
  std::size_t enqueue(EventBatch batch);
  std::uint64_t subscribe(EventBus::Listener listener);
  void unsubscribe(std::uint64_t id);
  void stop();

 private:
  void run();

  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<EventBatch> queue_;
  bool stopping_ = false;
  std::mutex listeners_mutex_;  // held while dispatching, so unsubscribe() waits for it
  std::map<std::uint64_t, EventBus::Listener> listeners_;
  std::uint64_t next_id_ = 1;
  std::thread thread_;
};

}  // namespace honeyman::bus::detail
