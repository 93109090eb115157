// MQTT ingestion end to end: a real Mosquitto, the real server, sensors onboarded through the
// API publishing with their own broker accounts; results read back over REST and the CLI.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>

#include "integration/mqtt_support.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// The current time as the field agent writes it (naive UTC).
std::string now_text() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return text;
}

constexpr const char* kWireSensor = "rpi5-defcon-01";  // the sensor the samples name

class MqttIngestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = MqttFleet::start().release();
    wire_ = new SensorCredentials(onboard(*fleet_->server, fleet_->admin, kWireSensor));
  }
  static void TearDownTestSuite() {
    delete wire_;
    delete fleet_;
  }
  static ServerProcess& server() { return *fleet_->server; }
  static std::string topic(const std::string& sensor, broker::TopicKind kind) {
    return broker::sensor_topic(sensor, kind);
  }
  // The newest threat of `sensor` with `threat_type`, once it is stored (null if it never is).
  static json::value find_threat(const std::string& sensor, const std::string& type) {
    json::value found;
    eventually([&] {
      auto reply = server().client().get(
          "/api/v2/threats?sensor_id=" + sensor + "&threat_type=" + type, bearer(fleet_->admin));
      auto body = reply.json();
      if (reply.status != 200 || body.at("threats").as_array().empty()) return false;
      found = body.at("threats").as_array().front();
      return true;
    });
    return found;
  }
  static json::object sensor_json(const std::string& id) {
    auto reply = server().client().get("/api/v2/sensors/" + id, bearer(fleet_->admin));
    EXPECT_EQ(reply.status, 200) << reply.body;
    auto body = reply.json();
    return body.is_object() ? body.as_object() : json::object{};
  }

  static MqttFleet* fleet_;
  static SensorCredentials* wire_;
};
MqttFleet* MqttIngestTest::fleet_ = nullptr;
SensorCredentials* MqttIngestTest::wire_ = nullptr;

TEST_F(MqttIngestTest, AgentThreatIsStoredNormalised) {
  auto sensor = connect_sensor(*fleet_->broker, *wire_);
  auto sample = json::serialize(wire_sample("agent-threat.json"));
  ASSERT_TRUE(sensor->publish(topic(kWireSensor, broker::TopicKind::threats), sample));
  auto t = find_threat(kWireSensor, "flipper_zero");
  ASSERT_TRUE(t.is_object()) << server().log();
  EXPECT_EQ(t.at("detector_type"), "ble");
  EXPECT_EQ(t.at("severity"), "critical");
  EXPECT_EQ(t.at("sensor_id"), kWireSensor);
  EXPECT_EQ(t.at("timestamp"), "2026-08-08T14:03:27.512904Z");
  EXPECT_EQ(t.at("matched_rules").as_array().front().at("name"), "Flipper Zero BLE Detection");
  EXPECT_TRUE(t.at("raw_event").as_object().contains("message"));
  EXPECT_DOUBLE_EQ(t.at("threat_score").as_double(), 0.82);
}

TEST_F(MqttIngestTest, AgentThreatWithoutLocationIsStored) {
  auto sensor = connect_sensor(*fleet_->broker, *wire_);
  auto sample = wire_sample("agent-threat-nolocation.json");
  auto type = std::string(sample.at("threat_type").as_string());
  ASSERT_TRUE(
      sensor->publish(topic(kWireSensor, broker::TopicKind::threats), json::serialize(sample)));
  auto t = find_threat(kWireSensor, type);
  ASSERT_TRUE(t.is_object()) << server().log();
  EXPECT_EQ(t.at("sensor_id"), kWireSensor);
}

TEST_F(MqttIngestTest, CanonicalThreatIsStoredAsGiven) {
  auto sensor = connect_sensor(*fleet_->broker, *wire_);
  auto sample = wire_sample("canonical-threat.json");
  ASSERT_TRUE(
      sensor->publish(topic(kWireSensor, broker::TopicKind::threats), json::serialize(sample)));
  auto t = find_threat(kWireSensor, "wifi_evil_twin");
  ASSERT_TRUE(t.is_object()) << server().log();
  EXPECT_EQ(t.at("detector_type"), "wifi");
  EXPECT_EQ(t.at("severity"), "high");
  EXPECT_EQ(t.at("city"), "Las Vegas");
  EXPECT_EQ(t.at("device_mac"), "02:11:22:33:44:55");
}

