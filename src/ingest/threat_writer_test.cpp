// ThreatWriter against a real SQLite store in memory: group commit, splitting a refused group,
// retries on the injected clock, draining at stop, publishing after the commit.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "ingest/ingest.hpp"
#include "ingest/ingest_test_support.hpp"

namespace honeyman::ingest {
namespace {

using namespace std::chrono_literals;
using test_support::StoreCall;
using test_support::threat;

constexpr auto kPatience = 10s;  // real time a test waits for another thread before failing

// Collects completions from the writer thread.
class Outcomes {
 public:
  Completion add() {
    std::lock_guard lock(mutex_);
    auto slot = results_.size();
    results_.emplace_back(make_error(Errc::internal, "no outcome yet"));
    done_.push_back(false);
    return [this, slot](StoredThreats r) {
      std::lock_guard lock(mutex_);
      results_[slot] = std::move(r);
      done_[slot] = true;
      ++count_;
      changed_.notify_all();
    };
  }
  bool wait(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] { return count_ >= n; });
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  StoredThreats at(std::size_t i) const {
    std::lock_guard lock(mutex_);
    return results_.at(i);
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<StoredThreats> results_;
  std::vector<bool> done_;
  std::size_t count_ = 0;
};

// Declared after a ThreatWriter, so destroyed before it: after a failed check the writer may
// still wait on the clock for a retry, and the budget then ends it instead of hanging the test.
struct ClockMover {
  ManualClock& clock;
  ~ClockMover() { clock.advance(std::chrono::hours(24)); }
};

std::vector<std::string> types_of(const StoredThreats& r) {
  std::vector<std::string> types;
  if (r)
    for (const auto& t : *r) types.push_back(t.threat_type);
  return types;
}

std::int64_t stored_count(store::Store& store) {
  store::ThreatQuery q;
  auto page = store.query_threats(q);
  EXPECT_TRUE(page) << page.error().message;
  return page ? page->total : -1;
}

class ThreatWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = test_support::memory_store();
    ASSERT_TRUE(store_);
    test_support::add_sensor(*store_, "s1", clock_.now());
  }
  // A batch delay no test waits for: batches close when full or at stop().
  static ThreatWriterConfig patient(std::size_t batch_max) {
    ThreatWriterConfig c;
    c.batch_max = batch_max;
    c.batch_delay = std::chrono::duration_cast<std::chrono::milliseconds>(1h);
    return c;
  }
  std::vector<domain::Threat> threats(std::initializer_list<const char*> types,
                                      const std::string& sensor = "s1") {
    std::vector<domain::Threat> out;
    for (auto type : types) out.push_back(threat(sensor, type, clock_.now()));
    return out;
  }

  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
};

using ThreatWriterCommit = ThreatWriterTest;
using ThreatWriterRetry = ThreatWriterTest;
using ThreatWriterStop = ThreatWriterTest;

TEST_F(ThreatWriterCommit, SubmissionsWaitingTogetherShareOneTransaction) {
  Outcomes outcomes;  // outlives the writer, whose thread completes into it
  ThreatWriter writer(patient(6), *store_, clock_);
  writer.submit(threats({"a1", "a2"}), outcomes.add());
  writer.submit(threats({"b1", "b2"}), outcomes.add());
  writer.submit(threats({"c1", "c2"}), outcomes.add());  // the sixth threat fills the batch
  ASSERT_TRUE(outcomes.wait(3));
  EXPECT_EQ(types_of(outcomes.at(0)), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(types_of(outcomes.at(1)), (std::vector<std::string>{"b1", "b2"}));
  EXPECT_EQ(types_of(outcomes.at(2)), (std::vector<std::string>{"c1", "c2"}));
  auto c = writer.counters();
  EXPECT_EQ(c.batches, 1u);
  EXPECT_EQ(c.stored, 6u);
  EXPECT_EQ(stored_count(*store_), 6);
}

TEST_F(ThreatWriterCommit, ASubmissionTheStoreRefusesDoesNotSinkTheOthers) {
  Outcomes outcomes;  // outlives the writer, whose thread completes into it
  ThreatWriter writer(patient(3), *store_, clock_);
  writer.submit(threats({"first"}), outcomes.add());
  writer.submit(threats({"ghostly"}, "ghost"), outcomes.add());  // no such sensor
  writer.submit(threats({"third"}), outcomes.add());
  ASSERT_TRUE(outcomes.wait(3));
  EXPECT_EQ(types_of(outcomes.at(0)), (std::vector<std::string>{"first"}));
  ASSERT_FALSE(outcomes.at(1));
  EXPECT_EQ(outcomes.at(1).error().code, Errc::invalid_input);
  EXPECT_EQ(types_of(outcomes.at(2)), (std::vector<std::string>{"third"}));
  EXPECT_EQ(writer.counters().stored, 2u);
  EXPECT_EQ(writer.counters().failed, 1u);
  EXPECT_EQ(stored_count(*store_), 2);
}

TEST_F(ThreatWriterCommit, CommittedThreatsArePublishedWithTheClocksCommitTime) {
  Outcomes outcomes;  // outlives the writer, whose thread completes into it
  auto bus = bus::make_local_bus({});
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> frames;
  bus->subscribe([&](const bus::EventBatch& batch) {
    std::lock_guard lock(m);
    for (const auto& e : batch) frames.push_back(*e->frame);
    cv.notify_all();
  });
  ThreatWriter writer(patient(1), *store_, clock_, bus.get());
  writer.submit(threats({"published"}), outcomes.add());
  ASSERT_TRUE(outcomes.wait(1));
  auto stored = outcomes.at(0);
  ASSERT_TRUE(stored);
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, kPatience, [&] { return !frames.empty(); }));
  auto frame = boost::json::parse(frames.at(0)).as_object();
  EXPECT_EQ(frame.at("timestamp").as_string(), format_timestamp(clock_.now()));
  EXPECT_EQ(frame.at("data").at("id").as_string(), stored->front().id);
}

