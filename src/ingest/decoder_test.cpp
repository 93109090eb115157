// The MQTT decoder's rounds without a broker: raw messages pushed into its queue, outcomes read
// back from a real SQLite store in memory; store outages driven on a ManualClock.
#include "ingest/detail/decoder.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "ingest/ingest_test_support.hpp"

namespace honeyman::ingest::detail {
namespace {

using namespace std::chrono_literals;
using broker::TopicKind;
using test_support::StoreCall;

constexpr auto kPatience = 10s;  // real time a test waits for another thread before failing

// Polls `condition` (another thread makes it true) for up to kPatience.
bool eventually(const std::function<bool()>& condition) {
  auto give_up = std::chrono::steady_clock::now() + kPatience;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::string good_threat(const std::string& type) {
  return R"({"threat_type": ")" + type + R"(", "detector_type": "usb", "severity": "low"})";
}

class MqttDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = test_support::memory_store();
    ASSERT_TRUE(store_);
    test_support::add_sensor(*store_, "s1", clock_.now());
    flaky_ = std::make_unique<test_support::FlakyStore>(*store_);
    ThreatWriterConfig writer_config;
    writer_config.batch_delay = 0ms;
    // The writer gives up at once: resubmission is the decoder's business here.
    writer_config.retry_budget = 0ms;
    writer_ = std::make_unique<ThreatWriter>(writer_config, *flaky_, clock_);
    queue_ = std::make_unique<MessageQueue>(100, 10);
    decoder_ = std::make_unique<Decoder>(config_, *flaky_, *writer_, clock_, *queue_, tallies_);
  }
  // After a failed check the decoder may still wait on the clock: move it on until it ends.
  void TearDown() override {
    if (thread_.joinable()) {
      queue_->close();
      for (int i = 0; i < 1000 && !finished_; ++i) {
        clock_.advance(std::chrono::hours(1));
        std::this_thread::sleep_for(1ms);
      }
      thread_.join();
    }
    if (writer_) writer_->stop();
  }

  void push(const std::string& topic, const std::string& payload) {
    queue_->push(capture_message(topic, payload, config_.max_payload_bytes));
  }
  void start() {
    thread_ = std::thread([this] {
      decoder_->run();
      finished_ = true;
    });
  }
  // Closes the queue and waits for the decoder to drain and finish.
  void finish() {
    queue_->close();
    thread_.join();
  }
  std::int64_t stored(const std::string& sensor) {
    store::ThreatQuery q;
    q.sensor_ids = {sensor};
    auto page = store_->query_threats(q);
    EXPECT_TRUE(page) << page.error().message;
    return page ? page->total : -1;
  }
  std::vector<std::string> dead_letter_reasons() {
    auto letters = store_->list_dead_letters(100);
    EXPECT_TRUE(letters) << letters.error().message;
    std::vector<std::string> reasons;
    if (letters)
      for (auto it = letters->rbegin(); it != letters->rend(); ++it)
        reasons.push_back(it->topic + " " + it->reason);
    return reasons;
  }

