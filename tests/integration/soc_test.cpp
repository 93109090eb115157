// The SOC workflow (SPEC §7) through the real binary: triage with history and live updates, bulk
// changes, users over REST with the CLI's rules, and the audit log of every kind of change.
#include <gtest/gtest.h>

#include "integration/harness.hpp"
#include "support/wait.hpp"
#include "support/ws_client.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class SocTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A small bulk limit, so the refusal is reachable with a few rows.
    fleet_ = Fleet::start({{"BULK_MAX_ROWS", "25"}}).release();
  }
  static void TearDownTestSuite() { delete fleet_; }

  static HttpClient client() { return fleet_->server->client(); }

  // Stores a threat of `sensor` through the API (as that sensor) and returns its id.
  static std::string new_threat(const std::string& type = "soc_probe",
                                const std::string& severity = "high") {
    auto reply = client().post("/api/v2/threats",
                               json::object{{"sensor_id", "sensor-a"},
                                            {"threat_type", type},
                                            {"detector_type", "usb"},
                                            {"severity", severity},
                                            {"raw_event", {{"n", ++counter_}}}},
                               api_key(fleet_->sensor_a_key));
    EXPECT_EQ(reply.status, 201) << reply.body;
    return std::string(reply.json().at("id").as_string());
  }

  static Reply patch(const std::string& target, const json::value& body, const std::string& token) {
    auto headers = bearer(token);
    headers.push_back({"Content-Type", "application/json"});
    return client().request("PATCH", target, json::serialize(body), headers);
  }

  // The audit entries matching `query` (a query string without '?'), newest first.
  static json::array audit(const std::string& query) {
    auto reply = client().get("/api/v2/audit?" + query, bearer(fleet_->admin));
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.status == 200 ? reply.json().at("entries").as_array() : json::array{};
  }

  static Fleet* fleet_;
  static int counter_;
};
Fleet* SocTest::fleet_ = nullptr;
int SocTest::counter_ = 0;

TEST_F(SocTest, NewThreatsAreNewUnassignedAndNotAcknowledged) {
  auto id = new_threat();
  auto t = client().get("/api/v2/threats/" + id, bearer(fleet_->viewer)).json();
  EXPECT_EQ(t.at("status"), "new");
  EXPECT_TRUE(t.at("assignee").is_null());
  EXPECT_EQ(t.at("is_acknowledged"), false);
  EXPECT_EQ(t.at("updated_at"), t.at("created_at"));
}

TEST_F(SocTest, PatchChangesStatusAndAssigneeRecordsHistoryAndAnnouncesIt) {
  auto id = new_threat();
  WsClient ws("127.0.0.1", fleet_->server->port());
  ASSERT_EQ(ws.connect("/api/v2/ws?token=" + fleet_->viewer), 101);
  ASSERT_TRUE(ws.next_of_type("welcome"));

  auto taken = patch("/api/v2/threats/" + id,
                     {{"status", "investigating"}, {"assignee", "ana"}, {"note", "mine now"}},
                     fleet_->analyst);
  ASSERT_EQ(taken.status, 200) << taken.body;
  EXPECT_EQ(taken.json().at("status"), "investigating");
  EXPECT_EQ(taken.json().at("assignee"), "ana");
  EXPECT_EQ(taken.json().at("is_acknowledged"), true);  // exactly: status != new
  EXPECT_EQ(taken.json().at("acknowledged_by"), "ana");

  auto update = ws.next_of_type("threat_update");
  ASSERT_TRUE(update) << "no threat_update on the live feed";
  EXPECT_EQ(update->at("data").at("id"), id.c_str());
  EXPECT_EQ(update->at("data").at("status"), "investigating");
  EXPECT_EQ(update->at("data").at("assignee"), "ana");
  EXPECT_EQ(update->at("data").at("updated_by"), "ana");

  auto closed = patch("/api/v2/threats/" + id,
                      {{"status", "false_positive"}, {"assignee", nullptr}}, fleet_->admin);
  ASSERT_EQ(closed.status, 200) << closed.body;
  EXPECT_TRUE(closed.json().at("assignee").is_null());
  auto reopened = patch("/api/v2/threats/" + id, {{"status", "new"}}, fleet_->admin);
  ASSERT_EQ(reopened.status, 200);
  EXPECT_EQ(reopened.json().at("is_acknowledged"), false);

  auto history = client().get("/api/v2/threats/" + id + "/history", bearer(fleet_->viewer));
  ASSERT_EQ(history.status, 200) << history.body;
  const auto body = history.json();
  const auto& entries = body.as_array();
  ASSERT_EQ(entries.size(), 3u) << history.body;
  EXPECT_EQ(entries[0].at("actor"), "ana");
  EXPECT_EQ(entries[0].at("note"), "mine now");
  EXPECT_EQ(entries[0].at("changes").at("status"), (json::array{"new", "investigating"}));
  EXPECT_EQ(entries[0].at("changes").at("assignee"), (json::array{nullptr, "ana"}));
  EXPECT_EQ(entries[1].at("actor"), "root");
  EXPECT_EQ(entries[1].at("changes").at("status"),
            (json::array{"investigating", "false_positive"}));
  EXPECT_EQ(entries[1].at("changes").at("assignee"), (json::array{"ana", nullptr}));
  EXPECT_EQ(entries[2].at("changes").at("status"), (json::array{"false_positive", "new"}));

  // The list filters on both.
  auto listed = client().get("/api/v2/threats?status=new&threat_type=soc_probe&page_size=1000",
                             bearer(fleet_->viewer));
  ASSERT_EQ(listed.status, 200);
  bool found = false;
  const auto page = listed.json();
  for (const auto& t : page.at("threats").as_array()) found |= t.at("id") == id.c_str();
  EXPECT_TRUE(found);
}

