#include "service/service_test_support.hpp"

namespace honeyman::service::test_support {

class UserServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    if (HasFatalFailure()) return;
    auth::AuthConfig config;
    config.secret_key = "test-secret-key";
    auth_.emplace(config, *store_, clock_);
    users_.emplace(*store_, clock_);
    auto added = users_->add(dora(), kBy);
    ASSERT_TRUE(added) << added.error().message;
  }

  static NewUser dora() {
    NewUser u;
    u.username = "dora";
    u.password = "password-1";
    u.role = domain::Role::analyst;
    u.email = "dora@example.org";
    return u;
  }

  // A login made a second before the change under test (tokens carry whole seconds).
  auth::TokenPair login_then_wait(std::string_view password = "password-1") {
    auto login = auth_->login("dora", password);
    EXPECT_TRUE(login) << login.error().message;
    clock_.advance(std::chrono::seconds(1));
    return login ? login->token : auth::TokenPair{};
  }

  // Whether the session of `tokens` still works: its access token is accepted once this
  // instance has polled for revocations, and its refresh token rotates (`tokens` then holds the
  // new pair, a second old).
  bool session_alive(auth::TokenPair& tokens) {
    EXPECT_TRUE(auth_->refresh_revocations());
    bool access = static_cast<bool>(auth_->authenticate_bearer(tokens.access_token));
    auto rotated = auth_->refresh(tokens.refresh_token);
    EXPECT_EQ(access, static_cast<bool>(rotated));
    if (!rotated) return false;
    tokens = *rotated;
    clock_.advance(std::chrono::seconds(1));
    return access;
  }

  std::optional<auth::AuthService> auth_;
  std::optional<UserService> users_;
};

TEST_F(UserServiceTest, AddedUsersAreVerifiedAndCanLogIn) {
  auto found = users_->find("dora");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->role, domain::Role::analyst);
  EXPECT_EQ(found->email, "dora@example.org");
  EXPECT_TRUE(found->is_verified);
  EXPECT_TRUE(found->is_active);
  EXPECT_EQ(found->created_at, clock_.now());
  auto tokens = login_then_wait();
  EXPECT_TRUE(session_alive(tokens));
  EXPECT_TRUE(session_alive(tokens));
  ASSERT_EQ(users_->list().value().size(), 1u);
}

TEST_F(UserServiceTest, AddRefusesBadNamesPasswordsAndDuplicates) {
  auto bad_name = dora();
  bad_name.username = "dora smith";
  EXPECT_EQ(users_->add(bad_name, kBy).error().code, Errc::invalid_input);
  auto short_password = dora();
  short_password.username = "eve";
  short_password.password = "short";
  auto refused = users_->add(short_password, kBy);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_input);
  EXPECT_EQ(refused.error().fields.front().msg, "Password must be at least 8 characters");
  auto again = dora();
  again.email.reset();
  EXPECT_EQ(users_->add(again, kBy).error().code, Errc::conflict);
  EXPECT_EQ(users_->list().value().size(), 1u);
}

TEST_F(UserServiceTest, RoleChangeEndsSessions) {
  auto tokens = login_then_wait();
  auto changed = users_->set_role("dora", domain::Role::admin, kBy);
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(users_->find("dora").value().role, domain::Role::admin);
  EXPECT_EQ(users_->find("dora").value().tokens_valid_after, clock_.now());
  EXPECT_FALSE(session_alive(tokens));
  auto fresh = login_then_wait();
  EXPECT_TRUE(session_alive(fresh));
}

TEST_F(UserServiceTest, DisablingEndsSessionsAndLogins) {
  auto tokens = login_then_wait();
  ASSERT_TRUE(users_->set_active("dora", false, kBy));
  EXPECT_FALSE(session_alive(tokens));
  auto refused = auth_->login("dora", "password-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::forbidden);
  ASSERT_TRUE(users_->set_active("dora", true, kBy));
  EXPECT_TRUE(auth_->login("dora", "password-1"));
}

TEST_F(UserServiceTest, NewPasswordEndsSessions) {
  auto tokens = login_then_wait();
  auto refused = users_->set_password("dora", "short", kBy);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_input);
  EXPECT_TRUE(session_alive(tokens));  // nothing changed

  ASSERT_TRUE(users_->set_password("dora", "password-2", kBy));
  EXPECT_FALSE(session_alive(tokens));
  EXPECT_FALSE(auth_->login("dora", "password-1"));
  EXPECT_TRUE(auth_->login("dora", "password-2"));
}

TEST_F(UserServiceTest, UnknownUsersAreNotFound) {
  for (auto result : {users_->find("nobody"), users_->set_role("nobody", domain::Role::admin, kBy),
                      users_->set_active("nobody", false, kBy),
                      users_->set_password("nobody", "password-3", kBy)}) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::not_found);
    EXPECT_EQ(result.error().message, "no user 'nobody'");
  }
}

}  // namespace honeyman::service::test_support