  ManualClock clock_;
  MqttIngestConfig config_;
  IngestTallies tallies_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<test_support::FlakyStore> flaky_;
  std::unique_ptr<ThreatWriter> writer_;
  std::unique_ptr<MessageQueue> queue_;
  std::unique_ptr<Decoder> decoder_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
};

using MqttDecoderRounds = MqttDecoderTest;
using MqttDecoderOutages = MqttDecoderTest;

TEST_F(MqttDecoderRounds, EachMessageIsStoredOrDeadLetteredWithItsReason) {
  auto threats = broker::sensor_topic("s1", TopicKind::threats);
  push(threats, good_threat("kept"));
  push(threats, R"({"threat_type": "broken")");
  push(broker::sensor_topic("ghost", TopicKind::threats), good_threat("ghostly"));
  push(broker::sensor_topic("s1", TopicKind::heartbeat), R"({"status": "online"})");
  push(broker::sensor_topic("s1", TopicKind::status),
       R"({"type": "registration", "version": "3.0"})");
  push("honeyman/sensors/s1/elsewhere", "{}");
  start();
  finish();

  EXPECT_EQ(stored("s1"), 1);
  auto reasons = dead_letter_reasons();
  ASSERT_EQ(reasons.size(), 3u);
  EXPECT_TRUE(reasons[0].starts_with(threats + " malformed JSON: ")) << reasons[0];
  EXPECT_EQ(reasons[1], "honeyman/sensors/ghost/threats unknown sensor 'ghost'");
  EXPECT_EQ(reasons[2], "honeyman/sensors/s1/elsewhere unexpected topic");
  auto sensor = store_->find_sensor("s1", clock_.now());
  ASSERT_TRUE(sensor);
  EXPECT_TRUE(sensor->last_heartbeat) << "the heartbeat was recorded";
  EXPECT_EQ(sensor->agent_version, "3.0") << "the registration was applied";

  auto c = decoder_->counters();
  EXPECT_EQ(c.received, 6u);
  EXPECT_EQ(c.threats_stored, 1u);
  EXPECT_EQ(c.heartbeats, 1u);
  EXPECT_EQ(c.registrations, 1u);
  EXPECT_EQ(c.dead_lettered, 3u);
  EXPECT_EQ(c.in_flight, 0u);
  EXPECT_EQ(c.queue_depth, 0u);
}

TEST_F(MqttDecoderRounds, ThreatsTheStoreRefusesAtCommitAreDeadLettered) {
  auto topic = broker::sensor_topic("s1", TopicKind::threats);
  push(topic, good_threat("first"));
  start();
  ASSERT_TRUE(eventually([&] { return decoder_->counters().threats_stored == 1; }));
  // Deleted after the decoder cached it as known: the store refuses the next threat.
  ASSERT_TRUE(store_->delete_sensor("s1"));
  push(topic, good_threat("late"));
  finish();
  EXPECT_EQ(dead_letter_reasons(),
            std::vector<std::string>{topic + " refused by the store: unknown sensor 's1'"});
  EXPECT_EQ(decoder_->counters().in_flight, 0u);
}

TEST_F(MqttDecoderOutages, FailedCommitsAreResubmittedOnTheClockUntilStored) {
  flaky_->fail_next(StoreCall::insert_threats, 2);
  push(broker::sensor_topic("s1", TopicKind::threats), good_threat("persistent"));
  start();
  queue_->close();
  // The first commit fails, its resubmission fails: the decoder waits 50 ms before the next.
  ASSERT_TRUE(clock_.wait_for_sleeps(1, kPatience));
  EXPECT_EQ(decoder_->counters().in_flight, 1u) << "still in flight, not dropped";
  clock_.advance(50ms);
  thread_.join();
  EXPECT_EQ(stored("s1"), 1);
  EXPECT_EQ(flaky_->attempts(StoreCall::insert_threats), 3);
  auto c = decoder_->counters();
  EXPECT_EQ(c.threats_stored, 1u);
  EXPECT_EQ(c.in_flight, 0u);
  EXPECT_GE(c.retries, 2u);
  EXPECT_TRUE(dead_letter_reasons().empty());
}

TEST_F(MqttDecoderOutages, HeartbeatsAndDeadLettersWaitForTheStore) {
  flaky_->fail_next(StoreCall::record_heartbeats, 1);
  flaky_->fail_next(StoreCall::insert_dead_letters, 1);
  push(broker::sensor_topic("s1", TopicKind::heartbeat), R"({"status": "online"})");
  push(broker::sensor_topic("s1", TopicKind::threats), "not json");
  start();
  ASSERT_TRUE(clock_.wait_for_sleeps(1, kPatience));
  clock_.advance(50ms);
  ASSERT_TRUE(clock_.wait_for_sleeps(2, kPatience));
  clock_.advance(50ms);
  finish();
  EXPECT_EQ(decoder_->counters().heartbeats, 1u);
  EXPECT_EQ(dead_letter_reasons().size(), 1u);
  EXPECT_EQ(decoder_->counters().retries, 2u);
}

TEST(MqttMessageQueue, AFullQueueHoldsTheProducerUntilRoomIsMade) {
  MessageQueue queue(2, 10);
  queue.push(capture_message("t", "1", 100));
  queue.push(capture_message("t", "2", 100));
  std::thread producer([&] { queue.push(capture_message("t", "3", 100)); });
  EXPECT_EQ(queue.received(), 2u);
  auto round = queue.take(0ms, 0us);
  producer.join();  // returns only because take() made room
  EXPECT_EQ(round.messages.size(), 2u);
  EXPECT_EQ(queue.depth(), 1u);
  EXPECT_FALSE(round.drained);
}

TEST(MqttMessageQueue, AReleasedProducerNeverBlocksAndNothingIsDropped) {
  MessageQueue queue(1, 10);
  queue.push(capture_message("t", "1", 100));
  std::thread producer([&] { queue.push(capture_message("t", "2", 100)); });
  queue.release_producer();
  producer.join();
  queue.push(capture_message("t", "3", 100));
  queue.close();
  auto round = queue.take(0ms, 0us);
  EXPECT_EQ(round.messages.size(), 3u);
  EXPECT_TRUE(round.drained);
}

}  // namespace
}  // namespace honeyman::ingest::detail
