// The audit log (SPEC §7): records, the filtered query paged newest first, and its retention.
#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

class AuditTest : public StoreTest {
 protected:
  // Record i: at kT0 + i min, actor alice (even) or bob (odd), action by i % 3, target t<i % 4>.
  void record(int n) {
    for (int i = 0; i < n; ++i) {
      AuditEntry e{.at = kT0 + i * 1min,
                   .actor = i % 2 ? "bob" : "alice",
                   .actor_role = i % 2 ? "analyst" : "admin",
                   .client_addr = "10.0.0." + std::to_string(i),
                   .action = i % 3 == 0 ? "user.create" : "threat.update",
                   .target_type = i % 3 == 0 ? "user" : "threat",
                   .target_id = "t" + std::to_string(i % 4),
                   .details = boost::json::object{{"i", i}}};
      ASSERT_TRUE(store().record_audit(e));
    }
  }
  // Every page of `q` (page_size as given), concatenated; the i of each record.
  std::vector<std::int64_t> all_pages(AuditQuery q) {
    std::vector<std::int64_t> out;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = store().query_audit(q);
      EXPECT_TRUE(page) << page.error().message;
      if (!page) break;
      for (const auto& e : page->entries) out.push_back(e.details.at("i").as_int64());
      if (page->next_cursor.empty()) break;
      q.cursor = page->next_cursor;
    }
    return out;
  }
};

std::vector<std::int64_t> descending(std::vector<std::int64_t> wanted) {
  std::sort(wanted.rbegin(), wanted.rend());
  return wanted;
}

TEST_P(AuditTest, RecordsRoundTripNewestFirst) {
  record(2);
  auto page = store().query_audit({}).value();
  ASSERT_EQ(page.entries.size(), 2u);
  const auto& e = page.entries[0];
  EXPECT_EQ(e.at, kT0 + 1min);
  EXPECT_EQ(e.actor, "bob");
  EXPECT_EQ(e.actor_role, "analyst");
  EXPECT_EQ(e.client_addr, "10.0.0.1");
  EXPECT_EQ(e.action, "threat.update");
  EXPECT_EQ(e.target_type, "threat");
  EXPECT_EQ(e.target_id, "t1");
  EXPECT_EQ(e.details, (boost::json::object{{"i", 1}}));
  EXPECT_GT(e.id, page.entries[1].id);
  EXPECT_TRUE(page.next_cursor.empty());
}

TEST_P(AuditTest, FiltersAndKeysetPages) {
  record(25);
  AuditQuery q;
  q.page_size = 10;
  std::vector<std::int64_t> every;
  for (int i = 0; i < 25; ++i) every.push_back(i);
  EXPECT_EQ(all_pages(q), descending(every));

  q.actor = "alice";
  EXPECT_EQ(all_pages(q), descending({0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24}));
  q.actor.reset();
  q.action = "user.create";
  q.page_size = 3;
  EXPECT_EQ(all_pages(q), descending({0, 3, 6, 9, 12, 15, 18, 21, 24}));
  q.action.reset();
  q.target_type = "threat";
  q.target_id = "t1";
  EXPECT_EQ(all_pages(q), descending({1, 5, 13, 17}));
  q.target_type.reset();
  q.target_id.reset();
  q.start_time = kT0 + 5min;
  q.end_time = kT0 + 9min;
  EXPECT_EQ(all_pages(q), descending({5, 6, 7, 8}));
  q.actor = "bob";
  EXPECT_EQ(all_pages(q), descending({5, 7}));
}

TEST_P(AuditTest, BadCursorsAndPageSizesAreRefused) {
  record(1);
  for (std::string cursor : {"x", "-1", "0", "1.5", "+3", "99999999999999999999"}) {
    AuditQuery q;
    q.cursor = cursor;
    EXPECT_EQ(code_of(store().query_audit(q)), Errc::invalid_input) << cursor;
  }
  for (int size : {0, 1001}) {
    AuditQuery q;
    q.page_size = size;
    EXPECT_EQ(code_of(store().query_audit(q)), Errc::invalid_input) << size;
  }
  AuditQuery largest;
  largest.page_size = 1000;
  EXPECT_TRUE(store().query_audit(largest));
}

TEST_P(AuditTest, RetentionDeletesTheOldestInBatches) {
  record(10);
  EXPECT_EQ(store().delete_audit_before(kT0 + 5min, 3).value(), 3);
  EXPECT_EQ(store().delete_audit_before(kT0 + 5min, 3).value(), 2);
  EXPECT_EQ(store().delete_audit_before(kT0 + 5min, 3).value(), 0);
  AuditQuery q;
  q.page_size = 100;
  EXPECT_EQ(all_pages(q), descending({5, 6, 7, 8, 9}));
  EXPECT_EQ(code_of(store().delete_audit_before(kT0, 0)), Errc::invalid_input);
}

// Sensors and onboarding tokens: a record per change that commits, none for one that fails.
TEST_P(AuditTest, SensorAndOnboardingChangesAreRecordedOnlyWhenTheySucceed) {
  AuditEntry audit{.at = kT0, .actor = "root", .actor_role = "admin", .action = "change"};
  auto count = [&] { return store().query_audit({}).value().entries.size(); };
  auto sensor = make_sensor("sensor-a");
  ASSERT_TRUE(store().create_sensor(sensor, "", &audit));
  EXPECT_EQ(code_of(store().create_sensor(sensor, "", &audit)), Errc::conflict);
  domain::SensorUpdate rename;
  rename.name = "lobby";
  ASSERT_TRUE(store().update_sensor("sensor-a", rename, kT0, &audit));
  EXPECT_EQ(code_of(store().update_sensor("nope", rename, kT0, &audit)), Errc::not_found);
  ASSERT_TRUE(store().set_sensor_api_key("sensor-a", "hash", &audit));
  EXPECT_EQ(code_of(store().set_sensor_api_key("nope", "hash", &audit)), Errc::not_found);
  EXPECT_EQ(count(), 3u);

  OnboardingToken token{"token-hash", "new sensor", std::nullopt, "root", kT0, kT0 + 1h};
  ASSERT_TRUE(store().create_onboarding_token(token, &audit));
  ASSERT_TRUE(store().consume_onboarding_token("token-hash", "sensor-b", kT0 + 1min, &audit));
  EXPECT_EQ(code_of(store().consume_onboarding_token("token-hash", "sensor-c", kT0 + 2min, &audit)),
            Errc::unauthorized);
  EXPECT_EQ(count(), 5u);

  ASSERT_TRUE(store().delete_sensor("sensor-a", &audit));
  EXPECT_EQ(code_of(store().delete_sensor("sensor-a", &audit)), Errc::not_found);
  EXPECT_EQ(count(), 6u);
}

HONEYMAN_STORE_SUITE(AuditTest);

}  // namespace
}  // namespace honeyman::store::testing