TEST_F(SocTest, AcknowledgeMovesNewToAcknowledgedButNotFurtherStatusesBack) {
  auto fresh = new_threat();
  auto acked = client().put("/api/v2/threats/" + fresh + "/acknowledge",
                            json::object{{"notes", "seen"}}, bearer(fleet_->analyst));
  ASSERT_EQ(acked.status, 200) << acked.body;
  EXPECT_EQ(acked.json().at("status"), "acknowledged");

  auto resolved = new_threat();
  ASSERT_EQ(patch("/api/v2/threats/" + resolved, {{"status", "resolved"}}, fleet_->analyst).status,
            200);
  auto again = client().put("/api/v2/threats/" + resolved + "/acknowledge", json::object{},
                            bearer(fleet_->admin));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json().at("status"), "resolved");
  EXPECT_EQ(again.json().at("acknowledged_by"), "root");
  auto history = client().get("/api/v2/threats/" + fresh + "/history", bearer(fleet_->viewer));
  ASSERT_EQ(history.json().as_array().size(), 1u) << history.body;
  EXPECT_EQ(history.json().as_array()[0].at("note"), "seen");
}

TEST_F(SocTest, PatchRefusesBadInput) {
  auto id = new_threat();
  const std::string target = "/api/v2/threats/" + id;
  EXPECT_EQ(patch(target, {{"status", "closed"}}, fleet_->analyst).status, 422);
  EXPECT_EQ(patch(target, {{"assignee", "nobody-here"}}, fleet_->analyst).status, 422);
  EXPECT_EQ(patch(target, {{"assignee", "bad name!"}}, fleet_->analyst).status, 422);
  EXPECT_EQ(patch(target, {{"status", 3}}, fleet_->analyst).status, 422);
  EXPECT_EQ(patch(target, {{"is_acknowledged", true}}, fleet_->analyst).status, 422);
  EXPECT_EQ(patch(target, json::object{}, fleet_->analyst).status, 422);
  EXPECT_EQ(patch(target, {{"note", std::string(5000, 'x')}}, fleet_->analyst).status, 422);
  EXPECT_EQ(patch(target, json::array{}, fleet_->analyst).status, 422);
  EXPECT_EQ(patch("/api/v2/threats/not-a-uuid", {{"status", "new"}}, fleet_->analyst).status, 422);
  EXPECT_EQ(patch("/api/v2/threats/0190d0b2-62a0-7000-8000-000000000001", {{"status", "new"}},
                  fleet_->analyst)
                .status,
            404);
  EXPECT_EQ(patch(target, {{"status", "resolved"}}, fleet_->viewer).status, 403);
  EXPECT_EQ(client().get(target + "/history", bearer(fleet_->viewer)).json().as_array().size(), 0u);
  EXPECT_EQ(client()
                .get("/api/v2/threats/0190d0b2-62a0-7000-8000-000000000001/history",
                     bearer(fleet_->viewer))
                .status,
            404);
}

