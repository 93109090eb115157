// The whole auth flow against the real binary: login, me, refresh rotation and reuse, logout,
// CLI-driven invalidation.
#include <gtest/gtest.h>

#include <thread>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;

class AuthFlowTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    server_->add_user("alice", "analyst", "alice-password-1");
    server_->add_user("bob", "viewer", "bob-password-1");
    server_->add_user("carol", "viewer", "carol-password-1");
    server_->start();
  }
  static void TearDownTestSuite() { delete server_; }

  static json::value login(const std::string& user, const std::string& password) {
    auto reply = server_->client().post("/api/v2/auth/login",
                                        json::object{{"username", user}, {"password", password}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json();
  }
  static int refresh_status(const std::string& token, std::string* next = nullptr) {
    auto reply =
        server_->client().post("/api/v2/auth/refresh", json::object{{"refresh_token", token}});
    if (next && reply.status == 200)
      *next = std::string(reply.json().at("refresh_token").as_string());
    return reply.status;
  }
  static std::string str(const json::value& v, std::string_view a, std::string_view b) {
    return std::string(v.at(a).at(b).as_string());
  }

  static ServerProcess* server_;
};
ServerProcess* AuthFlowTest::server_ = nullptr;

TEST_F(AuthFlowTest, LoginReturnsUserAndTokenPair) {
  auto body = login("alice", "alice-password-1");
  const auto& user = body.at("user").as_object();
  EXPECT_EQ(user.at("username"), "alice");
  EXPECT_EQ(user.at("role"), "analyst");
  EXPECT_EQ(user.at("is_active"), true);
  EXPECT_FALSE(user.at("last_login").is_null());
  for (auto key : {"id", "email", "full_name", "is_verified", "created_at"})
    EXPECT_TRUE(user.contains(key)) << key;
  EXPECT_FALSE(user.contains("password_hash"));
  EXPECT_FALSE(user.contains("password"));
  const auto& token = body.at("token").as_object();
  EXPECT_EQ(token.at("token_type"), "bearer");
  EXPECT_EQ(token.at("expires_in"), 1800);
  EXPECT_FALSE(token.at("access_token").as_string().empty());
  EXPECT_FALSE(token.at("refresh_token").as_string().empty());
}

TEST_F(AuthFlowTest, WrongPasswordAndUnknownUserLookTheSame) {
  auto client = server_->client();
  auto wrong = client.post("/api/v2/auth/login",
                           json::object{{"username", "alice"}, {"password", "nope-nope"}});
  auto unknown = client.post("/api/v2/auth/login",
                             json::object{{"username", "mallory"}, {"password", "nope-nope"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.json().at("detail"), unknown.json().at("detail"));
}

TEST_F(AuthFlowTest, MeReturnsTheCaller) {
  auto token = str(login("bob", "bob-password-1"), "token", "access_token");
  auto me = server_->client().get("/api/v2/auth/me", bearer(token));
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json().at("username"), "bob");
  EXPECT_EQ(me.json().at("role"), "viewer");
}

TEST_F(AuthFlowTest, RefreshRotatesAndReuseRevokesTheFamily) {
  auto body = login("alice", "alice-password-1");
  auto first = str(body, "token", "refresh_token");
  std::string second, third;
  ASSERT_EQ(refresh_status(first, &second), 200);
  ASSERT_EQ(refresh_status(second, &third), 200);
  EXPECT_NE(first, second);
  EXPECT_EQ(refresh_status(first), 401);  // replay of a spent token...
  EXPECT_EQ(refresh_status(third), 401);  // ...kills the live descendant too
  // Another login is unaffected.
  auto other = str(login("alice", "alice-password-1"), "token", "refresh_token");
  EXPECT_EQ(refresh_status(other), 200);
}

TEST_F(AuthFlowTest, RefreshedAccessTokenWorks) {
  auto body = login("bob", "bob-password-1");
  auto reply = server_->client().post(
      "/api/v2/auth/refresh", json::object{{"refresh_token", str(body, "token", "refresh_token")}});
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json().at("token_type"), "bearer");
  auto access = std::string(reply.json().at("access_token").as_string());
  EXPECT_EQ(server_->client().get("/api/v2/auth/me", bearer(access)).status, 200);
}

TEST_F(AuthFlowTest, LogoutRevokesAccessAndRefresh) {
  auto body = login("bob", "bob-password-1");
  auto access = str(body, "token", "access_token");
  auto client = server_->client();
  auto out = client.post("/api/v2/auth/logout", json::object{}, bearer(access));
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_TRUE(out.json().as_object().contains("message"));
  EXPECT_EQ(client.get("/api/v2/auth/me", bearer(access)).status, 401);
  EXPECT_EQ(refresh_status(str(body, "token", "refresh_token")), 401);
}

TEST_F(AuthFlowTest, DisabledUserIsRefusedAndTokensDie) {
  auto access = str(login("carol", "carol-password-1"), "token", "access_token");
  // No wait: a token issued in the second of the change dies with its session.
  auto r = server_->cli({"user", "disable", "carol"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto client = server_->client();
  auto denied = client.post("/api/v2/auth/login",
                            json::object{{"username", "carol"}, {"password", "carol-password-1"}});
  EXPECT_EQ(denied.status, 403);
  // Running servers poll revocations every 2 s.
  EXPECT_TRUE(
      eventually([&] { return client.get("/api/v2/auth/me", bearer(access)).status == 401; }));
  ASSERT_EQ(server_->cli({"user", "enable", "carol"}).exit_code, 0);
  login("carol", "carol-password-1");
}

TEST_F(AuthFlowTest, LoginValidatesItsBody) {
  auto client = server_->client();
  auto missing = client.post("/api/v2/auth/login", json::object{{"username", "alice"}});
  ASSERT_EQ(missing.status, 422);
  EXPECT_EQ(missing.json().at("detail").at(0).at("loc"), (json::array{"body", "password"}));
  EXPECT_EQ(
      client.post("/api/v2/auth/login", json::object{{"username", 5}, {"password", "x"}}).status,
      422);
  EXPECT_EQ(client
                .request("POST", "/api/v2/auth/login", "{not json",
                         {{"Content-Type", "application/json"}})
                .status,
            422);
}

}  // namespace
}  // namespace honeyman::testing
