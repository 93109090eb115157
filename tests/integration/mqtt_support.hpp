// Helpers for the MQTT integration suites: a server wired to a real Mosquitto, onboarding through
// the real API, and reading back what the server stored. Topics come from broker's grammar
// (broker::sensor_topic ...).
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.hpp"
#include "integration/harness.hpp"
#include "support/mosquitto.hpp"

namespace honeyman::testing {

// A broker plus a server using it (admin account, subscriber account), with one admin user.
struct MqttFleet {
  std::unique_ptr<MosquittoProcess> broker;
  std::unique_ptr<ServerProcess> server;
  std::string admin;  // access token of user "root"
  static std::unique_ptr<MqttFleet> start(std::map<std::string, std::string> env = {});
};

// What /onboarding/register hands a sensor.
struct SensorCredentials {
  std::string sensor_id, mqtt_username, mqtt_password, api_key;
  boost::json::object raw;  // the whole answer
};

// Mints a token (as admin) and returns it.
std::string mint_token(ServerProcess& server, const std::string& admin_token,
                       const std::string& sensor_name = "Test sensor", int validity_hours = 24);
// Mints a token and registers `sensor_id` with it; fails the test on any error.
SensorCredentials onboard(ServerProcess& server, const std::string& admin_token,
                          const std::string& sensor_id);

// `total` of GET /threats filtered by sensor (exact: sensor filters are answered from counters).
std::int64_t stored_threats(ServerProcess& server, const std::string& token,
                            const std::string& sensor_id);
// `honeyman dead-letters` parsed, newest first.
std::vector<boost::json::object> dead_letters(const ServerProcess& server, int limit = 1000);
// The dead letters whose topic is `topic`.
std::vector<boost::json::object> dead_letters_on(const ServerProcess& server,
                                                 const std::string& topic);

// A connected sensor client (fails the test if the broker refuses it).
std::unique_ptr<MqttClient> connect_sensor(const MosquittoProcess& broker,
                                           const SensorCredentials& sensor,
                                           const std::string& client_suffix = "");

}  // namespace honeyman::testing
