#include <algorithm>
#include <atomic>
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
    auto started = store().start_session(s, hash, user.password_hash);
    EXPECT_TRUE(started) << started.error().message;
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

TEST_P(SessionsTest, ChangingAUserRevokesItsSessionsOnly) {
  start(alice_, "a1");
  start(alice_, "a2");
  start(bob_, "b1");
  UserChange reactivate;  // a change that ends sessions (email and full_name alone do not)
  reactivate.is_active = true;
  ASSERT_TRUE(store().change_user(alice_.id, reactivate, kT0 + 1min));
  EXPECT_EQ(rotate("a1", "x1"), RotateOutcome::invalid);
  EXPECT_EQ(rotate("a2", "x2"), RotateOutcome::invalid);
  EXPECT_EQ(rotate("b1", "x3"), RotateOutcome::rotated);
}

// A login verified the password against the hash it read; the session starts only if the user
// still has it and is still active, and the answer is the user as stored at that moment.
TEST_P(SessionsTest, StartSessionSeesChangesMadeSinceTheLoginReadTheUser) {
  auto read = store().find_user_by_id(alice_.id).value();
  UserChange role;
  role.role = domain::Role::viewer;
  ASSERT_TRUE(store().change_user(alice_.id, role, kT0 + 1s));
  Session s{uuid_v4(), alice_.id, kT0 + 2s, kT0 + 24h};
  auto started = store().start_session(s, "h1", read.password_hash);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(started->role, domain::Role::viewer);
  EXPECT_EQ(started->last_login, kT0 + 2s);
  EXPECT_EQ(store().find_user_by_id(alice_.id).value().last_login, kT0 + 2s);
  EXPECT_EQ(store().find_user_by_id(alice_.id).value().role, domain::Role::viewer);
  EXPECT_EQ(rotate("h1", "h2"), RotateOutcome::rotated);

  UserChange password;
  password.password_hash = "$argon2id$other";
  ASSERT_TRUE(store().change_user(alice_.id, password, kT0 + 3s));
  EXPECT_EQ(code_of(store().start_session({uuid_v4(), alice_.id, kT0 + 4s, kT0 + 24h}, "h3",
                                          read.password_hash)),
            Errc::unauthorized);
  UserChange disable;
  disable.is_active = false;
  ASSERT_TRUE(store().change_user(alice_.id, disable, kT0 + 5s));
  EXPECT_EQ(code_of(store().start_session({uuid_v4(), alice_.id, kT0 + 6s, kT0 + 24h}, "h4",
                                          "$argon2id$other")),
            Errc::forbidden);
  EXPECT_EQ(code_of(store().start_session({uuid_v4(), uuid_v4(), kT0 + 6s, kT0 + 24h}, "h5",
                                          "$argon2id$other")),
            Errc::not_found);
  // Refused logins leave nothing behind: no session, and last_login as it was.
  EXPECT_EQ(rotate("h3", "x"), RotateOutcome::invalid);
  EXPECT_EQ(rotate("h4", "x"), RotateOutcome::invalid);
  EXPECT_EQ(store().find_user_by_id(alice_.id).value().last_login, kT0 + 2s);
}

// Logins of one user from several threads while it is disabled: a login that began after the
// change is refused, and every session that did start (before it) was revoked by it.
TEST_P(SessionsTest, ConcurrentLoginsNeverOutliveADisable) {
  struct Attempt {
    std::string hash;
    bool began_after_change = false, started = false;
  };
  std::atomic<bool> changed{false};
  std::atomic<int> attempts{0};
  std::vector<std::vector<Attempt>> seen(4);
  std::vector<std::thread> logins;
  for (int i = 0; i < 4; ++i)
    logins.emplace_back([&, i] {
      for (bool last = false; !last; ++attempts) {
        last = changed;
        Attempt a{"t" + std::to_string(i) + "-" + std::to_string(seen[i].size()), last, false};
        a.started = static_cast<bool>(store().start_session(
            {uuid_v4(), alice_.id, kT0 + 1s, kT0 + 24h}, a.hash, alice_.password_hash));
        seen[i].push_back(a);
      }
    });
  while (attempts < 8) std::this_thread::yield();
  UserChange disable;
  disable.is_active = false;
  auto change = store().change_user(alice_.id, disable, kT0 + 2s);
  changed = true;
  for (auto& t : logins) t.join();
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_FALSE(store().find_user_by_id(alice_.id).value().is_active);
  for (const auto& thread : seen)
    for (const auto& a : thread) {
      if (a.began_after_change) {
        EXPECT_FALSE(a.started) << a.hash;
      }
      if (a.started) {
        EXPECT_EQ(rotate(a.hash, a.hash + "'"), RotateOutcome::invalid) << a.hash;
      }
    }
}

TEST_P(SessionsTest, RevokedSessionsSince) {
  auto s1 = start(alice_, "a1");
  auto s2 = start(alice_, "a2");
  start(bob_, "b1");
  ASSERT_TRUE(store().revoke_session(s1.id, kT0 + 1min));
  ASSERT_TRUE(store().revoke_session(s2.id, kT0 + 2min));
  auto all = store().sessions_revoked_since(kT0 + 1min).value();
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  ASSERT_EQ(all.size(), 2u);  // at or after `since`
  EXPECT_EQ(all[0], std::pair(s1.id, kT0 + 1min));
  EXPECT_EQ(all[1], std::pair(s2.id, kT0 + 2min));
  auto later = store().sessions_revoked_since(kT0 + 1min + 1us).value();
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].first, s2.id);
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
