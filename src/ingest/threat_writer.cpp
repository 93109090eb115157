#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "ingest/ingest.hpp"
#include "metrics/metrics.hpp"

namespace honeyman::ingest {
namespace {

// A group commit that finds the store unavailable waits 10 ms, doubling to 1 s, up to the
// configured budget: long enough to ride out a lock or a reconnect, short enough that an HTTP
// producer hears back (503) while its client still waits.
RetryPolicy writer_retry_policy(std::chrono::milliseconds budget) {
  RetryPolicy policy;
  policy.backoff.initial = std::chrono::milliseconds(10);
  policy.backoff.max = std::chrono::milliseconds(1000);
  policy.budget = budget;
  return policy;
}

// Recorded on the writer thread, once per transaction.
struct CommitMetrics {
  metrics::Histogram batch_size =
      metrics::histogram("honeyman_ingest_batch_size", "Threats per group-commit transaction.",
                         metrics::size_buckets())
          .with({});
  metrics::Histogram commit_seconds =
      metrics::histogram("honeyman_store_operation_duration_seconds",
                         "Store call latency (including retries), by operation.",
                         metrics::latency_buckets())
          .with({{"operation", "insert_threats"}});
};
const CommitMetrics& commit_metrics() {
  static const CommitMetrics m;
  return m;
}

template <class Writes>
std::size_t threat_count(const Writes& writes) {
  std::size_t n = 0;
  for (const auto& w : writes) n += w.threats.size();
  return n;
}

}  // namespace

ThreatWriter::ThreatWriter(ThreatWriterConfig config, store::Store& store, const Clock& clock,
                           bus::EventBus* bus)
    : config_(config), store_(store), clock_(clock), bus_(bus), writer_([this] { run(); }) {}

void ThreatWriter::set_commit_observer(CommitObserver observer) {
  std::lock_guard lock(mutex_);
  observer_ = observer ? std::make_shared<const CommitObserver>(std::move(observer)) : nullptr;
}

ThreatWriter::~ThreatWriter() {
  stop();
}

void ThreatWriter::submit(std::vector<domain::Threat> threats, Completion done) {
  std::size_t n = threats.size();
  bool stopping = false;
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
    stopping = stopping_;
  }
  done(make_error(Errc::unavailable,
                  stopping ? "server is shutting down" : "ingest queue is full; retry shortly"));
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
  // Real time, not clock_: a condition variable cannot wait on a ManualClock, and this is a
  // latency knob of a few milliseconds that a full batch or stop() cuts short, not a behaviour
  // any test needs to drive.
  wake_.wait_for(lock, config_.batch_delay,
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

// Every attempt passes the same vector: a failed insert_threats leaves it as it was.
Result<store::InsertOutcome> ThreatWriter::insert_with_retry(std::vector<domain::Threat>& threats) {
  return retry_with_backoff(
      clock_, writer_retry_policy(config_.retry_budget),
      [&] { return store_.insert_threats(threats); },
      [](const Error& e, std::chrono::milliseconds wait) {
        spdlog::warn("ingest: store unavailable ({}); retrying in {} ms", e.message, wait.count());
      });
}

void ThreatWriter::commit(std::vector<PendingWrite> batch) {
  // The threats move into one vector for the store. Each submission keeps its moved-from
  // elements, so its size still says which slice of the result is its own.
  std::vector<domain::Threat> all;
  all.reserve(threat_count(batch));
  for (auto& w : batch) std::move(w.threats.begin(), w.threats.end(), std::back_inserter(all));
  const auto& m = commit_metrics();
  m.batch_size.observe(static_cast<double>(all.size()));
  auto began = std::chrono::steady_clock::now();
  auto stored = insert_with_retry(all);
  m.commit_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  if (!stored && stored.error().code == Errc::invalid_input && batch.size() > 1)
    return commit_each(std::move(batch), std::move(all));
  if (!stored) return complete(std::move(batch), stored.error());
  complete(std::move(batch), std::move(all), stored->inserted);
}

// One submission poisoned the group (say, its sensor was just deleted): each is committed alone,
// so the others are not refused for it.
void ThreatWriter::commit_each(std::vector<PendingWrite> batch, std::vector<domain::Threat> all) {
  auto next = all.begin();
  for (auto& w : batch) {
    auto end = next + static_cast<std::ptrdiff_t>(w.threats.size());
    std::move(next, end, w.threats.begin());  // its threats back
    next = end;
    std::vector<PendingWrite> alone;
    alone.push_back(std::move(w));
    commit(std::move(alone));
  }
}

void ThreatWriter::complete(std::vector<PendingWrite> batch, StoredThreats stored,
                            const std::vector<bool>& inserted) {
  {
    std::lock_guard lock(mutex_);
    ++counters_.batches;
    if (stored) {
      auto n = static_cast<std::uint64_t>(std::count(inserted.begin(), inserted.end(), true));
      counters_.stored += n;
      counters_.duplicates += stored->size() - n;
    } else {
      counters_.failed += threat_count(batch);
    }
  }
  if (!stored) {
    for (auto& w : batch) w.done(stored.error());
    return;
  }
  publish(*stored, inserted);
  auto next = stored->begin();
  for (auto& w : batch) {
    auto end = next + static_cast<std::ptrdiff_t>(w.threats.size());
    w.done(
        std::vector<domain::Threat>(std::make_move_iterator(next), std::make_move_iterator(end)));
    next = end;
  }
}

// Serialised here, once per inserted threat, on the writer thread; the bus hands the frames on
// without blocking. The commit time in each event is what delivery latency is measured from. A
// threat the store already held was announced when it was first stored.
void ThreatWriter::publish(const std::vector<domain::Threat>& stored,
                           const std::vector<bool>& inserted) {
  if (stored.empty()) return;
  auto committed_at = clock_.now();
  std::shared_ptr<const CommitObserver> observer;
  {
    std::lock_guard lock(mutex_);
    observer = observer_;
  }
  if (observer) (*observer)(stored, inserted, committed_at);
  if (!bus_) return;
  bus::EventBatch events;
  events.reserve(stored.size());
  for (std::size_t i = 0; i < stored.size(); ++i)
    if (inserted[i]) events.push_back(bus::threat_event(stored[i], committed_at));
  if (!events.empty()) bus_->publish(std::move(events));
}

}  // namespace honeyman::ingest