TEST_F(MqttIngestTest, ArrayOfAgentThreatsIsStoredWhole) {
  auto sensor = connect_sensor(*fleet_->broker, *wire_);
  auto batch = wire_sample("agent-http-batch.json").at("data").as_array();
  auto second = batch.front().as_object();
  second["threat_type"] = "ssh_brute_force_2";
  batch.push_back(second);
  auto before = stored_threats(server(), fleet_->admin, kWireSensor);
  ASSERT_TRUE(
      sensor->publish(topic(kWireSensor, broker::TopicKind::threats), json::serialize(batch)));
  EXPECT_TRUE(eventually([&] {
    return stored_threats(server(), fleet_->admin, kWireSensor) ==
           before + static_cast<std::int64_t>(batch.size());
  }));
  auto t = find_threat(kWireSensor, "ssh_brute_force");
  ASSERT_TRUE(t.is_object());
  EXPECT_EQ(t.at("detector_type"), "network");
}

TEST_F(MqttIngestTest, HeartbeatsBringTheSensorOnline) {
  auto creds = onboard(server(), fleet_->admin, "hb-agent");
  EXPECT_EQ(sensor_json("hb-agent").at("is_online"), false);
  auto sensor = connect_sensor(*fleet_->broker, creds);
  // Online means heard from lately: the samples' own timestamps are long past.
  auto heartbeat = wire_sample("agent-heartbeat.json").as_object();
  heartbeat["timestamp"] = now_text();
  ASSERT_TRUE(
      sensor->publish(topic("hb-agent", broker::TopicKind::heartbeat), json::serialize(heartbeat)));
  EXPECT_TRUE(eventually([&] { return sensor_json("hb-agent").at("is_online") == true; }))
      << server().log();
  EXPECT_TRUE(sensor_json("hb-agent").at("last_heartbeat").is_string());

  // Canonical shape: also moves the location.
  auto wire = connect_sensor(*fleet_->broker, *wire_);
  auto canonical = wire_sample("canonical-heartbeat.json").as_object();
  canonical["timestamp"] = now_text();
  ASSERT_TRUE(
      wire->publish(topic(kWireSensor, broker::TopicKind::heartbeat), json::serialize(canonical)));
  EXPECT_TRUE(eventually([&] {
    auto s = sensor_json(kWireSensor);
    return s.at("is_online") == true && s.at("latitude").is_double() &&
           s.at("latitude").as_double() == 36.1147;
  }));
}

TEST_F(MqttIngestTest, RegistrationMessageUpdatesTheSensor) {
  auto sensor = connect_sensor(*fleet_->broker, *wire_);
  ASSERT_TRUE(sensor->publish(topic(kWireSensor, broker::TopicKind::status),
                              json::serialize(wire_sample("agent-registration.json"))));
  EXPECT_TRUE(eventually([&] {
    auto s = sensor_json(kWireSensor);
    return s.at("agent_version") == "2.0.0" && s.at("capabilities").as_object().contains("airdrop");
  })) << server().log();
}

TEST_F(MqttIngestTest, ASensorCannotPublishAsAnother) {
  auto a = onboard(server(), fleet_->admin, "spoof-a");
  auto b = onboard(server(), fleet_->admin, "spoof-b");
  auto client = connect_sensor(*fleet_->broker, a);
  json::object threat{
      {"threat_type", "spoof_probe"}, {"detector_type", "usb"}, {"severity", "low"}};
  // On B's topic: the broker drops it (acknowledged, never delivered).
  ASSERT_TRUE(
      client->publish(topic("spoof-b", broker::TopicKind::threats), json::serialize(threat)));
  // On A's topic but naming B: delivered, refused as spoofed.
  auto named_b = threat;
  named_b["sensor_id"] = "spoof-b";
  ASSERT_TRUE(
      client->publish(topic("spoof-a", broker::TopicKind::threats), json::serialize(named_b)));
  // A's own message, published last, marks the point by which the others were handled.
  auto own = threat;
  own["threat_type"] = "own_probe";
  ASSERT_TRUE(client->publish(topic("spoof-a", broker::TopicKind::threats), json::serialize(own)));
  ASSERT_TRUE(find_threat("spoof-a", "own_probe").is_object()) << server().log();

  EXPECT_TRUE(eventually([&] {
    return dead_letters_on(server(), topic("spoof-a", broker::TopicKind::threats)).size() == 1;
  }));
  auto letters = dead_letters_on(server(), topic("spoof-a", broker::TopicKind::threats));
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_NE(std::string(letters[0].at("reason").as_string()).find("spoofed"), std::string::npos)
      << letters[0];
  EXPECT_EQ(stored_threats(server(), fleet_->admin, "spoof-b"), 0);
  EXPECT_EQ(stored_threats(server(), fleet_->admin, "spoof-a"), 1);
  EXPECT_TRUE(dead_letters_on(server(), topic("spoof-b", broker::TopicKind::threats)).empty())
      << "the broker should have dropped A's publish on B's topic";
}

