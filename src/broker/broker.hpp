// broker: the MQTT connection settings and the administration of broker accounts through
// Mosquitto's dynamic-security plugin (JSON commands on `$CONTROL/dynamic-security/v1`, answers
// on `.../response`). No broker restart or password file is ever needed.
//
// Accounts:
//  - the server's own subscriber account (MQTT_BROKER_USERNAME) with role `honeyman-server`:
//    subscribe to honeyman/sensors/# (plain and `$share/<group>/...`), publish to the control
//    topics; created or repaired idempotently at start;
//  - one account per sensor, user name = sensor id, with role `honeyman-sensor-<id>`: publish
//    only under honeyman/sensors/<id>/#, subscribe to and receive only honeyman/control/<id>,
//    honeyman/dashboard/commands/<id> and honeyman/dashboard/updates/<id>.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

namespace honeyman::broker {

struct BrokerConfig {
  std::string host;  // MQTT_BROKER_HOST; empty: MQTT is off (no ingest, no broker accounts)
  std::uint16_t port = 1883;
  bool use_tls = false;
  std::string ca_cert;                         // PEM file; empty with TLS: the system's trust store
  std::string username, password;              // the server's subscriber account
  std::string admin_username, admin_password;  // dynamic-security admin; empty: no admin
  std::string public_host;                     // told to sensors; default: host
  std::uint16_t public_port = 0;               // default: port
  std::string shared_group;                    // MQTT_SHARED_GROUP; empty: plain subscription
  std::string client_id;                       // the subscriber's fixed client id
  std::chrono::milliseconds timeout{5000};     // for one admin request

  bool enabled() const { return !host.empty(); }
  bool can_administer() const { return enabled() && !admin_username.empty(); }
};

// ---------------------------------------------------------------------------------------------
// The topic grammar (SPEC §4), built and parsed only here. Pure functions, thread-safe.
//
// A sensor publishes on honeyman/sensors/<sensor id>/<kind>; the sensor id is a valid sensor id
// (honeyman::is_valid_sensor_id), so it is one topic level without wildcards.
enum class TopicKind { threats, heartbeat, status };
inline constexpr TopicKind kTopicKinds[] = {TopicKind::threats, TopicKind::heartbeat,
                                            TopicKind::status};
std::string_view to_string(TopicKind kind);  // "threats", "heartbeat", "status"

std::string sensor_topic(std::string_view sensor_id, TopicKind kind);
// honeyman/sensors/<sensor id>/#: every topic the sensor may publish on (its ACL).
std::string sensor_topic_tree(std::string_view sensor_id);
// Every sensor topic: what the server's account may subscribe to and receive.
inline constexpr std::string_view kAllSensorTopics = "honeyman/sensors/#";

struct SensorTopic {
  std::string sensor_id;
  TopicKind kind = TopicKind::threats;
};
// The sensor and kind of a topic built by sensor_topic(); nullopt for any other topic (another
// tree, an invalid sensor id, an unknown kind, extra or missing levels).
std::optional<SensorTopic> parse_sensor_topic(std::string_view topic);

// The server's subscription: honeyman/sensors/+/<kind> for each kind, each as
// $share/<shared_group>/honeyman/sensors/+/<kind> when `shared_group` is not empty (the broker
// then splits the messages between the group's members).
std::vector<std::string> sensor_topic_filters(std::string_view shared_group);

std::string control_topic(std::string_view sensor_id);
std::string dashboard_command_topic(std::string_view sensor_id);
// honeyman/dashboard/updates/<id>: rule updates for the field agent (SPEC §8).
std::string dashboard_update_topic(std::string_view sensor_id);
// The dynamic-security role of a sensor account.
std::string sensor_role(std::string_view sensor_id);
inline constexpr std::string_view kServerRole = "honeyman-server";

// Administers accounts. Every call is one request/response exchange with the broker over a
// short-lived admin connection, so a broker restart between calls needs no special handling.
// Thread-safe (calls are serialised). Errors: Errc::unavailable when the broker cannot be reached
// or does not answer within config.timeout; Errc::internal when the broker refused a command
// (the message carries the broker's reason); Errc::conflict as said below.
class Admin {
 public:
  virtual ~Admin() = default;