TEST_F(SocTest, BulkByIdsAndByFilterAndTheRowLimit) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(new_threat("soc_bulk"));
  json::array id_list;
  for (const auto& id : ids) id_list.push_back(json::string(id));
  auto by_ids = client().post(
      "/api/v2/threats/bulk",
      json::object{{"ids", id_list}, {"set", {{"assignee", "ana"}}}, {"note", "shift"}},
      bearer(fleet_->analyst));
  ASSERT_EQ(by_ids.status, 200) << by_ids.body;
  EXPECT_EQ(by_ids.json().at("matched"), 4);
  EXPECT_EQ(by_ids.json().at("changed"), 4);
  // Again: matched, but nothing changes (and no history entry is added).
  auto again = client().post("/api/v2/threats/bulk",
                             json::object{{"ids", id_list}, {"set", {{"assignee", "ana"}}}},
                             bearer(fleet_->analyst));
  EXPECT_EQ(again.json().at("changed"), 0);
  EXPECT_EQ(client()
                .get("/api/v2/threats/" + ids[0] + "/history", bearer(fleet_->viewer))
                .json()
                .as_array()
                .size(),
            1u);

  auto by_filter = client().post(
      "/api/v2/threats/bulk",
      json::object{{"filter", {{"threat_type", json::array{"soc_bulk"}}, {"assignee", "ana"}}},
                   {"set", {{"status", "resolved"}}}},
      bearer(fleet_->admin));
  ASSERT_EQ(by_filter.status, 200) << by_filter.body;
  EXPECT_EQ(by_filter.json().at("matched"), 4);
  EXPECT_EQ(by_filter.json().at("changed"), 4);
  auto resolved = client().get("/api/v2/threats?threat_type=soc_bulk&status=resolved&assignee=ana",
                               bearer(fleet_->viewer));
  EXPECT_EQ(resolved.json().at("threats").as_array().size(), 4u);

  // More matches than BULK_MAX_ROWS (25): 422, and nothing changes.
  for (int i = 0; i < 26; ++i) new_threat("soc_many");
  auto too_many = client().post(
      "/api/v2/threats/bulk",
      json::object{{"filter", {{"threat_type", "soc_many"}}}, {"set", {{"status", "resolved"}}}},
      bearer(fleet_->admin));
  EXPECT_EQ(too_many.status, 422) << too_many.body;
  auto untouched = client().get("/api/v2/threats?threat_type=soc_many&status=new&page_size=100",
                                bearer(fleet_->viewer));
  EXPECT_EQ(untouched.json().at("threats").as_array().size(), 26u);
}

