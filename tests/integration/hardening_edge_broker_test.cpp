// Issue #11, finding 3, against the real binary and a real Mosquitto: onboarding never deletes or
// takes over a broker account that is not a Honeyman sensor's, and re-registering a Honeyman
// sensor still works.
#include <gtest/gtest.h>

#include "integration/mqtt_support.hpp"
#include "store/store.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;

// --- finding 3 ---------------------------------------------------------------------------------

class EdgeBroker : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fleet_ = MqttFleet::start().release(); }
  static void TearDownTestSuite() { delete fleet_; }
  static ServerProcess& server() { return *fleet_->server; }
  static int login(const std::string& user, const std::string& password) {
    return MqttClient("edge-probe-" + random_text(6))
        .connect(fleet_->broker->port(), user, password);
  }

  static MqttFleet* fleet_;
};
MqttFleet* EdgeBroker::fleet_ = nullptr;

TEST_F(EdgeBroker, RegistrationRefusesAnUnrelatedBrokerAccountAndLeavesItAlone) {
  auto made = fleet_->broker->ctrl({"dynsec", "createClient", "billing-svc", "-p", "billing-pw"});
  ASSERT_EQ(made.exit_code, 0) << made.out;
  ASSERT_EQ(login("billing-svc", "billing-pw"), 0);

  auto token = mint_token(server(), fleet_->admin);
  auto reply = register_sensor(server(), token, "billing-svc");
  EXPECT_EQ(reply.status, 409) << reply.body;
  EXPECT_NE(reply.body.find("not a Honeyman sensor account"), std::string::npos) << reply.body;
  EXPECT_EQ(login("billing-svc", "billing-pw"), 0) << "the unrelated account must still work";
  auto client = fleet_->broker->ctrl({"dynsec", "getClient", "billing-svc"});
  EXPECT_EQ(client.out.find("honeyman"), std::string::npos) << client.out;
  EXPECT_EQ(server().client().get("/api/v2/sensors/billing-svc", bearer(fleet_->admin)).status,
            404);
  // The token was not spent.
  EXPECT_EQ(register_sensor(server(), token, "billing-sensor").status, 201);
}

// A Honeyman sensor whose row is gone but whose broker account stayed (a failed undo, a restored
// database) registers again: its account is repaired in place with the new password.
TEST_F(EdgeBroker, ReRegisteringAHoneymanSensorStillWorks) {
  auto first = onboard(server(), fleet_->admin, "edge-again");
  store::StoreConfig config;
  config.database_url = server().env().at("DATABASE_URL");
  {
    auto store = store::open_store(config);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->delete_sensor("edge-again"));
  }
  auto second = register_sensor(server(), mint_token(server(), fleet_->admin), "edge-again");
  ASSERT_EQ(second.status, 201) << second.body;
  auto password = std::string(second.json().at("mqtt_password").as_string());
  EXPECT_EQ(login("edge-again", password), 0);
  EXPECT_NE(login("edge-again", first.mqtt_password), 0) << "the old password must be gone";
}

// Deleting or deactivating a sensor whose name is also an unrelated broker account (a sensor
// added with `honeyman sensor add`, which makes no account) leaves that account alone.
TEST_F(EdgeBroker, SensorChangesNeverTouchAnUnrelatedAccount) {
  auto made = fleet_->broker->ctrl({"dynsec", "createClient", "payroll", "-p", "payroll-pw"});
  ASSERT_EQ(made.exit_code, 0) << made.out;
  server().add_sensor("payroll", "Payroll sensor");
  auto admin = bearer(fleet_->admin);
  auto off =
      server().client().put("/api/v2/sensors/payroll", json::object{{"is_active", false}}, admin);
  EXPECT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(login("payroll", "payroll-pw"), 0) << "deactivating the sensor disabled the account";
  EXPECT_EQ(server().client().del("/api/v2/sensors/payroll", admin).status / 100, 2);
  EXPECT_EQ(login("payroll", "payroll-pw"), 0) << "deleting the sensor deleted the account";
}

}  // namespace
}  // namespace honeyman::testing
