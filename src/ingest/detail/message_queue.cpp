#include "ingest/detail/message_queue.hpp"

namespace honeyman::ingest::detail {

MessageQueue::MessageQueue(std::size_t capacity, std::size_t batch)
    : capacity_(capacity), batch_(batch) {}

void MessageQueue::push(RawMessage m) {
  std::unique_lock lock(mutex_);
  not_full_.wait(lock, [&] { return queue_.size() < capacity_ || producer_released_; });
  bool was_empty = queue_.empty();
  queue_.push_back(std::move(m));
  ++received_;
  if (was_empty || queue_.size() == batch_) not_empty_.notify_one();
}

void MessageQueue::release_producer() {
  std::lock_guard lock(mutex_);
  producer_released_ = true;
  not_full_.notify_all();
}

MessageQueue::Round MessageQueue::take(std::chrono::milliseconds idle,
                                       std::chrono::microseconds linger) {
  std::unique_lock lock(mutex_);
  not_empty_.wait_for(lock, idle, [&] { return !queue_.empty() || closed_; });
  if (!queue_.empty() && queue_.size() < batch_ && !closed_)
    not_empty_.wait_for(lock, linger, [&] { return queue_.size() >= batch_ || closed_; });
  bool was_full = queue_.size() >= capacity_;
  Round round;
  while (!queue_.empty() && round.messages.size() < batch_) {
    round.messages.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  if (!round.messages.empty()) last_round_ = round.messages.size();
  round.drained = closed_ && queue_.empty();
  if (was_full) not_full_.notify_all();
  return round;
}

void MessageQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  not_empty_.notify_all();
}

std::uint64_t MessageQueue::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::size_t MessageQueue::depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t MessageQueue::last_round() const {
  std::lock_guard lock(mutex_);
  return last_round_;
}

}  // namespace honeyman::ingest::detail