TEST_F(SocTest, BulkRefusesBadInput) {
  auto post = [](const json::value& body, const std::string& token) {
    return client().post("/api/v2/threats/bulk", body, bearer(token)).status;
  };
  auto id = new_threat();
  json::object set{{"status", "resolved"}};
  EXPECT_EQ(post({{"set", set}}, fleet_->analyst), 422);  // neither
  EXPECT_EQ(post({{"ids", {id}}, {"filter", json::object{}}, {"set", set}}, fleet_->analyst),
            422);                                                                   // both
  EXPECT_EQ(post({{"ids", {id}}}, fleet_->analyst), 422);                           // no set
  EXPECT_EQ(post({{"ids", {id}}, {"set", json::object{}}}, fleet_->analyst), 422);  // empty
  EXPECT_EQ(post({{"ids", {"nope"}}, {"set", set}}, fleet_->analyst), 422);         // not ids
  EXPECT_EQ(post({{"filter", {{"severity", "worst"}}}, {"set", set}}, fleet_->analyst), 422);
  EXPECT_EQ(post({{"filter", {{"page", "2"}}}, {"set", set}}, fleet_->analyst), 422);
  EXPECT_EQ(post({{"filter", {{"sensor_id", {1, 2}}}}, {"set", set}}, fleet_->analyst), 422);
  EXPECT_EQ(post({{"ids", {id}}, {"set", {{"status", "closed"}}}}, fleet_->analyst), 422);
  json::array too_many_ids;
  for (int i = 0; i < 10'001; ++i) too_many_ids.push_back(json::string(id));
  EXPECT_EQ(post({{"ids", too_many_ids}, {"set", set}}, fleet_->analyst), 422);
  EXPECT_EQ(post({{"ids", {id}}, {"set", set}}, fleet_->viewer), 403);
  EXPECT_EQ(post({{"ids", {id}}, {"set", set}}, ""), 401);
}

TEST_F(SocTest, UsersOverRestFollowTheCliRules) {
  auto admin = bearer(fleet_->admin);
  auto created = client().post("/api/v2/users",
                               json::object{{"username", "rita"},
                                            {"role", "analyst"},
                                            {"password", "rita-password-1"},
                                            {"email", "rita@example.org"}},
                               admin);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string rita_id(created.json().at("id").as_string());
  EXPECT_EQ(created.json().at("role"), "analyst");
  EXPECT_FALSE(created.json().as_object().contains("password_hash"));
  EXPECT_EQ(client()
                .post("/api/v2/users",
                      json::object{
                          {"username", "rita"}, {"role", "viewer"}, {"password", "x-password-1"}},
                      admin)
                .status,
            409);
  EXPECT_EQ(
      client()
          .post("/api/v2/users",
                json::object{{"username", "ok"}, {"role", "viewer"}, {"password", "short"}}, admin)
          .status,
      422);

  auto listed = client().get("/api/v2/users?page_size=2", admin);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json().at("users").as_array().size(), 2u);
  EXPECT_GE(listed.json().at("total").as_int64(), 4);

  // A name change keeps the sessions; a role change ends them.
  auto rita = fleet_->server->login("rita", "rita-password-1");
  ASSERT_EQ(patch("/api/v2/users/" + rita_id, {{"full_name", "Rita R."}}, fleet_->admin).status,
            200);
  EXPECT_EQ(client().get("/api/v2/auth/me", bearer(rita)).status, 200);
  auto demoted = patch("/api/v2/users/" + rita_id, {{"role", "viewer"}}, fleet_->admin);
  ASSERT_EQ(demoted.status, 200) << demoted.body;
  EXPECT_EQ(demoted.json().at("role"), "viewer");
  EXPECT_TRUE(
      eventually([&] { return client().get("/api/v2/auth/me", bearer(rita)).status == 401; }, 10s))
      << "the demoted user's token still works";

  // A new password ends the new session too; the old password stops working.
  rita = fleet_->server->login("rita", "rita-password-1");
  ASSERT_EQ(client()
                .post("/api/v2/users/" + rita_id + "/password",
                      json::object{{"password", "rita-password-2"}}, admin)
                .status,
            200);
  EXPECT_TRUE(
      eventually([&] { return client().get("/api/v2/auth/me", bearer(rita)).status == 401; }, 10s));
  EXPECT_EQ(client()
                .post("/api/v2/auth/login",
                      json::object{{"username", "rita"}, {"password", "rita-password-1"}})
                .status,
            401);

  // One's own password: the current one is required.
  rita = fleet_->server->login("rita", "rita-password-2");
  EXPECT_EQ(client()
                .post("/api/v2/auth/password",
                      json::object{{"current_password", "wrong-password"},
                                   {"new_password", "rita-password-3"}},
                      bearer(rita))
                .status,
            400);
  EXPECT_EQ(client()
                .post("/api/v2/auth/password",
                      json::object{{"current_password", "rita-password-2"},
                                   {"new_password", "rita-password-3"}},
                      bearer(rita))
                .status,
            200);
  fleet_->server->login("rita", "rita-password-3");

  EXPECT_EQ(client().del("/api/v2/users/" + rita_id, admin).status, 200);
  EXPECT_EQ(client().get("/api/v2/users/" + rita_id, admin).status, 404);
  EXPECT_EQ(client().del("/api/v2/users/" + rita_id, admin).status, 404);
}

TEST_F(SocTest, TheLastActiveAdminCannotBeRemovedOrDemoted) {
  auto me = client().get("/api/v2/auth/me", bearer(fleet_->admin)).json();
  const std::string root_id(me.at("id").as_string());
  auto demote = patch("/api/v2/users/" + root_id, {{"role", "analyst"}}, fleet_->admin);
  EXPECT_EQ(demote.status, 409) << demote.body;
  EXPECT_EQ(patch("/api/v2/users/" + root_id, {{"is_active", false}}, fleet_->admin).status, 409);
  EXPECT_EQ(client().del("/api/v2/users/" + root_id, bearer(fleet_->admin)).status, 409);
  // The CLI applies the same rule.
  auto cli = fleet_->server->cli({"user", "set-role", "root", "viewer"});
  EXPECT_NE(cli.exit_code, 0) << cli.out;
  EXPECT_EQ(client().get("/api/v2/auth/me", bearer(fleet_->admin)).status, 200);
}

