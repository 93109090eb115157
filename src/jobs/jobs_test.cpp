// The server's jobs on SQLite in memory with a ManualClock: retention, the liveness sweep,
// revocation polling and the broker account, each through the scheduler as serve runs them.
#include "jobs/jobs.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "store/store_test_support.hpp"

namespace honeyman::jobs {
namespace {

using namespace std::chrono_literals;

// What the bus delivered, waited for without sleeping.
struct Inbox {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> frames;
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 10s, [&] { return frames.size() >= n; });
  }
};

// Fails ensure_server_account() `failures` times with Errc::unavailable, then succeeds.
class FakeAdmin final : public broker::Admin {
 public:
  int failures = 0, calls = 0;
  Status ensure_server_account() override {
    ++calls;
    if (failures-- > 0) return make_error(Errc::unavailable, "broker down");
    return {};
  }
  Status create_sensor_account(std::string_view, std::string_view) override { return {}; }
  Status set_sensor_enabled(std::string_view, bool) override { return {}; }
  Status delete_sensor_account(std::string_view) override { return {}; }
  Status ping() override { return {}; }
  Result<int> upgrade_sensor_roles(const std::vector<std::string>& ids) override {
    upgraded = ids;
    return static_cast<int>(ids.size());
  }
  std::vector<std::string> upgraded;
};

class JobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::test_support::memory_store();
    ASSERT_TRUE(store_);
    auth_ = std::make_unique<auth::AuthService>(auth::AuthConfig{}, *store_, clock_);
    bus_->subscribe([this](const bus::EventBatch& batch) {
      std::lock_guard lock(inbox_.mutex);
      for (const auto& e : batch) inbox_.frames.push_back(*e->frame);
      inbox_.cv.notify_all();
    });
  }

  void add_sensor(const std::string& sensor_id, Timestamp last_seen) {
    domain::Sensor s;
    s.id = uuid_v4();
    s.sensor_id = sensor_id;
    s.name = sensor_id;
    s.created_at = s.updated_at = clock_.now();
    s.last_seen = s.last_heartbeat = last_seen;
    ASSERT_TRUE(store_->create_sensor(s, ""));
  }
  void add_threats(const std::string& sensor_id, Timestamp at, int n) {
    std::vector<domain::Threat> threats;
    for (int i = 0; i < n; ++i) {
      domain::Threat t;
      t.id = uuid_v7(at);
      t.timestamp = at;
      t.created_at = at;
      t.sensor_id = sensor_id;
      t.threat_type = "rogue_ap";
      t.detector_type = "wifi";
      t.severity = domain::Severity::high;
      threats.push_back(std::move(t));
    }
    ASSERT_TRUE(store_->insert_threats(threats));
  }
  std::int64_t stored_threats() {
    auto page = store_->query_threats({});
    EXPECT_TRUE(page);
    return page ? page->total : -1;
  }
  ServerJobs server_jobs(broker::Admin* admin, std::function<Status()> start_ingest) {
    return ServerJobs{.store = *store_,
                      .bus = *bus_,
                      .auth = *auth_,
                      .broker_admin = admin,
                      .broker_username = "honeyman-server",
                      .start_ingest = std::move(start_ingest)};
  }

  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<bus::EventBus> bus_ = bus::make_local_bus({});
  Inbox inbox_;
  std::unique_ptr<auth::AuthService> auth_;
};

TEST_F(JobsTest, RetentionDeletesOldThreatsInBatchesAndKeepsRecentOnes) {
  add_sensor("s1", clock_.now());
  add_threats("s1", clock_.now() - std::chrono::days(5), 5);
  add_threats("s1", clock_.now() - 1h, 2);
  RetentionConfig config{
      .data_retention_days = 2, .rollup_retention_days = 4, .interval = 600s, .batch = 2};
  auto pass = apply_retention(*store_, config, clock_.now(), clock_);
  ASSERT_TRUE(pass) << pass.error().message;
  EXPECT_EQ(pass->threats, 5);
  EXPECT_GT(pass->rollups, 0);  // the five-day-old hour is past rollup retention too
  EXPECT_EQ(pass->threat_cutoff, clock_.now() - std::chrono::days(2));
  EXPECT_EQ(stored_threats(), 2);
  auto again = apply_retention(*store_, config, clock_.now(), clock_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->threats + again->rollups, 0);
}

