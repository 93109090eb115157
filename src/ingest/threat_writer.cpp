#include <pthread.h>
#include <spdlog/spdlog.h>

#include "ingest/ingest.hpp"

namespace honeyman::ingest {

ThreatWriter::ThreatWriter(ThreatWriterConfig config, store::Store& store, bus::EventBus* bus)
    : config_(config), store_(store), bus_(bus), writer_([this] { run(); }) {}

ThreatWriter::~ThreatWriter() {
  stop();
}

void ThreatWriter::submit(std::vector<domain::Threat> threats, Completion done) {
  std::size_t n = threats.size();
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queued_threats_ + n <= config_.queue_capacity) {
      bool was_empty = queue_.empty();
      queued_threats_ += n;
      counters_.submitted += n;
      queue_.push_back({std::move(threats), std::move(done)});
      // Wake the writer only when it can act: work arrived, or a full batch is waiting. A wake
      // per submission costs a context switch each and dominated CPU at thousands per second.
      if (was_empty || queued_threats_ >= config_.batch_max) wake_.notify_one();
      return;
    }
    counters_.refused += n;
  }
  done(make_error(Errc::unavailable,
                  stopping_ ? "server is shutting down" : "ingest queue is full; retry shortly"));
}

void ThreatWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !writer_.joinable()) return;
    stopping_ = true;
    wake_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
}

ThreatWriterCounters ThreatWriter::counters() const {
  std::lock_guard lock(mutex_);
  auto c = counters_;
  c.queued = queued_threats_;
  return c;
}

void ThreatWriter::run() {
  pthread_setname_np(pthread_self(), "ingest-writer");  // for top -H and perf
  for (;;) {
    auto batch = take_batch();
    if (batch.empty()) return;  // stopping and drained
    commit(std::move(batch));
  }
}

// Waits for work, then gives later submitters up to batch_delay to join the same transaction.
std::vector<ThreatWriter::PendingWrite> ThreatWriter::take_batch() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  if (queue_.empty()) return {};
  auto deadline = std::chrono::steady_clock::now() + config_.batch_delay;
  wake_.wait_until(lock, deadline,
                   [&] { return stopping_ || queued_threats_ >= config_.batch_max; });
  std::vector<PendingWrite> batch;
  std::size_t taken = 0;
  while (!queue_.empty() &&
         (batch.empty() || taken + queue_.front().threats.size() <= config_.batch_max)) {
    taken += queue_.front().threats.size();
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_threats_ -= taken;
  return batch;
}

StoredThreats ThreatWriter::insert_with_retry(std::vector<domain::Threat> threats) {
  auto give_up = std::chrono::steady_clock::now() + config_.retry_budget;
  auto backoff = std::chrono::milliseconds(10);
  for (;;) {
    auto result = store_.insert_threats(threats);
    if (result || result.error().code != Errc::unavailable ||
        std::chrono::steady_clock::now() + backoff > give_up)
      return result;
    spdlog::warn("ingest: store unavailable ({}); retrying in {} ms", result.error().message,
                 backoff.count());
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
}

// Serialised here, once per threat, on the writer thread; the bus hands the frames on without
// blocking. The commit time in each event is what delivery latency is measured from.
void ThreatWriter::publish(const std::vector<domain::Threat>& stored) {
  if (!bus_ || stored.empty()) return;
  auto committed_at = system_clock().now();
  bus::EventBatch events;
  events.reserve(stored.size());
  for (const auto& t : stored) events.push_back(bus::threat_event(t, committed_at));
  bus_->publish(std::move(events));
}

void ThreatWriter::commit(std::vector<PendingWrite> batch) {
  std::vector<domain::Threat> all;
  for (auto& s : batch)
    for (auto& t : s.threats) all.push_back(t);
  auto stored = insert_with_retry(std::move(all));
  if (!stored && stored.error().code == Errc::invalid_input && batch.size() > 1) {
    // One submission poisoned the group (say, its sensor was just deleted): commit each alone
    // so the others are not refused for it.
    for (auto& s : batch) commit(std::vector<PendingWrite>{std::move(s)});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    ++counters_.batches;
    if (stored)
      counters_.stored += stored->size();
    else
      for (auto& s : batch) counters_.failed += s.threats.size();
  }
  if (!stored) {
    for (auto& s : batch) s.done(stored.error());
    return;
  }
  publish(*stored);
  auto it = stored->begin();
  for (auto& s : batch) {
    auto end = it + static_cast<std::ptrdiff_t>(s.threats.size());
    s.done(std::vector<domain::Threat>(std::make_move_iterator(it), std::make_move_iterator(end)));
    it = end;
  }
}

}  // namespace honeyman::ingest