TEST_F(SocTest, AuditRecordsEveryKindOfChangeWithItsActor) {
  // A failed login and a good one.
  EXPECT_EQ(client()
                .post("/api/v2/auth/login",
                      json::object{{"username", "ana"}, {"password", "wrong-password"}})
                .status,
            401);
  auto failed = audit("action=auth.login_failed&actor=ana");
  ASSERT_FALSE(failed.empty());
  EXPECT_EQ(failed[0].at("actor_role"), "anonymous");
  EXPECT_EQ(failed[0].at("client_addr"), "127.0.0.1");
  EXPECT_EQ(failed[0].at("details").at("reason"), "bad_credentials");
  EXPECT_EQ(json::serialize(failed[0]).find("wrong-password"), std::string::npos);
  fleet_->server->login("vic", "viewer-password-1");
  EXPECT_FALSE(audit("action=auth.login&actor=vic").empty());

  // A threat change, with what changed.
  auto id = new_threat();
  ASSERT_EQ(patch("/api/v2/threats/" + id, {{"status", "investigating"}}, fleet_->analyst).status,
            200);
  auto changed = audit("target_type=threat&target_id=" + id);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].at("action"), "threat.update");
  EXPECT_EQ(changed[0].at("actor"), "ana");
  EXPECT_EQ(changed[0].at("actor_role"), "analyst");
  EXPECT_EQ(changed[0].at("details").at("changes").at("status"),
            (json::array{"new", "investigating"}));
  // A refused change leaves no record.
  EXPECT_EQ(patch("/api/v2/threats/" + id, {{"assignee", "ghost"}}, fleet_->analyst).status, 422);
  EXPECT_EQ(audit("target_type=threat&target_id=" + id).size(), 1u);
  // A delete is recorded, and the record outlives the threat.
  ASSERT_EQ(client().del("/api/v2/threats/" + id, bearer(fleet_->admin)).status, 200);
  auto deleted = audit("target_id=" + id);
  ASSERT_EQ(deleted.size(), 2u);
  EXPECT_EQ(deleted[0].at("action"), "threat.delete");

  // A sensor change and an onboarding token.
  auto put = client().put("/api/v2/sensors/sensor-b", json::object{{"description", "audited"}},
                          bearer(fleet_->admin));
  ASSERT_EQ(put.status, 200);
  auto sensor = audit("action=sensor.update&target_id=sensor-b");
  ASSERT_FALSE(sensor.empty());
  EXPECT_EQ(sensor[0].at("details").at("description"), "audited");
  ASSERT_EQ(client()
                .post("/api/v2/onboarding/tokens", json::object{{"sensor_name", "audited"}},
                      bearer(fleet_->admin))
                .status,
            201);
  auto token = audit("action=onboarding.token_create");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(token[0].at("details").at("sensor_name"), "audited");

  // The CLI's changes are recorded as cli:<user>.
  auto cli = fleet_->server->cli({"user", "add", "cli-made", "--role", "viewer"});
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  auto by_cli = audit("action=user.create&target_type=user");
  ASSERT_FALSE(by_cli.empty());
  EXPECT_EQ(by_cli[0].at("actor_role"), "cli");
  EXPECT_EQ(std::string_view(by_cli[0].at("actor").as_string()).substr(0, 4), "cli:");
  EXPECT_TRUE(by_cli[0].at("client_addr").is_null());
  EXPECT_EQ(by_cli[0].at("details").at("username"), "cli-made");
}

TEST_F(SocTest, AuditPagesWithACursorAndOnlyAdminsReadIt) {
  for (int i = 0; i < 5; ++i)
    client().post("/api/v2/auth/login",
                  json::object{{"username", "pager"}, {"password", "wrong-password"}});
  std::vector<std::int64_t> ids;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto reply = client().get(
        "/api/v2/audit?actor=pager&page_size=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
        bearer(fleet_->admin));
    ASSERT_EQ(reply.status, 200) << reply.body;
    const auto body = reply.json();
    for (const auto& e : body.at("entries").as_array()) ids.push_back(e.at("id").as_int64());
    if (reply.json().at("next_cursor").is_null()) break;
    cursor = std::string(reply.json().at("next_cursor").as_string());
  }
  ASSERT_EQ(ids.size(), 5u);
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i - 1], ids[i]) << "not newest first";

  EXPECT_EQ(client().get("/api/v2/audit", bearer(fleet_->analyst)).status, 403);
  EXPECT_EQ(client().get("/api/v2/audit", bearer(fleet_->viewer)).status, 403);
  EXPECT_EQ(client().get("/api/v2/audit").status, 401);
  EXPECT_EQ(client().get("/api/v2/audit?page_size=0", bearer(fleet_->admin)).status, 422);
  EXPECT_EQ(client().get("/api/v2/audit?start_time=yesterday", bearer(fleet_->admin)).status, 422);
  EXPECT_EQ(client().get("/api/v2/audit?cursor=%27%3B--", bearer(fleet_->admin)).status, 422);
}

}  // namespace
}  // namespace honeyman::testing