  // Creates or repairs the server's account and role (password reset to config.password).
  virtual Status ensure_server_account() = 0;
  // A sensor account is one that holds the role sensor_role(<its name>), as created here; any
  // other account is never changed or deleted by the three calls below.
  //
  // Creates the sensor's account and role, or repairs an existing sensor account of that name
  // in place (role ACLs, new password, enabled); never deletes anything. Errc::conflict when an
  // account of that name exists and is not a sensor account.
  virtual Status create_sensor_account(std::string_view sensor_id, std::string_view password) = 0;
  // Disables / re-enables the sensor account (a disabled account cannot connect; connected
  // sessions are closed by the broker); success without a change when there is none.
  virtual Status set_sensor_enabled(std::string_view sensor_id, bool enabled) = 0;
  // Deletes the sensor account and its role; deleting what does not exist is success (an
  // account of that name that is not a sensor's is left alone).
  virtual Status delete_sensor_account(std::string_view sensor_id) = 0;
  // Brings the roles of existing sensor accounts up to this version's ACLs (a sensor role made
  // before the updates topic existed cannot read it). Returns how many roles changed. Sensors
  // without an account are skipped.
  virtual Result<int> upgrade_sensor_roles(const std::vector<std::string>& sensor_ids) = 0;
  // A round trip to the broker with the admin account, for /ready.
  virtual Status ping() = 0;
};

// Errc::invalid_input when the config cannot administer (no host or no admin account).
Result<std::unique_ptr<Admin>> make_admin(const BrokerConfig& config);

// A QoS 1 subscriber with a persistent session (clean session off, fixed client id
// config.client_id, account config.username) that reconnects with exponential backoff (1 s to
// 30 s) and subscribes again after every connect.
//
// The handler runs on the client's network thread, after the library has already sent the
// PUBACK (libmosquitto acknowledges QoS 1 before calling the application; see DECISIONS.md).
// While the handler blocks, nothing more is read from the socket, so a slow consumer pushes back
// on the broker, which queues for the persistent session, instead of growing memory here.
class Subscriber {
 public:
  using Handler = std::function<void(std::string_view topic, std::string_view payload)>;
  virtual ~Subscriber() = default;
  // Disconnects cleanly and joins the network thread: when it returns the handler has returned
  // for the last time. Messages the broker sent but we did not read stay unacknowledged and are
  // delivered again to the next session. Idempotent.
  virtual void stop() = 0;
  virtual bool connected() const = 0;
};

// Starts connecting (in the background; the broker need not be up yet). Errc::invalid_input for
// an unusable config.
Result<std::unique_ptr<Subscriber>> start_subscriber(const BrokerConfig& config,
                                                     std::vector<std::string> filters,
                                                     Subscriber::Handler handler);

// A plain MQTT publisher with its own network thread (the simulator's sensors, tools).
// Thread-safe. QoS 1 publishes are retried by the library across reconnects.
class Publisher {
 public:
  virtual ~Publisher() = default;
  // Queues a publish; false when the library refused it at once.
  virtual bool publish(const std::string& topic, std::string_view payload, int qos) = 0;
  virtual std::uint64_t acknowledged() const = 0;  // PUBACKs received (QoS 1)
  virtual bool connected() const = 0;
  virtual void stop() = 0;  // disconnects and joins the network thread; idempotent
};

// Connects with `username`/`password` to config.host:port (TLS per config) and waits for the
// CONNACK. Errc::unauthorized when the broker refuses the login, Errc::unavailable when it
// cannot be reached or does not answer within config.timeout.
Result<std::unique_ptr<Publisher>> connect_publisher(const BrokerConfig& config,
                                                     const std::string& client_id,
                                                     const std::string& username,
                                                     const std::string& password);

}  // namespace honeyman::broker
