#include "ingest/detail/in_flight.hpp"

#include "ingest/detail/decode.hpp"

namespace honeyman::ingest::detail {

InFlight::InFlight(ThreatWriter& writer, IngestTallies& tallies, std::size_t max)
    : writer_(writer), tallies_(tallies), max_(max) {}

bool InFlight::wait_for_room(std::size_t n) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !failed_.empty() || threats_ == 0 || threats_ + n <= max_; });
  return failed_.empty();
}

bool InFlight::wait_until_settled() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !failed_.empty() || threats_ == 0; });
  return failed_.empty();
}

void InFlight::submit(MessagePtr m, std::vector<domain::Threat> threats) {
  {
    std::lock_guard lock(mutex_);
    threats_ += m->count;
  }
  hand_to_writer(std::move(m), std::move(threats), false);
}

bool InFlight::has_failed() const {
  std::lock_guard lock(mutex_);
  return !failed_.empty();
}

std::vector<InFlight::MessagePtr> InFlight::take_failed() {
  std::lock_guard lock(mutex_);
  return std::exchange(failed_, {});
}

void InFlight::resubmit(MessagePtr m, std::vector<domain::Threat> threats) {
  {
    std::lock_guard lock(mutex_);
    ++resubmitting_;
  }
  hand_to_writer(std::move(m), std::move(threats), true);
}

void InFlight::abandon(const MessagePtr& m) {
  std::lock_guard lock(mutex_);
  threats_ -= m->count;
  changed_.notify_all();
}

void InFlight::wait_resubmitted() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return resubmitting_ == 0; });
}

std::vector<std::pair<InFlight::MessagePtr, std::string>> InFlight::take_refused() {
  std::lock_guard lock(mutex_);
  return std::exchange(refused_, {});
}

std::size_t InFlight::count() const {
  std::lock_guard lock(mutex_);
  return threats_;
}

// Not under the lock: the writer may complete at once, on this thread.
void InFlight::hand_to_writer(MessagePtr m, std::vector<domain::Threat> threats, bool resubmitted) {
  writer_.submit(std::move(threats), [this, m = std::move(m), resubmitted](StoredThreats r) {
    settle(m, r, resubmitted);
  });
}

void InFlight::settle(const MessagePtr& m, const StoredThreats& result, bool resubmitted) {
  std::lock_guard lock(mutex_);
  if (resubmitted) --resubmitting_;
  if (result) {
    threats_ -= m->count;
    IngestTallies::add(tallies_.threats_stored, m->count);
  } else if (result.error().code == Errc::unavailable) {
    failed_.push_back(m);
  } else {
    threats_ -= m->count;
    refused_.emplace_back(m, store_refusal_reason(result.error().message));
  }
  changed_.notify_all();
}

}  // namespace honeyman::ingest::detail
