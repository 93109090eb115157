// Test support for MQTT: a real Mosquitto broker on loopback (dynamic security on, persistence on,
// a throwaway directory) and a small synchronous MQTT client for tests to publish and subscribe
// with. Both fail loudly (gtest failures) when Mosquitto is missing: tests never skip silently.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace honeyman::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

// A Mosquitto 2 broker with the dynamic-security plugin, listening on 127.0.0.1 on a free port.
// The port and the data directory (dynamic-security JSON, persistence database) survive stop()
// and start(), so a test can restart the broker and keep its accounts and queued messages.
class MosquittoProcess {
 public:
  MosquittoProcess();   // writes the config and initialises dynamic security; does not start
  ~MosquittoProcess();  // kills the broker and removes the directory
  MosquittoProcess(const MosquittoProcess&) = delete;
  MosquittoProcess& operator=(const MosquittoProcess&) = delete;

  void start();  // waits until the port accepts connections (fails the test otherwise)
  void stop(int signal = 15);  // SIGTERM lets it write its persistence file; waits for exit
  bool running() const;

  std::uint16_t port() const { return port_; }
  const std::string& admin_username() const { return admin_user_; }
  const std::string& admin_password() const { return admin_password_; }
  std::string log() const;

  // `mosquitto_ctrl -h 127.0.0.1 -p PORT -u admin -P pass <args>`.
  ProcessResult ctrl(const std::vector<std::string>& args) const;
  // The MQTT_* settings that point a honeyman server at this broker (admin and server account).
  std::map<std::string, std::string> server_env() const;

 private:
  std::string dir_;
  std::string admin_user_ = "dynsec-admin";
  std::string admin_password_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool started_once_ = false;

  void write_config() const;
};

// One received message.
struct MqttMessage {
  std::string topic;
  std::string payload;
};

// A blocking MQTT 3.1.1 client (libmosquitto, its own network thread). Not thread-safe: one
// client per test thread.
class MqttClient {
 public:
  explicit MqttClient(std::string client_id, bool clean_session = true);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Connects and waits for the CONNACK: 0 when accepted, the CONNACK code when refused
  // (5: not authorised), -1 when the TCP connection failed or nothing came back in time.
  int connect(std::uint16_t port, const std::string& username, const std::string& password);
  void disconnect();
  bool connected() const;

  // Publishes and, for QoS 1, waits for the broker's PUBACK. False on timeout or error.
  bool publish(const std::string& topic, const std::string& payload, int qos = 1,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Publishes without waiting; returns false only when the library refused at once.
  bool publish_nowait(const std::string& topic, const std::string& payload, int qos = 1);
  // QoS 1 publishes not yet acknowledged by the broker.
  std::size_t unacknowledged() const;
  // Waits until every publish so far was acknowledged (true) or the timeout passed (false).
  bool wait_acknowledged(std::chrono::milliseconds timeout);
  std::uint64_t acknowledged() const;

  bool subscribe(const std::string& filter, int qos = 1);
  // Subscribes and returns the SUBACK's code for the filter: the granted QoS (0..2), or 128
  // when the broker refused it (MQTT 3.1.1 §3.9.3: an ACL denial); -1 when no SUBACK came.
  int subscribe_granted(const std::string& filter, int qos = 1);
  std::optional<MqttMessage> next_message(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace honeyman::testing
