// Onboarding (SPEC §2): single-use tokens, registration creating sensor + API key + broker
// account (all or nothing), and the QR code. Real server, real Mosquitto.
#include <gtest/gtest.h>

#include "integration/mqtt_support.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class OnboardingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fleet_ = MqttFleet::start().release(); }
  static void TearDownTestSuite() { delete fleet_; }
  static ServerProcess& server() { return *fleet_->server; }

  static Reply post_raw(const std::string& path, const std::string& body,
                        const HeaderList& headers = {}) {
    return server().client().request("POST", path, body, headers);
  }
  // A token that expired an hour ago, written straight into the server's store.
  static std::string expired_token() {
    return plant_onboarding_token(server(), fleet_->admin, -std::chrono::hours(1));
  }

  static MqttFleet* fleet_;
};
MqttFleet* OnboardingTest::fleet_ = nullptr;

TEST_F(OnboardingTest, TokenAnswerHasTheDocumentedShape) {
  auto reply = server().client().post(
      "/api/v2/onboarding/tokens",
      json::object{{"sensor_name", "Lobby"}, {"description", "front desk"}, {"validity_hours", 2}},
      bearer(fleet_->admin));
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto body = reply.json();
  EXPECT_EQ(body.at("sensor_name"), "Lobby");
  EXPECT_GE(body.at("token").as_string().size(), 40u);
  auto expires = parse_timestamp(body.at("expires_at").as_string());
  ASSERT_TRUE(expires);
  EXPECT_GT(*expires, system_clock().now() + 1h);
  EXPECT_LT(*expires, system_clock().now() + 3h);
  EXPECT_NE(std::string(body.at("qr_code_url").as_string())
                .find("/api/v2/onboarding/qrcode/" + std::string(body.at("token").as_string())),
            std::string::npos);
}

TEST_F(OnboardingTest, RegistrationHandsOutWorkingCredentialsOnce) {
  auto token = mint_token(server(), fleet_->admin, "Roof");
  auto reply = register_sensor(server(), token, "roof-01");
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto body = reply.json().as_object();
  EXPECT_EQ(body.at("sensor_id"), "roof-01");
  EXPECT_EQ(body.at("mqtt_username"), "roof-01");
  EXPECT_EQ(body.at("mqtt_broker"), "127.0.0.1");
  EXPECT_EQ(body.at("mqtt_port").as_int64(), fleet_->broker->port());
  EXPECT_EQ(body.at("mqtt_use_tls"), false);
  EXPECT_EQ(body.at("mqtt_topics").at("threats"), "honeyman/sensors/roof-01/threats");
  EXPECT_EQ(body.at("mqtt_topics").at("heartbeat"), "honeyman/sensors/roof-01/heartbeat");
  EXPECT_EQ(body.at("mqtt_topics").at("control"), "honeyman/control/roof-01");
  EXPECT_NE(std::string(body.at("fallback_http_url").as_string()).find("/api/v2/honeypot/data"),
            std::string::npos);

  // The broker account works, the API key works, the sensor has the token's name.
  MqttClient mqtt("roof-01");
  EXPECT_EQ(mqtt.connect(fleet_->broker->port(), "roof-01",
                         std::string(body.at("mqtt_password").as_string())),
            0);
  auto hb = server().client().post("/api/v2/sensors/roof-01/heartbeat",
                                   json::object{{"status", "online"}},
                                   api_key(std::string(body.at("api_key").as_string())));
  EXPECT_EQ(hb.status, 200) << hb.body;
  auto sensor = server().client().get("/api/v2/sensors/roof-01", bearer(fleet_->admin)).json();
  EXPECT_EQ(sensor.at("name"), "Roof");

  // Single use: the same token again, even for another id, is refused.
  EXPECT_EQ(register_sensor(server(), token, "roof-02").status, 401);
  EXPECT_EQ(server().client().get("/api/v2/sensors/roof-02", bearer(fleet_->admin)).status, 404);
}

TEST_F(OnboardingTest, BadExpiredAndUnknownTokensAreRefused) {
  EXPECT_EQ(register_sensor(server(), "not-a-token", "nobody-01").status, 401);
  EXPECT_EQ(register_sensor(server(), expired_token(), "nobody-02").status, 401);
  for (auto id : {"nobody-01", "nobody-02"})
    EXPECT_EQ(
        server().client().get(std::string("/api/v2/sensors/") + id, bearer(fleet_->admin)).status,
        404);
}

TEST_F(OnboardingTest, TakenSensorIdIsAConflictAndTheTokenStaysUsable) {
  onboard(server(), fleet_->admin, "taken-01");
  auto token = mint_token(server(), fleet_->admin);
  auto reply = register_sensor(server(), token, "taken-01");
  EXPECT_EQ(reply.status, 409) << reply.body;
  EXPECT_EQ(register_sensor(server(), token, "taken-02").status, 201);
  // The server's own broker account name cannot become a sensor.
  EXPECT_EQ(
      register_sensor(server(), mint_token(server(), fleet_->admin), "honeyman-server").status,
      409);
}

TEST_F(OnboardingTest, BrokerDownLeavesNothingBehind) {
  auto token = mint_token(server(), fleet_->admin);
  fleet_->broker->stop();
  auto reply = register_sensor(server(), token, "late-01");
  EXPECT_TRUE(eventually([&] { return server().client().get("/ready").status == 503; }))
      << "/ready must report the lost broker connection";
  fleet_->broker->start();
  EXPECT_TRUE(eventually([&] { return server().client().get("/ready").status == 200; }))
      << "the subscriber must reconnect by itself\n"
      << server().log();
  EXPECT_EQ(reply.status, 503) << reply.body;
  EXPECT_EQ(server().client().get("/api/v2/sensors/late-01", bearer(fleet_->admin)).status, 404);
  // The token was not spent: with the broker back, it works.
  auto again = register_sensor(server(), token, "late-01");
  EXPECT_EQ(again.status, 201) << again.body;
}

