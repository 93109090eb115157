// The RBAC matrix: every route × {admin, analyst, viewer, sensor key, no credential}.
#include <gtest/gtest.h>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;
enum Who { kAdmin, kAnalyst, kViewer, kSensor, kNobody };
const char* const kWhoNames[] = {"admin", "analyst", "viewer", "sensor key", "no credential"};

class RbacTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = Fleet::start().release();
    doomed_key_ = fleet_->server->add_sensor("doomed", "To be deleted");
    fleet_->server->cli({"user", "add", "spare", "--role", "viewer"});
    fleet_->server->cli({"user", "add", "doomed-user", "--role", "viewer"});
  }
  static void TearDownTestSuite() { delete fleet_; }

  static Headers as(Who who) {
    switch (who) {
      case kAdmin:
        return bearer(fleet_->admin);
      case kAnalyst:
        return bearer(fleet_->analyst);
      case kViewer:
        return bearer(fleet_->viewer);
      case kSensor:
        return api_key(fleet_->sensor_a_key);
      case kNobody:
        return {};
    }
    return {};
  }

  // Stores a threat through the API and returns its id.
  static std::string new_threat() {
    auto reply = fleet_->server->client().post("/api/v2/threats", canonical(), as(kSensor));
    EXPECT_EQ(reply.status, 201) << reply.body;
    return std::string(reply.json().at("id").as_string());
  }

  // The id of the user `name` (looked up as the admin).
  static std::string user_id(const std::string& name) {
    auto reply = fleet_->server->client().get("/api/v2/users?page_size=100", as(kAdmin));
    const auto body = reply.json();
    for (const auto& u : body.at("users").as_array())
      if (u.at("username") == name.c_str()) return std::string(u.at("id").as_string());
    ADD_FAILURE() << "no user " << name << ": " << reply.body;
    return {};
  }

  static boost::json::value canonical() {
    return boost::json::object{{"sensor_id", "sensor-a"},
                               {"threat_type", "rbac_probe"},
                               {"detector_type", "usb"},
                               {"severity", "low"}};
  }

  static Fleet* fleet_;
  static std::string doomed_key_;
};
Fleet* RbacTest::fleet_ = nullptr;
std::string RbacTest::doomed_key_;

struct Row {
  std::string method, target;
  std::string body;             // JSON text ("" for none)
  std::array<int, 5> expected;  // by Who
};

void check(const Row& row, const std::function<Headers(Who)>& as, HttpClient& client) {
  for (int w = kAdmin; w <= kNobody; ++w) {
    auto headers = as(static_cast<Who>(w));
    if (!row.body.empty()) headers.push_back({"Content-Type", "application/json"});
    auto reply = client.request(row.method, row.target, row.body, headers);
    EXPECT_EQ(reply.status, row.expected[w])
        << row.method << " " << row.target << " as " << kWhoNames[w] << ": " << reply.body;
  }
}