TEST_F(JobsTest, RetentionStopsWhenAskedTo) {
  add_sensor("s1", clock_.now());
  add_threats("s1", clock_.now() - std::chrono::days(5), 3);
  std::stop_source stop;
  stop.request_stop();
  RetentionConfig config{
      .data_retention_days = 2, .rollup_retention_days = 4, .interval = 600s, .batch = 1};
  auto pass = apply_retention(*store_, config, clock_.now(), clock_, stop.get_token());
  ASSERT_TRUE(pass);
  EXPECT_EQ(pass->threats, 0);
  EXPECT_EQ(stored_threats(), 3);
}

TEST_F(JobsTest, ServeRunsRetentionAtStartThenEveryInterval) {
  add_sensor("s1", clock_.now());
  add_threats("s1", clock_.now() - std::chrono::days(3), 4);
  JobsConfig config;
  config.retention.data_retention_days = 2;
  config.retention.rollup_retention_days = 2;
  Scheduler s(clock_);
  add_server_jobs(s, config, server_jobs(nullptr, {}));
  s.run_due();
  EXPECT_EQ(stored_threats(), 0);
  add_threats("s1", clock_.now() - std::chrono::days(3), 1);  // arrives late
  clock_.advance(config.retention.interval - 1s);
  s.run_due();
  EXPECT_EQ(stored_threats(), 1);
  clock_.advance(1s);
  s.run_due();
  EXPECT_EQ(stored_threats(), 0);
}

TEST_F(JobsTest, TheSweepAnnouncesEachChangeOnce) {
  JobsConfig config;  // sweep every 5 s; online for 3 heartbeat intervals of 60 s
  add_sensor("s1", clock_.now());
  Scheduler s(clock_);
  add_server_jobs(s, config, server_jobs(nullptr, {}));
  s.run_due();
  clock_.advance(config.sensor_sweep_interval);
  s.run_due();
  ASSERT_TRUE(inbox_.wait_for(1));
  clock_.advance(3 * config.sensor_heartbeat_interval);
  s.run_due();
  ASSERT_TRUE(inbox_.wait_for(2));
  clock_.advance(config.sensor_sweep_interval);
  s.run_due();
  auto more = sweep_sensors(*store_, *bus_, clock_.now(), config.sensor_heartbeat_interval);
  ASSERT_TRUE(more);
  EXPECT_EQ(*more, 0u);
  std::lock_guard lock(inbox_.mutex);
  ASSERT_EQ(inbox_.frames.size(), 2u);
  EXPECT_NE(inbox_.frames[0].find(R"("is_online":true)"), std::string::npos) << inbox_.frames[0];
  EXPECT_NE(inbox_.frames[1].find(R"("is_online":false)"), std::string::npos) << inbox_.frames[1];
  EXPECT_NE(inbox_.frames[1].find(R"("sensor_id":"s1")"), std::string::npos);
}

TEST_F(JobsTest, RevocationsByOtherInstancesArePickedUpByThePoll) {
  JobsConfig config;
  Scheduler s(clock_);
  add_server_jobs(s, config, server_jobs(nullptr, {}));
  s.run_due();
  auth::AccessClaims claims;
  claims.user_id = uuid_v4();
  claims.jti = uuid_v4();
  claims.expires_at = clock_.now() + 1h;
  // Another instance logs the token out: only the store knows.
  ASSERT_TRUE(store_->revoke_access_token({claims.jti, claims.expires_at}));
  EXPECT_FALSE(auth_->is_revoked(claims));
  clock_.advance(config.revocation_poll);
  s.run_due();
  EXPECT_TRUE(auth_->is_revoked(claims));
}

TEST_F(JobsTest, IngestStartsOnceTheBrokerAccountIsInPlace) {
  FakeAdmin admin;
  admin.failures = 2;
  int ingest_starts = 0;
  JobsConfig config;
  Scheduler s(clock_);
  add_server_jobs(s, config, server_jobs(&admin, [&]() -> Status {
                    ++ingest_starts;
                    return {};
                  }));
  s.run_due();  // fails: next attempt in 1 s
  EXPECT_EQ(admin.calls, 1);
  clock_.advance(1s);
  s.run_due();  // fails: next attempt in 2 s
  clock_.advance(1s);
  s.run_due();
  EXPECT_EQ(admin.calls, 2);
  EXPECT_EQ(ingest_starts, 0);
  clock_.advance(1s);
  s.run_due();
  EXPECT_EQ(admin.calls, 3);
  EXPECT_EQ(ingest_starts, 1);
  clock_.advance(1h);
  s.run_due();
  EXPECT_EQ(admin.calls, 3) << "set up once";
}

}  // namespace
}  // namespace honeyman::jobs
