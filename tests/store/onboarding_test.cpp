// Onboarding tokens (single use) and dead letters.
#include <atomic>
#include <thread>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

class OnboardingTest : public StoreTest {
 protected:
  OnboardingToken token(const std::string& hash, Timestamp expires_at = kT0 + 24h) {
    return {hash, "lobby", "front desk", uuid_v4(), kT0, expires_at, std::nullopt, std::nullopt};
  }
};

TEST_P(OnboardingTest, CreateAndFind) {
  auto t = token("hash-1");
  t.description.reset();
  ASSERT_TRUE(store().create_onboarding_token(t));
  auto found = store().find_onboarding_token("hash-1");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->token_hash, "hash-1");
  EXPECT_EQ(found->sensor_name, "lobby");
  EXPECT_EQ(found->description, std::nullopt);
  EXPECT_EQ(found->created_by, t.created_by);
  EXPECT_EQ(found->created_at, kT0);
  EXPECT_EQ(found->expires_at, kT0 + 24h);
  EXPECT_EQ(found->used_at, std::nullopt);
  EXPECT_EQ(code_of(store().find_onboarding_token("nope")), Errc::not_found);
  EXPECT_EQ(code_of(store().create_onboarding_token(t)), Errc::conflict);
}

TEST_P(OnboardingTest, ConsumeWorksOnce) {
  ASSERT_TRUE(store().create_onboarding_token(token("hash-1")));
  auto used = store().consume_onboarding_token("hash-1", "sensor-a", kT0 + 1h);
  ASSERT_TRUE(used) << used.error().message;
  EXPECT_EQ(used->used_at, kT0 + 1h);
  EXPECT_EQ(used->used_by_sensor, "sensor-a");
  EXPECT_EQ(used->sensor_name, "lobby");
  EXPECT_EQ(code_of(store().consume_onboarding_token("hash-1", "sensor-b", kT0 + 2h)),
            Errc::unauthorized);
  EXPECT_EQ(store().find_onboarding_token("hash-1").value().used_by_sensor, "sensor-a");
}

TEST_P(OnboardingTest, ExpiredAndUnknownTokensAreRefused) {
  ASSERT_TRUE(store().create_onboarding_token(token("hash-1", kT0 + 1h)));
  EXPECT_EQ(code_of(store().consume_onboarding_token("hash-1", "s", kT0 + 1h)),
            Errc::unauthorized);  // expires_at > now is required
  EXPECT_EQ(code_of(store().consume_onboarding_token("nope", "s", kT0)), Errc::unauthorized);
  EXPECT_EQ(code_of(store().consume_onboarding_token("hash-1", "s", kT0 + 1h - 1us)), Errc::ok);
}

TEST_P(OnboardingTest, ConcurrentConsumersExactlyOneWins) {
  ASSERT_TRUE(store().create_onboarding_token(token("hash-1")));
  std::atomic<int> wins = 0, refusals = 0, others = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      auto r = store().consume_onboarding_token("hash-1", "sensor-" + std::to_string(i), kT0);
      auto code = code_of(r);
      (code == Errc::ok ? wins : code == Errc::unauthorized ? refusals : others)++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(refusals, 7);
  EXPECT_EQ(others, 0);
}

HONEYMAN_STORE_SUITE(OnboardingTest);

// ---------------------------------------------------------------------------------------------
class DeadLettersTest : public StoreTest {};

TEST_P(DeadLettersTest, StoredRawAndListedNewestFirst) {
  std::string binary("\x00\xff{not json", 11);
  ASSERT_TRUE(store().insert_dead_letters({
      {0, kT0, "mqtt", "honeyman/sensors/a/threats", "malformed JSON", binary},
      {0, kT0 + 1s, "http", "/api/v2/honeypot/data", "unknown sensor", "{}"},
  }));
  ASSERT_TRUE(store().insert_dead_letters(
      {{0, kT0 + 2s, "mqtt", "honeyman/sensors/b/threats", "spoofed sensor id", "[]"}}));
  ASSERT_TRUE(store().insert_dead_letters({}));
  auto all = store().list_dead_letters(10);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].reason, "spoofed sensor id");
  EXPECT_EQ((*all)[2].payload, binary);  // bytes kept exactly, NUL included
  EXPECT_EQ((*all)[2].source, "mqtt");
  EXPECT_EQ((*all)[2].topic, "honeyman/sensors/a/threats");
  EXPECT_EQ((*all)[2].received_at, kT0);
  EXPECT_GT((*all)[0].id, (*all)[1].id);
  EXPECT_GT((*all)[1].id, (*all)[2].id);
  auto two = store().list_dead_letters(2).value();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].reason, "unknown sensor");
}

HONEYMAN_STORE_SUITE(DeadLettersTest);

}  // namespace
}  // namespace honeyman::store::testing