TEST_F(RbacTest, ReadRoutes) {
  auto threat = new_threat();
  const std::vector<Row> rows = {
      {"GET", "/health", "", {200, 200, 200, 200, 200}},
      {"GET", "/api/v2/health", "", {200, 200, 200, 200, 200}},
      {"GET", "/ready", "", {200, 200, 200, 200, 200}},
      {"GET", "/api/v2/auth/me", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/sensors", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/sensors/sensor-a", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/sensors/sensor-a/stats", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/sensors/sensor-a/threats", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/threats", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/threats/" + threat, "", {200, 200, 200, 403, 401}},
      // The token in the path is the credential: an unknown one is 404 for everyone.
      {"GET", "/api/v2/onboarding/qrcode/not-a-token", "", {404, 404, 404, 404, 404}},
      {"GET", "/api/v2/analytics/overview", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/analytics/trends?period=daily", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/analytics/top-threats?limit=5", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/analytics/top-sensors", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/analytics/map?severity=critical", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/analytics/velocity", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/threats/" + threat + "/history", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/users", "", {200, 403, 403, 403, 401}},
      {"GET", "/api/v2/users/" + user_id("vic"), "", {200, 403, 403, 403, 401}},
      {"GET", "/api/v2/audit", "", {200, 403, 403, 403, 401}},
      // Alerting (SPEC §8): alerts for every role, the rest admin's.
      {"GET", "/api/v2/alerts", "", {200, 200, 200, 403, 401}},
      {"GET", "/api/v2/alerts/destinations", "", {200, 403, 403, 403, 401}},
      {"GET", "/api/v2/alerts/rules", "", {200, 403, 403, 403, 401}},
      {"GET", "/api/v2/alerts/deliveries", "", {200, 403, 403, 403, 401}},
      {"GET", "/api/v2/sensors/sensor-a/commands", "", {200, 403, 403, 403, 401}},
  };
  auto client = fleet_->server->client();
  for (const auto& row : rows) check(row, as, client);
}

TEST_F(RbacTest, WriteRoutes) {
  auto threat = new_threat();
  auto body = boost::json::serialize(canonical());
  auto heartbeat = R"({"timestamp":"2026-08-08T14:06:00","status":"online"})";
  auto batch = R"({"type":"threats","honeypot_id":"sensor-a","data":[)" + body + "]}";
  const std::vector<Row> rows = {
      {"POST",
       "/api/v2/auth/login",
       R"({"username":"vic","password":"viewer-password-1"})",
       {200, 200, 200, 200, 200}},
      {"POST",
       "/api/v2/auth/refresh",
       R"({"refresh_token":"not-a-token"})",
       {401, 401, 401, 401, 401}},
      {"PUT", "/api/v2/sensors/sensor-b", R"({"description":"rbac"})", {200, 403, 403, 403, 401}},
      {"POST", "/api/v2/sensors/sensor-a/heartbeat", heartbeat, {403, 403, 403, 200, 401}},
      {"POST", "/api/v2/threats", body, {201, 201, 403, 201, 401}},
      {"PUT",
       "/api/v2/threats/" + threat + "/acknowledge",
       R"({"notes":"seen"})",
       {200, 200, 403, 403, 401}},
      {"POST", "/api/v2/honeypot/data", batch, {403, 403, 403, 201, 401}},
      {"POST", "/api/v2/onboarding/tokens", R"({"sensor_name":"rbac"})", {201, 403, 403, 403, 401}},
      {"PATCH",
       "/api/v2/threats/" + threat,
       R"({"status":"investigating"})",
       {200, 200, 403, 403, 401}},
      {"POST",
       "/api/v2/threats/bulk",
       R"({"ids":[")" + threat + R"("],"set":{"status":"resolved"}})",
       {200, 200, 403, 403, 401}},
      {"PATCH",
       "/api/v2/users/" + user_id("vic"),
       R"({"full_name":"Vic"})",
       {200, 403, 403, 403, 401}},
      {"POST",
       "/api/v2/users/" + user_id("spare") + "/password",
       R"({"password":"spare-password-2"})",
       {200, 403, 403, 403, 401}},
      // Each allowed caller changes its own password back and forth: 400 (wrong current one)
      // shows the route was reached without changing anything.
      {"POST",
       "/api/v2/auth/password",
       R"({"current_password":"not-it","new_password":"whatever-password-1"})",
       {400, 400, 400, 403, 401}},
      {"POST",
       "/api/v2/alerts/destinations",
       R"({"name":"rbac","kind":"webhook","url":"http://127.0.0.1:9/x"})",
       {201, 403, 403, 403, 401}},
      {"POST",
       "/api/v2/alerts/rules",
       R"({"name":"rbac","match":{},"destination_ids":[]})",
       {201, 403, 403, 403, 401}},
      // No broker in this suite: the admin's command reaches the route and finds MQTT off.
      {"POST",
       "/api/v2/sensors/sensor-a/commands",
       R"({"command":"ping"})",
       {503, 403, 403, 403, 401}},
      {"POST", "/api/v2/sensors/sensor-a/rules/update", "{}", {503, 403, 403, 403, 401}},
      {"POST",
       "/api/v2/alerts/00000000-0000-4000-8000-000000000000/acknowledge",
       "",
       {404, 404, 403, 403, 401}},
      // The onboarding token is the credential: a bad one is 401 whoever asks.
      {"POST",
       "/api/v2/onboarding/register",
       R"({"onboarding_token":"nope","sensor_id":"rbac-x"})",
       {401, 401, 401, 401, 401}},
  };
  auto client = fleet_->server->client();
  for (const auto& row : rows) check(row, as, client);
}

TEST_F(RbacTest, DeleteRoutes) {
  auto client = fleet_->server->client();
  // Refusals first (they must not delete), then each allowed role deletes its own target.
  auto threat = new_threat();
  for (Who w : {kViewer, kSensor}) {
    EXPECT_EQ(client.del("/api/v2/threats/" + threat, as(w)).status, 403);
    EXPECT_EQ(client.del("/api/v2/sensors/doomed", as(w)).status, 403);
  }
  EXPECT_EQ(client.del("/api/v2/threats/" + threat, as(kNobody)).status, 401);
  EXPECT_EQ(client.del("/api/v2/sensors/doomed", as(kNobody)).status, 401);
  EXPECT_EQ(client.del("/api/v2/sensors/doomed", as(kAnalyst)).status, 403);
  EXPECT_EQ(client.get("/api/v2/threats/" + threat, as(kViewer)).status, 200);

  EXPECT_EQ(client.del("/api/v2/threats/" + threat, as(kAnalyst)).status, 200);
  EXPECT_EQ(client.del("/api/v2/threats/" + new_threat(), as(kAdmin)).status, 200);
  EXPECT_EQ(client.del("/api/v2/sensors/doomed", as(kAdmin)).status, 200);
  // Users: only admins delete.
  auto doomed_user = user_id("doomed-user");
  for (Who w : {kAnalyst, kViewer, kSensor})
    EXPECT_EQ(client.del("/api/v2/users/" + doomed_user, as(w)).status, 403);
  EXPECT_EQ(client.del("/api/v2/users/" + doomed_user, as(kNobody)).status, 401);
  EXPECT_EQ(client.del("/api/v2/users/" + doomed_user, as(kAdmin)).status, 200);
  EXPECT_EQ(client.get("/api/v2/sensors/doomed", as(kAdmin)).status, 404);
  // The deleted sensor's key is revoked with it.
  EXPECT_EQ(client.post("/api/v2/threats", canonical(), api_key(doomed_key_)).status, 401);
}

TEST_F(RbacTest, OnlyAdminsCreateUsers) {
  auto client = fleet_->server->client();
  auto body = [](const std::string& name) {
    return boost::json::object{
        {"username", name}, {"role", "admin"}, {"password", "made-password-1"}};
  };
  EXPECT_EQ(client.post("/api/v2/users", body("by-analyst"), as(kAnalyst)).status, 403);
  EXPECT_EQ(client.post("/api/v2/users", body("by-viewer"), as(kViewer)).status, 403);
  EXPECT_EQ(client.post("/api/v2/users", body("by-sensor"), as(kSensor)).status, 403);
  EXPECT_EQ(client.post("/api/v2/users", body("by-nobody"), as(kNobody)).status, 401);
  EXPECT_EQ(client.post("/api/v2/users", body("by-admin"), as(kAdmin)).status, 201);
}

TEST_F(RbacTest, LogoutNeedsAUserToken) {
  auto client = fleet_->server->client();
  for (auto [name, password] : {std::pair{"root", "admin-password-1"},
                                {"ana", "analyst-password-1"},
                                {"vic", "viewer-password-1"}}) {
    auto token = fleet_->server->login(name, password);
    EXPECT_EQ(client.post("/api/v2/auth/logout", boost::json::object{}, bearer(token)).status, 200);
  }
  EXPECT_EQ(client.post("/api/v2/auth/logout", boost::json::object{}, as(kSensor)).status, 403);
  EXPECT_EQ(client.post("/api/v2/auth/logout", boost::json::object{}).status, 401);
}

TEST_F(RbacTest, SensorKeyIsOnlyGoodForItsOwnSensor) {
  auto client = fleet_->server->client();
  auto hb = boost::json::object{{"status", "online"}};
  EXPECT_EQ(
      client.post("/api/v2/sensors/sensor-a/heartbeat", hb, api_key(fleet_->sensor_b_key)).status,
      403);
  EXPECT_EQ(
      client.post("/api/v2/sensors/sensor-b/heartbeat", hb, api_key(fleet_->sensor_b_key)).status,
      200);
  auto spoofed = canonical();
  EXPECT_EQ(client.post("/api/v2/threats", spoofed, api_key(fleet_->sensor_b_key)).status, 403);
  EXPECT_EQ(client.post("/api/v2/threats", spoofed, api_key("hmk_not-a-real-key")).status, 401);
}

TEST_F(RbacTest, BadCredentialsAreRefusedEverywhere) {
  auto client = fleet_->server->client();
  EXPECT_EQ(client.get("/api/v2/sensors", bearer("garbage")).status, 401);
  EXPECT_EQ(client.get("/api/v2/sensors", {{"Authorization", "Basic dXNlcjpwYXNz"}}).status, 401);
  auto reply = client.get("/api/v2/sensors");
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.header("www-authenticate"), "Bearer");
}

}  // namespace
}  // namespace honeyman::testing
