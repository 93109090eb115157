// Writers and readers at once: no errors, no lost or double-counted threats.
#include <atomic>
#include <mutex>
#include <thread>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

class ConcurrencyTest : public StoreTest {
 protected:
  void record(const Error& e) {
    std::lock_guard lock(mutex_);
    errors_.push_back(e.message);
  }
  template <class T>
  void check(const boost::system::result<T, Error>& r) {
    if (!r) record(r.error());
  }
  void read_once(int i) {
    auto sensor = "sensor-" + std::to_string(i % 4);
    check(store().query_threats(
        {.sort_by = i % 2 ? ThreatSort::severity : ThreatSort::timestamp, .page_size = 20}));
    check(store().query_threats({.sensor_ids = {sensor}, .start_time = kT0}));
    check(store().find_sensor(sensor, kT0 + 1h));
    check(store().sensor_stats(sensor, kT0 + 1h));
    check(store().list_sensors({.now = kT0 + 1h}));
  }

  std::mutex mutex_;
  std::vector<std::string> errors_;
};

TEST_P(ConcurrencyTest, FourWritersAndFourReaders) {
  add_sensors(store(), {"sensor-0", "sensor-1", "sensor-2", "sensor-3"});
  constexpr int kWriters = 4, kBatches = 25, kBatchSize = 40;
  std::atomic<int> writers_left = kWriters;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<domain::Threat> batch;
        for (int i = 0; i < kBatchSize; ++i)
          batch.push_back(make_threat({.sensor_id = "sensor-" + std::to_string((w + i) % 4),
                                       .timestamp = kT0 + std::chrono::seconds(b * 100 + i),
                                       .severity = static_cast<domain::Severity>(i % 5)}));
        check(store().insert_threats(batch));
      }
      --writers_left;
    });
  std::atomic<int> reads = 0;
  for (int r = 0; r < 4; ++r)
    threads.emplace_back([&, r] {
      for (int i = r; writers_left > 0 || i < r + 5; ++i, ++reads) read_once(i);
    });
  for (auto& t : threads) t.join();

  EXPECT_EQ(errors_, std::vector<std::string>{});
  EXPECT_GT(reads, 0);
  constexpr std::int64_t kTotal = kWriters * kBatches * kBatchSize;
  EXPECT_EQ(store().query_threats({}).value().total, kTotal);
  EXPECT_EQ(store().query_threats({.start_time = kT0}).value().total, kTotal);
  std::int64_t per_sensor = 0;
  for (const auto& s : store().list_sensors({.now = kT0 + 1h}).value().sensors)
    per_sensor += s.total_threats_detected;
  EXPECT_EQ(per_sensor, kTotal);
}

HONEYMAN_STORE_SUITE(ConcurrencyTest);

}  // namespace
}  // namespace honeyman::store::testing