TEST_F(OnboardingTest, BadInputIsRefusedWithClearErrors) {
  auto admin = bearer(fleet_->admin);
  struct Case {
    std::string path, body;
    int status;
  };
  auto token = mint_token(server(), fleet_->admin);
  const std::vector<Case> cases = {
      {"/api/v2/onboarding/tokens", "{", 422},
      {"/api/v2/onboarding/tokens", "{}", 422},
      {"/api/v2/onboarding/tokens", R"({"sensor_name":""})", 422},
      {"/api/v2/onboarding/tokens", R"({"sensor_name":7})", 422},
      {"/api/v2/onboarding/tokens", R"({"sensor_name":"x","validity_hours":0})", 422},
      {"/api/v2/onboarding/tokens", R"({"sensor_name":"x","validity_hours":169})", 422},
      {"/api/v2/onboarding/tokens", R"({"sensor_name":"x","validity_hours":"24"})", 422},
      {"/api/v2/onboarding/tokens", R"({"sensor_name":"x","colour":"red"})", 422},
      {"/api/v2/onboarding/tokens", R"(["sensor_name"])", 422},
      {"/api/v2/onboarding/register", "not json", 422},
      {"/api/v2/onboarding/register", R"({"sensor_id":"x-1"})", 422},
      {"/api/v2/onboarding/register", R"({"onboarding_token":")" + token + R"("})", 422},
      {"/api/v2/onboarding/register",
       R"({"onboarding_token":")" + token + R"(","sensor_id":"a/b"})", 422},
      {"/api/v2/onboarding/register",
       R"({"onboarding_token":")" + token + R"(","sensor_id":"a+#"})", 422},
      {"/api/v2/onboarding/register",
       R"({"onboarding_token":")" + token + R"(","sensor_id":"ok-1","capabilities":[1]})", 422},
      {"/api/v2/onboarding/register",
       R"({"onboarding_token":")" + token +
           R"(","sensor_id":"ok-1","location":{"latitude":91,"longitude":0}})",
       422},
      {"/api/v2/onboarding/register",
       R"({"onboarding_token":")" + token + R"(","sensor_id":"ok-1","platform":5})", 422},
      {"/api/v2/onboarding/register",
       R"({"onboarding_token":")" + token + R"(","sensor_id":"ok-1","is_admin":true})", 422},
  };
  for (const auto& c : cases) {
    auto reply = post_raw(c.path, c.body, admin);
    EXPECT_EQ(reply.status, c.status) << c.path << " " << c.body << ": " << reply.body;
    if (reply.status == 422) {
      auto json_body = reply.json();
      EXPECT_TRUE(json_body.at("detail").is_array()) << reply.body;
    }
  }
  // None of that spent the token or created a sensor.
  EXPECT_EQ(server().client().get("/api/v2/sensors/ok-1", admin).status, 404);
  auto good = server().client().post(
      "/api/v2/onboarding/register",
      json::object{
          {"onboarding_token", token},
          {"sensor_id", "ok-1"},
          {"location", json::object{{"latitude", 48.85}, {"longitude", 2.35}, {"city", "Paris"}}}});
  EXPECT_EQ(good.status, 201) << good.body;
  auto sensor = server().client().get("/api/v2/sensors/ok-1", admin).json();
  EXPECT_EQ(sensor.at("city"), "Paris");
  EXPECT_EQ(server().client().get("/health").status, 200);
}

TEST_F(OnboardingTest, QrCodeIsARealPngHoldingTheRegistrationData) {
  auto token = mint_token(server(), fleet_->admin, "Window");
  auto reply = server().client().get("/api/v2/onboarding/qrcode/" + token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "image/png");
  ASSERT_GT(reply.body.size(), 8u);
  EXPECT_EQ(reply.body.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto decoded = json::parse(decode_qr(reply.body));
  EXPECT_EQ(decoded.at("onboarding_token").as_string(), token);
  EXPECT_NE(std::string(decoded.at("api_endpoint").as_string()).find("/api/v2"), std::string::npos);

  // Once used, or when unknown or expired, there is no QR code.
  ASSERT_EQ(register_sensor(server(), token, "window-01").status, 201);
  EXPECT_EQ(server().client().get("/api/v2/onboarding/qrcode/" + token).status, 404);
  EXPECT_EQ(server().client().get("/api/v2/onboarding/qrcode/unknown").status, 404);
  EXPECT_EQ(server().client().get("/api/v2/onboarding/qrcode/" + expired_token()).status, 404);
}

TEST(OnboardingWithoutMqtt, RegistrationWorksForHttpOnlySensors) {
  auto fleet = Fleet::start();
  auto token = mint_token(*fleet->server, fleet->admin);
  auto reply = fleet->server->client().post(
      "/api/v2/onboarding/register",
      json::object{{"onboarding_token", token}, {"sensor_id", "http-only"}});
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto body = reply.json();
  EXPECT_TRUE(body.at("mqtt_password").is_null());
  EXPECT_TRUE(body.at("api_key").is_string());
  auto threat = fleet->server->client().post(
      "/api/v2/threats",
      json::object{{"threat_type", "t"}, {"detector_type", "usb"}, {"severity", "low"}},
      api_key(std::string(body.at("api_key").as_string())));
  EXPECT_EQ(threat.status, 201) << threat.body;
}

}  // namespace
}  // namespace honeyman::testing