// The same message again (redelivery, a retried HTTP batch): completed with the same ids, but not
// stored, counted or announced a second time.
TEST_F(ThreatWriterCommit, ADuplicateCompletesButIsNeitherCountedNorPublished) {
  Outcomes outcomes;  // outlives the writer, whose thread completes into it
  auto bus = bus::make_local_bus({});
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> published;
  bus->subscribe([&](const bus::EventBatch& batch) {
    std::lock_guard lock(m);
    for (const auto& e : batch)
      published.emplace_back(
          boost::json::parse(*e->frame).at("data").at("threat_type").as_string());
    cv.notify_all();
  });
  ThreatWriter writer(patient(2), *store_, clock_, bus.get());
  auto first = threats({"once"});
  writer.submit(first, outcomes.add());
  writer.submit(threats({"other"}), outcomes.add());
  ASSERT_TRUE(outcomes.wait(2));
  writer.submit(first, outcomes.add());  // again, in a batch with a new one
  writer.submit(threats({"new"}), outcomes.add());
  ASSERT_TRUE(outcomes.wait(4));
  ASSERT_TRUE(outcomes.at(2));
  EXPECT_EQ(outcomes.at(2)->front().id, first.front().id);
  writer.submit(threats({"marker"}), outcomes.add());
  writer.stop();
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, kPatience, [&] { return published.size() >= 4; }));
  EXPECT_EQ(published, (std::vector<std::string>{"once", "other", "new", "marker"}));
  EXPECT_EQ(writer.counters().stored, 4u);
  EXPECT_EQ(writer.counters().duplicates, 1u);
  EXPECT_EQ(stored_count(*store_), 4);
}

TEST_F(ThreatWriterCommit, AFullQueueRefusesAtOnce) {
  Outcomes outcomes;  // outlives the writer, whose thread completes into it
  auto config = patient(1000);
  config.queue_capacity = 2;
  ThreatWriter writer(config, *store_, clock_);
  writer.submit(threats({"a", "b"}), outcomes.add());
  writer.submit(threats({"c"}), outcomes.add());
  ASSERT_TRUE(outcomes.wait(1));
  ASSERT_FALSE(outcomes.at(1));
  EXPECT_EQ(outcomes.at(1).error().code, Errc::unavailable);
  EXPECT_EQ(writer.counters().refused, 1u);
  writer.stop();
  EXPECT_TRUE(outcomes.at(0)) << "what was queued is still committed";
}

TEST_F(ThreatWriterRetry, AnUnavailableStoreIsRetriedOnTheClock) {
  Outcomes outcomes;  // outlives the writer, whose thread completes into it
  test_support::FlakyStore flaky(*store_);
  flaky.fail_next(StoreCall::insert_threats, 2);
  ThreatWriter writer(patient(1), flaky, clock_);
  ClockMover mover{clock_};
  writer.submit(threats({"patient"}), outcomes.add());
  ASSERT_TRUE(clock_.wait_for_sleeps(1, kPatience));
  EXPECT_EQ(outcomes.count(), 0u) << "no outcome while the retry waits";
  clock_.advance(10ms);
  ASSERT_TRUE(clock_.wait_for_sleeps(2, kPatience));
  clock_.advance(20ms);  // the backoff doubles
  ASSERT_TRUE(outcomes.wait(1));
  EXPECT_EQ(types_of(outcomes.at(0)), (std::vector<std::string>{"patient"}));
  EXPECT_EQ(flaky.attempts(StoreCall::insert_threats), 3);
}

TEST_F(ThreatWriterRetry, TheBudgetEndsTheRetries) {
  Outcomes outcomes;  // outlives the writer, whose thread completes into it
  test_support::FlakyStore flaky(*store_);
  flaky.fail_next(StoreCall::insert_threats, 1000);
  auto config = patient(1);
  config.retry_budget = 25ms;  // waits of 10 ms fit; the next one (20 ms more) does not
  ThreatWriter writer(config, flaky, clock_);
  ClockMover mover{clock_};
  writer.submit(threats({"doomed"}), outcomes.add());
  ASSERT_TRUE(clock_.wait_for_sleeps(1, kPatience));
  clock_.advance(10ms);
  ASSERT_TRUE(outcomes.wait(1));
  ASSERT_FALSE(outcomes.at(0));
  EXPECT_EQ(outcomes.at(0).error().code, Errc::unavailable);
  EXPECT_EQ(flaky.attempts(StoreCall::insert_threats), 2);
  EXPECT_EQ(writer.counters().failed, 1u);
}

TEST_F(ThreatWriterStop, EverythingQueuedIsCommittedBeforeStopReturns) {
  Outcomes outcomes;  // outlives the writer, whose thread completes into it
  ThreatWriter writer(patient(1000), *store_, clock_);
  for (int i = 0; i < 5; ++i) writer.submit(threats({"queued"}), outcomes.add());
  writer.stop();
  ASSERT_EQ(outcomes.count(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(outcomes.at(i)) << i;
  EXPECT_EQ(stored_count(*store_), 5);

  writer.submit(threats({"late"}), outcomes.add());
  ASSERT_EQ(outcomes.count(), 6u) << "refused at once";
  ASSERT_FALSE(outcomes.at(5));
  EXPECT_EQ(outcomes.at(5).error().code, Errc::unavailable);
  EXPECT_EQ(outcomes.at(5).error().message, "server is shutting down");
}

}  // namespace
}  // namespace honeyman::ingest
