#include "integration/mqtt_support.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

namespace honeyman::testing {

std::unique_ptr<MqttFleet> MqttFleet::start(std::map<std::string, std::string> env) {
  auto f = std::make_unique<MqttFleet>();
  f->broker = std::make_unique<MosquittoProcess>();
  f->broker->start();
  auto all = f->broker->server_env();
  for (auto& [k, v] : env) all[k] = v;
  f->server = std::make_unique<ServerProcess>(all);
  f->server->add_user("root", "admin", "admin-password-1");
  f->server->start();
  f->admin = f->server->login("root", "admin-password-1");
  // Ready means the store answers and the ingest subscriber is connected.
  EXPECT_TRUE(eventually([&] { return f->server->client().get("/ready").status == 200; }))
      << f->server->log();
  return f;
}

std::string mint_token(ServerProcess& server, const std::string& admin_token,
                       const std::string& sensor_name, int validity_hours) {
  auto reply = server.client().post(
      "/api/v2/onboarding/tokens",
      boost::json::object{{"sensor_name", sensor_name}, {"validity_hours", validity_hours}},
      bearer(admin_token));
  EXPECT_EQ(reply.status, 201) << reply.body;
  auto body = reply.json();
  if (!body.is_object()) return {};
  return std::string(body.at("token").as_string());
}

SensorCredentials onboard(ServerProcess& server, const std::string& admin_token,
                          const std::string& sensor_id) {
  auto token = mint_token(server, admin_token, "Sensor " + sensor_id);
  auto reply = server.client().post(
      "/api/v2/onboarding/register",
      boost::json::object{{"onboarding_token", token},
                          {"sensor_id", sensor_id},
                          {"platform", "rpi5"},
                          {"capabilities", boost::json::object{{"ble", true}}}});
  EXPECT_EQ(reply.status, 201) << reply.body;
  SensorCredentials c;
  auto body = reply.json();
  if (!body.is_object()) return c;
  c.raw = body.as_object();
  c.sensor_id = std::string(c.raw.at("sensor_id").as_string());
  if (c.raw.at("mqtt_username").is_string()) {
    c.mqtt_username = std::string(c.raw.at("mqtt_username").as_string());
    c.mqtt_password = std::string(c.raw.at("mqtt_password").as_string());
  }
  c.api_key = std::string(c.raw.at("api_key").as_string());
  return c;
}

std::int64_t stored_threats(ServerProcess& server, const std::string& token,
                            const std::string& sensor_id) {
  auto reply =
      server.client().get("/api/v2/threats?page_size=1&sensor_id=" + sensor_id, bearer(token));
  if (reply.status != 200) return -1;
  auto body = reply.json();
  return body.at("total").as_int64();
}

std::vector<boost::json::object> dead_letters(const ServerProcess& server, int limit) {
  auto r = server.cli({"dead-letters", "--limit", std::to_string(limit)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<boost::json::object> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) out.push_back(boost::json::parse(line).as_object());
  return out;
}

std::vector<boost::json::object> dead_letters_on(const ServerProcess& server,
                                                 const std::string& topic) {
  std::vector<boost::json::object> out;
  for (auto& d : dead_letters(server))
    if (d.at("topic").as_string() == topic) out.push_back(d);
  return out;
}

std::unique_ptr<MqttClient> connect_sensor(const MosquittoProcess& broker,
                                           const SensorCredentials& sensor,
                                           const std::string& client_suffix) {
  auto client = std::make_unique<MqttClient>(sensor.sensor_id + client_suffix);
  EXPECT_EQ(client->connect(broker.port(), sensor.mqtt_username, sensor.mqtt_password), 0)
      << "sensor " << sensor.sensor_id << " refused by the broker";
  return client;
}

}  // namespace honeyman::testing
