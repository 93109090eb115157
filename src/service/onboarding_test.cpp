#include "service/service_test_support.hpp"

namespace honeyman::service::test_support {

class OnboardingServiceTest : public ServiceTest {
 protected:
  static broker::BrokerConfig mqtt() {
    broker::BrokerConfig b;
    b.host = "127.0.0.1";
    b.username = "honeyman-server";
    b.admin_username = "honeyman-admin";
    return b;
  }

  OnboardingService with_broker() { return OnboardingService(*store_, clock_, mqtt(), &admin_); }
  OnboardingService without_mqtt() { return OnboardingService(*store_, clock_, {}, nullptr); }

  std::string token(OnboardingService& service, int hours = 24) {
    TokenRequest request;
    request.sensor_name = "Lobby";
    request.description = "by the door";
    request.validity_hours = hours;
    request.created_by = "admin-id";
    auto issued = service.create_token(request, kBy);
    EXPECT_TRUE(issued) << issued.error().message;
    return issued ? issued->token : std::string();
  }

  static RegistrationRequest registration(std::string token, std::string sensor_id) {
    RegistrationRequest r;
    r.onboarding_token = std::move(token);
    r.sensor_id = std::move(sensor_id);
    r.details.platform = "linux";
    return r;
  }

  bool usable(OnboardingService& service, const std::string& token) {
    return static_cast<bool>(service.usable_token(token));
  }
};

TEST_F(OnboardingServiceTest, RegistersSensorKeyAndAccountAndSpendsTheToken) {
  auto service = with_broker();
  auto t = token(service);
  auto done = service.register_sensor(registration(t, "rpi-01"), "127.0.0.1");
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->sensor.sensor_id, "rpi-01");
  EXPECT_EQ(done->sensor.name, "Lobby");
  EXPECT_EQ(done->sensor.description, "by the door");
  EXPECT_EQ(done->sensor.transport_protocol, "mqtt");
  EXPECT_EQ(done->sensor.platform, "linux");
  EXPECT_EQ(done->sensor.registered_at, clock_.now());
  ASSERT_TRUE(done->mqtt_password);
  EXPECT_EQ(*done->mqtt_password, admin_.last_password);
  EXPECT_EQ(admin_.calls, std::vector<std::string>{"create rpi-01"});
  EXPECT_EQ(key_owner(done->api_key), "rpi-01");
  EXPECT_FALSE(usable(service, t));
  auto again = service.register_sensor(registration(t, "rpi-02"), "127.0.0.1");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::unauthorized);
  EXPECT_FALSE(sensor_exists("rpi-02"));
}

TEST_F(OnboardingServiceTest, BrokerFailureLeavesNoSensorAndKeepsTheToken) {
  auto service = with_broker();
  auto t = token(service);
  admin_.fail = true;
  auto failed = service.register_sensor(registration(t, "rpi-01"), "127.0.0.1");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::unavailable);
  EXPECT_EQ(failed.error().message,
            "cannot create the sensor's broker account: broker unreachable");
  EXPECT_FALSE(sensor_exists("rpi-01"));
  EXPECT_TRUE(usable(service, t));

  admin_.fail = false;
  auto retried = service.register_sensor(registration(t, "rpi-01"), "127.0.0.1");
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_TRUE(sensor_exists("rpi-01"));
}

// A concurrent registration with the same token spends it between this one's steps.
TEST_F(OnboardingServiceTest, TokenSpentMeanwhileRemovesSensorAndBrokerAccount) {
  auto service = with_broker();
  auto t = token(service);
  admin_.on_call = [&](const std::string& call) {
    if (call == "create rpi-01") {
      EXPECT_TRUE(sensor_exists("rpi-01"));  // the row comes before the account
      ASSERT_TRUE(store_->consume_onboarding_token(sha256_hex(t), "rival", clock_.now()));
    }
  };
  auto lost = service.register_sensor(registration(t, "rpi-01"), "127.0.0.1");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Errc::unauthorized);
  EXPECT_EQ(lost.error().message, "Invalid, expired or already used onboarding token");
  EXPECT_FALSE(sensor_exists("rpi-01"));
  EXPECT_EQ(admin_.calls, (std::vector<std::string>{"create rpi-01", "delete rpi-01"}));
}

TEST_F(OnboardingServiceTest, BrokerAccountNamesAreReserved) {
  auto service = with_broker();
  auto t = token(service);
  for (const char* name : {"honeyman-server", "honeyman-admin"}) {
    auto refused = service.register_sensor(registration(t, name), "127.0.0.1");
    ASSERT_FALSE(refused) << name;
    EXPECT_EQ(refused.error().code, Errc::conflict);
    EXPECT_EQ(refused.error().message, "sensor_id '" + std::string(name) + "' is reserved");
    EXPECT_FALSE(sensor_exists(name));
  }
  EXPECT_TRUE(admin_.calls.empty());
  EXPECT_TRUE(usable(service, t));
}

