// Issue #11, finding 8, against the real binary: in production the URLs handed to sensors
// (onboarding answers, QR codes) come from PUBLIC_API_URL, never from the `Host` header.
#include <gtest/gtest.h>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;

const HeaderList kEdgeSpoofedHost = {{"Host", "evil.example"}};

// --- finding 8 ---------------------------------------------------------------------------------

TEST(EdgeHost, ProductionWithoutPublicUrlRefusesClearlyAndSpendsNothing) {
  ServerProcess server(std::map<std::string, std::string>{{"ENVIRONMENT", "production"}});
  server.add_user("root", "admin", "admin-password-1");
  server.start();
  auto admin = server.login("root", "admin-password-1");
  auto headers = bearer(admin);
  headers.insert(headers.end(), kEdgeSpoofedHost.begin(), kEdgeSpoofedHost.end());

  auto minted = server.client().post("/api/v2/onboarding/tokens",
                                     json::object{{"sensor_name", "Gate"}}, headers);
  EXPECT_EQ(minted.status, 503) << minted.body;
  EXPECT_NE(minted.body.find("PUBLIC_API_URL"), std::string::npos) << minted.body;
  EXPECT_EQ(minted.body.find("evil"), std::string::npos) << minted.body;

  auto token = plant_onboarding_token(server, admin, std::chrono::hours(1));
  auto qr = server.client().get("/api/v2/onboarding/qrcode/" + token, kEdgeSpoofedHost);
  EXPECT_EQ(qr.status, 503) << qr.body;
  auto registered = register_sensor(server, token, "gate-01", kEdgeSpoofedHost);
  EXPECT_EQ(registered.status, 503) << registered.body;
  EXPECT_NE(registered.body.find("PUBLIC_API_URL"), std::string::npos) << registered.body;
  EXPECT_EQ(server.client().get("/api/v2/sensors/gate-01", bearer(admin)).status, 404);

  // With PUBLIC_API_URL the same token still works, and Host decides nothing.
  ASSERT_EQ(server.stop(), 0);
  ServerProcess fixed(
      std::map<std::string, std::string>{{"ENVIRONMENT", "production"},
                                         {"DATABASE_URL", server.env().at("DATABASE_URL")},
                                         {"PUBLIC_API_URL", "https://api.example.org"}});
  fixed.start();
  auto qr_ok = fixed.client().get("/api/v2/onboarding/qrcode/" + token, kEdgeSpoofedHost);
  ASSERT_EQ(qr_ok.status, 200) << qr_ok.body;
  auto payload = decode_qr(qr_ok.body);
  EXPECT_EQ(payload.find("evil"), std::string::npos) << payload;
  EXPECT_NE(payload.find("https://api.example.org/api/v2"), std::string::npos) << payload;
  auto ok = register_sensor(fixed, token, "gate-01", kEdgeSpoofedHost);
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.body.find("evil"), std::string::npos) << ok.body;
  EXPECT_EQ(ok.json().at("api_endpoint"), "https://api.example.org/api/v2");
  auto fixed_admin = fixed.login("root", "admin-password-1");
  auto fixed_headers = bearer(fixed_admin);
  fixed_headers.insert(fixed_headers.end(), kEdgeSpoofedHost.begin(), kEdgeSpoofedHost.end());
  auto another = fixed.client().post("/api/v2/onboarding/tokens",
                                     json::object{{"sensor_name", "Gate 2"}}, fixed_headers);
  ASSERT_EQ(another.status, 201) << another.body;
  EXPECT_EQ(another.body.find("evil"), std::string::npos) << another.body;
}

// Outside production the Host header still serves (development), but only as a plain host.
TEST(EdgeHost, DevelopmentUsesOnlyAPlainHostHeader) {
  ServerProcess server(std::map<std::string, std::string>{{"ENVIRONMENT", "development"}});
  server.add_user("root", "admin", "admin-password-1");
  server.start();
  auto headers = bearer(server.login("root", "admin-password-1"));
  headers.emplace_back("Host", "evil.example/phish?x=");
  auto minted = server.client().post("/api/v2/onboarding/tokens",
                                     json::object{{"sensor_name", "Dev"}}, headers);
  ASSERT_EQ(minted.status, 201) << minted.body;
  EXPECT_EQ(minted.body.find("evil"), std::string::npos) << minted.body;
}

}  // namespace
}  // namespace honeyman::testing