TEST_F(MqttIngestTest, BadPayloadsAreDeadLetteredWhileGoodTrafficFlows) {
  auto creds = onboard(server(), fleet_->admin, "noisy");
  auto client = connect_sensor(*fleet_->broker, creds);
  // A broker account for a sensor the server does not know.
  ASSERT_EQ(fleet_->broker->ctrl({"dynsec", "createRole", "ghost-role"}).exit_code, 0);
  ASSERT_EQ(fleet_->broker
                ->ctrl({"dynsec", "addRoleACL", "ghost-role", "publishClientSend",
                        broker::sensor_topic_tree("ghost"), "allow", "5"})
                .exit_code,
            0);
  ASSERT_EQ(
      fleet_->broker->ctrl({"dynsec", "createClient", "ghost", "-p", "ghost-password"}).exit_code,
      0);
  ASSERT_EQ(fleet_->broker->ctrl({"dynsec", "addClientRole", "ghost", "ghost-role", "5"}).exit_code,
            0);
  MqttClient ghost("ghost");
  ASSERT_EQ(ghost.connect(fleet_->broker->port(), "ghost", "ghost-password"), 0);

  auto good = [](int i) {
    return json::serialize(json::object{{"threat_type", "good_" + std::to_string(i)},
                                        {"detector_type", "usb"},
                                        {"severity", "low"}});
  };
  auto t = topic("noisy", broker::TopicKind::threats);
  ASSERT_TRUE(client->publish(t, good(0)));
  ASSERT_TRUE(client->publish(t, "{\"threat_type\": \"broken\""));  // malformed JSON
  ASSERT_TRUE(client->publish(t, good(1)));
  ASSERT_TRUE(client->publish(t, json::serialize(json::object{{"threat_type", "typed"},
                                                              {"detector_type", "usb"},
                                                              {"severity", "low"},
                                                              {"threat_score", "very high"}})));
  ASSERT_TRUE(client->publish(t, good(2)));
  ASSERT_TRUE(client->publish(t, std::string(300 * 1024, 'x')));  // oversized
  ASSERT_TRUE(client->publish(t, good(3)));
  ASSERT_TRUE(client->publish(
      t, json::serialize(json::object{
             {"threat_type", "range"}, {"detector_type", "usb"}, {"severity", "apocalyptic"}})));
  ASSERT_TRUE(ghost.publish(topic("ghost", broker::TopicKind::threats), good(99)));
  ASSERT_TRUE(client->publish(topic("noisy", broker::TopicKind::heartbeat), "[1, 2, 3]"));
  ASSERT_TRUE(client->publish(t, good(4)));

  EXPECT_TRUE(eventually([&] { return stored_threats(server(), fleet_->admin, "noisy") == 5; }))
      << server().log();
  std::vector<json::object> letters;
  EXPECT_TRUE(eventually([&] {
    letters = dead_letters_on(server(), t);
    return letters.size() == 4;
  }));
  std::string reasons;
  for (auto& d : letters) reasons += std::string(d.at("reason").as_string()) + "\n";
  EXPECT_NE(reasons.find("malformed JSON"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("payload too large"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("threat_score"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("severity"), std::string::npos) << reasons;
  EXPECT_TRUE(eventually([&] {
    return dead_letters_on(server(), topic("ghost", broker::TopicKind::threats)).size() == 1;
  }));
  auto ghost_letters = dead_letters_on(server(), topic("ghost", broker::TopicKind::threats));
  ASSERT_EQ(ghost_letters.size(), 1u);
  EXPECT_NE(std::string(ghost_letters[0].at("reason").as_string()).find("unknown sensor"),
            std::string::npos);
  EXPECT_TRUE(eventually([&] {
    return dead_letters_on(server(), topic("noisy", broker::TopicKind::heartbeat)).size() == 1;
  }));
  EXPECT_EQ(server().client().get("/health").status, 200);
}

TEST_F(MqttIngestTest, DeletedOrDisabledSensorsCannotConnect) {
  auto creds = onboard(server(), fleet_->admin, "doomed");
  connect_sensor(*fleet_->broker, creds);
  auto client = server().client();
  ASSERT_EQ(
      client
          .put("/api/v2/sensors/doomed", json::object{{"is_active", false}}, bearer(fleet_->admin))
          .status,
      200);
  EXPECT_NE(MqttClient("doomed-1")
                .connect(fleet_->broker->port(), creds.mqtt_username, creds.mqtt_password),
            0);
  ASSERT_EQ(
      client.put("/api/v2/sensors/doomed", json::object{{"is_active", true}}, bearer(fleet_->admin))
          .status,
      200);
  EXPECT_EQ(MqttClient("doomed-2")
                .connect(fleet_->broker->port(), creds.mqtt_username, creds.mqtt_password),
            0);
  ASSERT_EQ(client.del("/api/v2/sensors/doomed", bearer(fleet_->admin)).status, 200);
  EXPECT_NE(MqttClient("doomed-3")
                .connect(fleet_->broker->port(), creds.mqtt_username, creds.mqtt_password),
            0);
}

TEST_F(MqttIngestTest, CliDeleteRemovesTheBrokerAccount) {
  auto creds = onboard(server(), fleet_->admin, "cli-doomed");
  connect_sensor(*fleet_->broker, creds);
  auto r = server().cli({"sensor", "delete", "cli-doomed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(MqttClient("cli-doomed")
                .connect(fleet_->broker->port(), creds.mqtt_username, creds.mqtt_password),
            0);
  EXPECT_EQ(server().client().get("/api/v2/sensors/cli-doomed", bearer(fleet_->admin)).status, 404);
}

}  // namespace
}  // namespace honeyman::testing

namespace honeyman::testing {
namespace {

// Threats stored for the sensors a simulate run saved to `credentials`. Counting only these keeps
// the figure exact while earlier tests' traffic may still be arriving.
std::int64_t simulated_threats(ServerProcess& server, const std::string& token,
                               const std::string& credentials) {
  std::ifstream in(credentials);
  std::stringstream text;
  text << in.rdbuf();
  auto saved = json::parse(text.str());
  std::string ids;
  for (const auto& s : saved.as_array())
    ids += (ids.empty() ? "" : ",") + std::string(s.at("sensor_id").as_string());
  auto reply = server.client().get("/api/v2/threats?page_size=1&sensor_id=" + ids, bearer(token));
  auto body = reply.json();
  return body.at("total").as_int64();
}

TEST_F(MqttIngestTest, SimulateOnboardsPublishesAndEverythingIsStored) {
  // Per process: the SQLite and PostgreSQL variants of this suite run at the same time.
  auto credentials =
      ::testing::TempDir() + "/simulate-sensors-" + std::to_string(getpid()) + ".json";
  std::remove(credentials.c_str());
  auto api = "http://127.0.0.1:" + std::to_string(server().port());
  auto run =
      run_load_tool({"simulate", "--admin", "root", "--password-stdin", "--sensors", "3", "--rate",
                     "100", "--duration", "2", "--credentials", credentials, "--api", api},
                    server().env(), "admin-password-1\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.out, m, std::regex(R"(sent (\d+) threats)"))) << run.out;
  auto sent = std::stoll(m[1]);
  EXPECT_GE(sent, 150);
  EXPECT_NE(run.out.find("acknowledged by broker"), std::string::npos);
  EXPECT_TRUE(eventually([&] {
    return simulated_threats(server(), fleet_->admin, credentials) == sent;
  })) << simulated_threats(server(), fleet_->admin, credentials)
      << " of " << sent << "\n"
      << run.err;
  // A second run reuses the saved credentials: no new sensors. It finds the API through the
  // server's settings file instead of --api.
  auto sensors_before = server().client().get("/api/v2/sensors", bearer(fleet_->admin)).json();
  auto env_file = credentials + ".env";
  std::ofstream(env_file) << "PORT=" << server().port() << "\nAPI_PREFIX=/api/v2\n";
  auto again =
      run_load_tool({"simulate", "--admin", "root", "--password-stdin", "--sensors", "3", "--rate",
                     "10", "--duration", "1", "--credentials", credentials, "--env-file", env_file},
                    {}, "admin-password-1\n");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto sensors_after = server().client().get("/api/v2/sensors", bearer(fleet_->admin)).json();
  EXPECT_EQ(sensors_after.at("total"), sensors_before.at("total"));
}

}  // namespace
}  // namespace honeyman::testing