TEST_F(OnboardingServiceTest, ForeignBrokerAccountIsAConflictAndNothingIsDeleted) {
  auto service = with_broker();
  auto t = token(service);
  admin_.foreign = {"billing-svc"};
  auto refused = service.register_sensor(registration(t, "billing-svc"), "127.0.0.1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::conflict);
  EXPECT_NE(refused.error().message.find("billing-svc"), std::string::npos);
  EXPECT_EQ(admin_.calls, std::vector<std::string>{"create billing-svc"})
      << "the other account is neither deleted nor changed";
  EXPECT_FALSE(sensor_exists("billing-svc"));
  EXPECT_TRUE(usable(service, t));
  EXPECT_TRUE(service.register_sensor(registration(t, "billing-sensor"), "127.0.0.1"));
}

TEST_F(OnboardingServiceTest, TakenSensorIdIsAConflictAndKeepsTheToken) {
  auto service = with_broker();
  plant_sensor("rpi-01");
  auto t = token(service);
  auto refused = service.register_sensor(registration(t, "rpi-01"), "127.0.0.1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::conflict);
  EXPECT_EQ(refused.error().message, "sensor_id 'rpi-01' is already registered");
  EXPECT_TRUE(admin_.calls.empty());
  EXPECT_TRUE(sensor_exists("rpi-01"));
  EXPECT_TRUE(usable(service, t));
}

TEST_F(OnboardingServiceTest, ExpiredUnknownAndInvalidInputsAreRefused) {
  auto service = with_broker();
  auto t = token(service, 1);
  clock_.advance(std::chrono::hours(1));
  EXPECT_FALSE(usable(service, t));
  auto expired = service.register_sensor(registration(t, "rpi-01"), "127.0.0.1");
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Errc::unauthorized);
  auto unknown = service.register_sensor(registration("no-such-token", "rpi-01"), "127.0.0.1");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::unauthorized);
  auto bad_id = service.register_sensor(registration(token(service), "bad/id"), "127.0.0.1");
  ASSERT_FALSE(bad_id);
  EXPECT_EQ(bad_id.error().code, Errc::invalid_input);
  EXPECT_FALSE(sensor_exists("rpi-01"));
  EXPECT_TRUE(admin_.calls.empty());
}

TEST_F(OnboardingServiceTest, TokenIsUsableUntilItExpires) {
  auto service = with_broker();
  auto t = token(service, 2);
  auto row = service.usable_token(t);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->sensor_name, "Lobby");
  EXPECT_EQ(row->expires_at, clock_.now() + std::chrono::hours(2));
  clock_.advance(std::chrono::hours(2) - std::chrono::microseconds(1));
  EXPECT_TRUE(usable(service, t));
  clock_.advance(std::chrono::microseconds(1));
  auto gone = service.usable_token(t);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
}

TEST_F(OnboardingServiceTest, TokenRequestsAreChecked) {
  auto service = with_broker();
  for (int hours : {0, 169}) {
    TokenRequest request{"Lobby", std::nullopt, hours, "admin-id"};
    auto refused = service.create_token(request, kBy);
    ASSERT_FALSE(refused) << hours;
    EXPECT_EQ(refused.error().code, Errc::invalid_input);
  }
  TokenRequest unnamed{"", std::nullopt, 24, "admin-id"};
  EXPECT_FALSE(service.create_token(unnamed, kBy));
  EXPECT_NE(token(service, 1), token(service, 168));
}

TEST_F(OnboardingServiceTest, MqttWithoutAdminAccountIsUnavailable) {
  OnboardingService service(*store_, clock_, mqtt(), nullptr);
  auto t = token(service);
  auto refused = service.register_sensor(registration(t, "rpi-01"), "127.0.0.1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_FALSE(sensor_exists("rpi-01"));
  EXPECT_TRUE(usable(service, t));
}

TEST_F(OnboardingServiceTest, WithoutMqttRegistersAnHttpSensor) {
  auto service = without_mqtt();
  auto request = registration(token(service), "rpi-01");
  request.details.latitude = 52.5;
  request.details.longitude = 13.4;
  auto done = service.register_sensor(std::move(request), "127.0.0.1");
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->sensor.transport_protocol, "http");
  EXPECT_FALSE(done->mqtt_password);
  auto stored = store_->find_sensor("rpi-01", clock_.now());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->location_method, "registration");
  EXPECT_EQ(stored->latitude, 52.5);
}

}  // namespace honeyman::service::test_support
