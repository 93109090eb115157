#include "auth/auth.hpp"

#include <gtest/gtest.h>
#include <jwt.h>
#include <sodium.h>

#include "store/store_test_support.hpp"

namespace honeyman::auth {
namespace {

using namespace std::chrono_literals;

AuthConfig config() {
  AuthConfig c;
  c.secret_key = "test-secret-key-of-sufficient-length-0123456789";
  return c;
}

Timestamp at(std::int64_t unix_seconds) {
  return Timestamp{std::chrono::seconds{unix_seconds}};
}

AccessClaims claims(Timestamp iat) {
  return AccessClaims{"u-1", "alice", domain::Role::analyst, "jti-1", "sid-1", iat, iat + 30min};
}

std::string b64(std::string_view s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// A token signed by libjwt with a chosen algorithm and grants, to probe the verifier.
std::string forge(jwt_alg_t alg, const std::string& key, const char* type, long exp) {
  jwt_t* j = nullptr;
  jwt_new(&j);
  jwt_add_grant(j, "sub", "u-1");
  jwt_add_grant(j, "role", "admin");
  jwt_add_grant(j, "type", type);
  jwt_add_grant(j, "jti", "x");
  jwt_add_grant_int(j, "iat", exp - 60);
  jwt_add_grant_int(j, "exp", exp);
  jwt_set_alg(j, alg,
              alg == JWT_ALG_NONE ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
              alg == JWT_ALG_NONE ? 0 : static_cast<int>(key.size()));
  char* s = jwt_encode_str(j);
  std::string out = s ? s : "";
  std::free(s);
  jwt_free(j);
  return out;
}

TEST(Jwt, RoundTrip) {
  auto now = at(1'800'000'000);
  auto token = issue_access_token(config(), claims(now));
  auto c = verify_access_token(config(), token, now + 1s);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->user_id, "u-1");
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->role, domain::Role::analyst);
  EXPECT_EQ(c->session_id, "sid-1");
  EXPECT_EQ(c->expires_at, now + 30min);
}

TEST(Jwt, RefusesExpired) {
  auto now = at(1'800'000'000);
  auto token = issue_access_token(config(), claims(now));
  auto c = verify_access_token(config(), token, now + 30min);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::unauthorized);
}

TEST(Jwt, RefusesTamperedPayload) {
  auto now = at(1'800'000'000);
  auto token = issue_access_token(config(), claims(now));
  auto first = token.find('.'), second = token.find('.', first + 1);
  auto payload = R"({"sub":"u-1","name":"alice","role":"admin","type":"access","jti":"jti-1",)"
                 R"("sid":"sid-1","iat":1800000000,"exp":1800001800})";
  auto forged = token.substr(0, first + 1) + b64(payload) + token.substr(second);
  EXPECT_FALSE(verify_access_token(config(), forged, now + 1s));
}

TEST(Jwt, RefusesAlgNone) {
  auto exp = 1'800'000'600L;
  auto none = forge(JWT_ALG_NONE, "", "access", exp);
  ASSERT_FALSE(none.empty());
  EXPECT_FALSE(verify_access_token(config(), none, at(1'800'000'000)));
  // Hand-made too, in case a library build signs `none` differently.
  auto hand =
      b64(R"({"alg":"none","typ":"JWT"})") + "." +
      b64(R"({"sub":"u-1","role":"admin","type":"access","jti":"x","iat":1,"exp":1900000000})") +
      ".";
  EXPECT_FALSE(verify_access_token(config(), hand, at(1'800'000'000)));
}

TEST(Jwt, RefusesOtherAlgorithmsKeysAndTypes) {
  auto exp = 1'800'000'600L;
  auto now = at(1'800'000'000);
  EXPECT_FALSE(
      verify_access_token(config(), forge(JWT_ALG_HS512, config().secret_key, "access", exp), now));
  EXPECT_FALSE(
      verify_access_token(config(), forge(JWT_ALG_HS256, "another-key", "access", exp), now));
  EXPECT_FALSE(verify_access_token(config(),
                                   forge(JWT_ALG_HS256, config().secret_key, "refresh", exp), now));
  EXPECT_TRUE(
      verify_access_token(config(), forge(JWT_ALG_HS256, config().secret_key, "access", exp), now));
  for (const char* junk : {"", "a.b", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9..sig"})
    EXPECT_FALSE(verify_access_token(config(), junk, now)) << junk;
}

TEST(Passwords, HashAndVerify) {
  auto h = hash_password("correct horse battery");
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->starts_with("$argon2id$"));
  EXPECT_TRUE(verify_password(*h, "correct horse battery"));
  EXPECT_FALSE(verify_password(*h, "correct horse battery!"));
  EXPECT_FALSE(verify_password("garbage", "x"));
  EXPECT_FALSE(check_password_policy("short"));
  EXPECT_TRUE(check_password_policy("long enough"));
}

TEST(ApiKeys, KeysAreRandomAndHashed) {
  auto a = new_api_key(), b = new_api_key();
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with("hmk_"));
  EXPECT_EQ(hash_secret(a).size(), 64u);
  EXPECT_NE(hash_secret(a), a);
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::test_support::memory_store();
    ASSERT_TRUE(store_);
    domain::User u;
    u.id = uuid_v4();
    u.username = "alice";
    u.role = domain::Role::analyst;
    u.password_hash = *hash_password("password-1");
    u.created_at = clock_.now();
    ASSERT_TRUE(store_->create_user(u));
    service_ = std::make_unique<AuthService>(config(), *store_, clock_);
  }
  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuthService> service_;
};

TEST_F(AuthServiceTest, LoginSameMessageForUnknownUserAndWrongPassword) {
  auto unknown = service_->login("nobody", "password-1");
  auto wrong = service_->login("alice", "password-2");
  ASSERT_FALSE(unknown);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(unknown.error().code, Errc::unauthorized);
  EXPECT_EQ(unknown.error().message, wrong.error().message);
  auto ok = service_->login("alice", "password-1");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(service_->authenticate_bearer(ok->token.access_token));
}

TEST_F(AuthServiceTest, RefreshRotatesAndReuseRevokesFamily) {
  auto login = service_->login("alice", "password-1");
  ASSERT_TRUE(login);
  auto first = login->token.refresh_token;
  auto second = service_->refresh(first);
  ASSERT_TRUE(second);
  EXPECT_NE(second->refresh_token, first);
  auto third = service_->refresh(second->refresh_token);
  ASSERT_TRUE(third);
  // Replaying a spent token is theft or a bug: the whole family dies, including the newest.
  auto replay = service_->refresh(first);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, Errc::unauthorized);
  EXPECT_FALSE(service_->refresh(third->refresh_token));
  // Another login is another family and unaffected.
  auto other = service_->login("alice", "password-1");
  ASSERT_TRUE(other);
  EXPECT_TRUE(service_->refresh(other->token.refresh_token));
}

TEST_F(AuthServiceTest, RefreshExpires) {
  auto login = service_->login("alice", "password-1");
  ASSERT_TRUE(login);
  clock_.advance(config().refresh_token_ttl + 1s);
  EXPECT_FALSE(service_->refresh(login->token.refresh_token));
}

TEST_F(AuthServiceTest, LogoutRevokesAccessTokenAndFamily) {
  auto login = service_->login("alice", "password-1");
  ASSERT_TRUE(login);
  auto claims = service_->authenticate_bearer(login->token.access_token);
  ASSERT_TRUE(claims);
  ASSERT_TRUE(service_->logout(*claims));
  EXPECT_FALSE(service_->authenticate_bearer(login->token.access_token));
  EXPECT_FALSE(service_->refresh(login->token.refresh_token));
}

TEST_F(AuthServiceTest, RevocationByAnotherInstanceArrivesOnRefresh) {
  auto login = service_->login("alice", "password-1");
  ASSERT_TRUE(login);
  AuthService other(config(), *store_, clock_);
  auto claims = other.authenticate_bearer(login->token.access_token);
  ASSERT_TRUE(claims);
  ASSERT_TRUE(service_->logout(*claims));
  EXPECT_TRUE(other.authenticate_bearer(login->token.access_token));  // not yet seen
  ASSERT_TRUE(other.refresh_revocations());
  EXPECT_FALSE(other.authenticate_bearer(login->token.access_token));
}

TEST_F(AuthServiceTest, InactiveUserIsForbiddenOnlyWithTheRightPassword) {
  auto user = store_->find_user_by_name("alice");
  ASSERT_TRUE(user);
  store::UserChange disable;
  disable.is_active = false;
  ASSERT_TRUE(store_->change_user(user->id, disable, clock_.now()));
  EXPECT_EQ(service_->login("alice", "password-1").error().code, Errc::forbidden);
  EXPECT_EQ(service_->login("alice", "nope-nope").error().code, Errc::unauthorized);
}

TEST_F(AuthServiceTest, UserInvalidationVoidsOlderTokens) {
  auto login = service_->login("alice", "password-1");
  ASSERT_TRUE(login);
  clock_.advance(2s);
  auto user = store_->find_user_by_name("alice");
  store::UserChange reactivate;  // a change that ends sessions (an empty one ends none)
  reactivate.is_active = true;
  ASSERT_TRUE(store_->change_user(user->id, reactivate, clock_.now()));
  ASSERT_TRUE(service_->refresh_revocations());
  EXPECT_FALSE(service_->authenticate_bearer(login->token.access_token));
  clock_.advance(1s);
  auto again = service_->login("alice", "password-1");
  ASSERT_TRUE(again);
  EXPECT_TRUE(service_->authenticate_bearer(again->token.access_token));
}

// A token carries whole seconds; a change 300 ms after it, in the same second, still ends it (by
// its session), while a login made after the change in that same second keeps working.
TEST_F(AuthServiceTest, ChangeInTheSecondOfALoginVoidsItsTokens) {
  clock_.advance(200ms);
  auto before = service_->login("alice", "password-1");
  ASSERT_TRUE(before);
  clock_.advance(300ms);
  auto user = store_->find_user_by_name("alice");
  store::UserChange reactivate;  // a change that ends sessions (an empty one ends none)
  reactivate.is_active = true;
  ASSERT_TRUE(store_->change_user(user->id, reactivate, clock_.now()));
  clock_.advance(300ms);
  auto after = service_->login("alice", "password-1");
  ASSERT_TRUE(after);
  AuthService other(config(), *store_, clock_);
  ASSERT_TRUE(other.refresh_revocations());
  EXPECT_FALSE(other.authenticate_bearer(before->token.access_token));
  EXPECT_TRUE(other.authenticate_bearer(after->token.access_token));
}

// Logout names one access token; the session's others (from refreshes) die with it, at once here
// and at the next revocation poll elsewhere.
TEST_F(AuthServiceTest, LogoutVoidsEveryAccessTokenOfTheSession) {
  auto login = service_->login("alice", "password-1");
  ASSERT_TRUE(login);
  auto refreshed = service_->refresh(login->token.refresh_token);
  ASSERT_TRUE(refreshed);
  auto other_session = service_->login("alice", "password-1");
  ASSERT_TRUE(other_session);
  AuthService other(config(), *store_, clock_);
  ASSERT_TRUE(other.authenticate_bearer(login->token.access_token));
  auto claims = service_->authenticate_bearer(refreshed->access_token);
  ASSERT_TRUE(claims);
  ASSERT_TRUE(service_->logout(*claims));
  EXPECT_FALSE(service_->authenticate_bearer(login->token.access_token));
  EXPECT_TRUE(service_->authenticate_bearer(other_session->token.access_token));
  ASSERT_TRUE(other.refresh_revocations());
  EXPECT_FALSE(other.authenticate_bearer(login->token.access_token));
  EXPECT_TRUE(other.authenticate_bearer(other_session->token.access_token));
}

TEST_F(AuthServiceTest, RefreshReuseVoidsEveryAccessTokenOfTheFamily) {
  auto login = service_->login("alice", "password-1");
  ASSERT_TRUE(login);
  auto refreshed = service_->refresh(login->token.refresh_token);
  ASSERT_TRUE(refreshed);
  AuthService other(config(), *store_, clock_);
  ASSERT_FALSE(service_->refresh(login->token.refresh_token));  // reuse
  for (const auto& token : {login->token.access_token, refreshed->access_token}) {
    EXPECT_FALSE(service_->authenticate_bearer(token));
    EXPECT_TRUE(other.authenticate_bearer(token));  // not yet polled
  }
  ASSERT_TRUE(other.refresh_revocations());
  for (const auto& token : {login->token.access_token, refreshed->access_token})
    EXPECT_FALSE(other.authenticate_bearer(token));
}

// A revoked session is remembered as long as one of its tokens can be alive, then forgotten.
TEST_F(AuthServiceTest, RevokedSessionsAreForgottenOnceTheirTokensExpired) {
  auto login = service_->login("alice", "password-1");
  ASSERT_TRUE(login);
  auto claims = service_->authenticate_bearer(login->token.access_token);
  ASSERT_TRUE(claims);
  ASSERT_TRUE(service_->logout(*claims));
  RevocationView view(config().access_token_ttl);
  ASSERT_TRUE(view.refresh(*store_, clock_.now() + config().access_token_ttl - 1s));
  auto same_session = *claims;
  same_session.jti = "another-token";
  EXPECT_TRUE(view.is_revoked(same_session));
  ASSERT_TRUE(view.refresh(*store_, clock_.now() + config().access_token_ttl + 1s));
  EXPECT_FALSE(view.is_revoked(same_session));
}

}  // namespace
}  // namespace honeyman::auth
