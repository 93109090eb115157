// Helpers for the alerting suites (SPEC §8, issue #16): a server with one user per role, two
// API-key sensors and (optionally) a Mosquitto broker; the alerting API as typed calls; a
// webhook receiver whose answers are recorded per request; checks of what arrived (HMAC
// signatures, JSON schemas). Every helper fails the test (gtest) on an unexpected answer and
// returns an empty value then, so a test stops at its first real difference.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "integration/harness.hpp"
#include "support/mosquitto.hpp"
#include "support/webhook_receiver.hpp"

namespace honeyman::testing::alerting_it {

// Small retry waits and HTTP timeouts: the suites' deliveries retry within a second.
std::map<std::string, std::string> alerting_env();

// A server (users root/ana/vic, API-key sensors "sensor-a" and "sensor-b"), with a broker when
// `with_broker` (the sensor-commands suite): the server's MQTT settings point at it.
struct AlertFleet {
  std::unique_ptr<MosquittoProcess> broker;
  std::unique_ptr<ServerProcess> server;
  std::string admin, analyst, viewer;  // access tokens
  std::string sensor_a_key, sensor_b_key;
  static std::unique_ptr<AlertFleet> start(std::map<std::string, std::string> env = {},
                                           bool with_broker = false);
};

// The alerting API of one server as one user. Each call checks the status it is expected to
// get (fails the test otherwise) and returns the body.
class AlertApi {
 public:
  AlertApi(const ServerProcess& server, std::string token);
  // POST /alerts/destinations → 201.
  boost::json::object create_destination(const boost::json::object& body);
  boost::json::object webhook(const std::string& name, const std::string& url,
                              const std::string& secret);
  // POST /alerts/rules → 201.
  boost::json::object create_rule(const boost::json::object& body);
  // A rule on `threat_types` alone (no threshold, cooldown 0 unless given) to `destinations`.
  boost::json::object simple_rule(const std::string& name,
                                  const std::vector<std::string>& threat_types,
                                  const std::vector<std::string>& destinations, int cooldown = 0);
  // GET /alerts?<query> (every page followed), newest first.
  boost::json::array alerts(const std::string& query);
  boost::json::array alerts_of_rule(const std::string& rule_id);
  // Waits (30 s at most) until the rule has at least `n` alerts; returns them.
  boost::json::array wait_alerts(const std::string& rule_id, std::size_t n);
  // GET /alerts/deliveries?<query> (every page followed).
  boost::json::array deliveries(const std::string& query);
  // Any request, unchecked.
  Reply call(std::string_view method, const std::string& target, const std::string& body = {});

 private:
  HttpClient client_;
  std::string token_;
};

// POST /threats as the sensor of `key` (201 expected); returns the stored threat's id. Each
// call's raw_event is unique, so no two threats share an id.
std::string post_threat(const ServerProcess& server, const std::string& key,
                        const std::string& sensor_id, const std::string& threat_type,
                        const std::string& severity = "high", const std::string& detector = "usb",
                        const boost::json::object& extra = {});

// A webhook receiver that records the status it gave each request (its index).
class RecordingReceiver {
 public:
  RecordingReceiver();
  // The status for the requests from now on.
  void answer(int status);
  // The same chosen per request: `policy(index)`, index counting every request from 0.
  void answer_with(std::function<int(std::size_t)> policy);
  WebhookReceiver& receiver() { return receiver_; }
  std::string url(std::string_view path = "/hook") const { return receiver_.url(path); }
  // The requests and the status each got, in arrival order.
  std::vector<std::pair<ReceivedRequest, int>> answered() const;
  // Requests answered 2xx per X-Honeyman-Delivery.
  std::map<std::string, int> successes_per_delivery() const;
  // Requests (any answer) per X-Honeyman-Delivery.
  std::map<std::string, int> attempts_per_delivery() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::size_t, int> statuses_;
  std::function<int(std::size_t)> policy_ = [](std::size_t) { return 200; };
  // Last: destroyed (its thread stopped) first, before what its policy writes to.
  WebhookReceiver receiver_;
};

// "sha256=<lower-case hex HMAC-SHA256(key, body)>", computed here with OpenSSL.
std::string expected_signature(const std::string& key, const std::string& body);
// "" when `document` is valid against tests/support/schemas/<schema> (python3-jsonschema,
// draft 2020-12 with formats), else the validator's complaints.
std::string schema_errors(const std::string& schema, const std::string& document);
// `o`'s "id" ("" when it has none: a failed creation, already reported).
std::string id_of(const boost::json::object& o);
// The ids of `items` (objects with "id").
std::set<std::string> ids_of(const boost::json::array& items);

}  // namespace honeyman::testing::alerting_it
