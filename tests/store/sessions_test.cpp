#include <algorithm>
#include <thread>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

class SessionsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(store().create_user(alice_));
    ASSERT_TRUE(store().create_user(bob_));
  }
  // A session of `user` live for one day from kT0, whose first refresh token hashes to `hash`.
  Session start(const domain::User& user, const std::string& hash) {
    Session s{uuid_v4(), user.id, kT0, kT0 + 24h};
    EXPECT_TRUE(store().create_session(s, hash));
    return s;
  }
  RotateOutcome rotate(const std::string& from, const std::string& to, Timestamp now = kT0 + 1h) {
    auto r = store().rotate_refresh_token(from, to, now);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->outcome : RotateOutcome::invalid;
  }

  domain::User alice_ = make_user("alice"), bob_ = make_user("bob");
};

TEST_P(SessionsTest, RotationSpendsEachTokenOnce) {
  auto session = start(alice_, "h1");
  auto r = store().rotate_refresh_token("h1", "h2", kT0 + 1h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, RotateOutcome::rotated);
  EXPECT_EQ(r->user_id, alice_.id);
  EXPECT_EQ(r->session_id, session.id);
  EXPECT_EQ(rotate("h2", "h3"), RotateOutcome::rotated);
}

TEST_P(SessionsTest, ReuseRevokesTheWholeFamily) {
  start(alice_, "h1");
  ASSERT_EQ(rotate("h1", "h2"), RotateOutcome::rotated);
  ASSERT_EQ(rotate("h2", "h3"), RotateOutcome::rotated);
  auto reused = store().rotate_refresh_token("h1", "h4", kT0 + 2h);  // a stolen, spent token
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->outcome, RotateOutcome::reused);
  EXPECT_EQ(reused->user_id, alice_.id);
  EXPECT_EQ(rotate("h3", "h5"), RotateOutcome::invalid);  // the newest descendant died too
  EXPECT_EQ(rotate("h4", "h6"), RotateOutcome::invalid);  // nothing was issued for the reuse
}

TEST_P(SessionsTest, UnknownAndExpiredTokensAreInvalid) {
  start(alice_, "h1");
  EXPECT_EQ(rotate("nope", "h2"), RotateOutcome::invalid);
  EXPECT_EQ(rotate("h1", "h2", kT0 + 24h), RotateOutcome::invalid);  // expires_at <= now
  EXPECT_EQ(rotate("h1", "h2", kT0 + 24h - 1us), RotateOutcome::rotated);
}

TEST_P(SessionsTest, RotatedTokenKeepsTheSessionExpiry) {
  start(alice_, "h1");
  ASSERT_EQ(rotate("h1", "h2", kT0 + 23h), RotateOutcome::rotated);
  EXPECT_EQ(rotate("h2", "h3", kT0 + 24h), RotateOutcome::invalid);
}

TEST_P(SessionsTest, RevokeSession) {
  auto s1 = start(alice_, "a1");
  start(alice_, "a2");
  ASSERT_TRUE(store().revoke_session(s1.id, kT0 + 1min));
  EXPECT_EQ(rotate("a1", "a1'"), RotateOutcome::invalid);
  EXPECT_EQ(rotate("a2", "a2'"), RotateOutcome::rotated);
  EXPECT_TRUE(store().revoke_session(s1.id, kT0 + 2min));  // idempotent
}

TEST_P(SessionsTest, RevokeUserSessionsLeavesOtherUsersAlone) {
  start(alice_, "a1");
  start(alice_, "a2");
  start(bob_, "b1");
  ASSERT_TRUE(store().revoke_user_sessions(alice_.id, kT0 + 1min));
  EXPECT_EQ(rotate("a1", "x1"), RotateOutcome::invalid);
  EXPECT_EQ(rotate("a2", "x2"), RotateOutcome::invalid);
  EXPECT_EQ(rotate("b1", "x3"), RotateOutcome::rotated);
}

TEST_P(SessionsTest, ConcurrentRotationOfOneTokenRotatesExactlyOnce) {
  start(alice_, "h1");
  std::vector<RotateOutcome> outcomes(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { outcomes[i] = rotate("h1", "next-" + std::to_string(i)); });
  for (auto& t : threads) t.join();
  // One rotates; the next sees the token spent and revokes the family; the rest find it revoked.
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), RotateOutcome::rotated), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), RotateOutcome::reused), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), RotateOutcome::invalid), 6);
}

TEST_P(SessionsTest, RevokedAccessTokensUntilTheyExpire) {
  ASSERT_TRUE(store().revoke_access_token({"jti-1", kT0 + 10min}));
  ASSERT_TRUE(store().revoke_access_token({"jti-2", kT0 + 20min}));
  ASSERT_TRUE(store().revoke_access_token({"jti-1", kT0 + 10min}));  // idempotent
  auto live = store().revoked_access_tokens(kT0).value();
  ASSERT_EQ(live.size(), 2u);
  auto later = store().revoked_access_tokens(kT0 + 10min).value();  // expires_at <= now: gone
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].jti, "jti-2");
  EXPECT_EQ(later[0].expires_at, kT0 + 20min);
  EXPECT_TRUE(store().revoked_access_tokens(kT0 + 1h).value().empty());
}

HONEYMAN_STORE_SUITE(SessionsTest);

}  // namespace
}  // namespace honeyman::store::testing
