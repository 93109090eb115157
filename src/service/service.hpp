// service: the product's rules for onboarding, sensors, threats and users, between the callers
// that parse and authorise (REST routes in `api`, CLI commands in `app`) and the Store. A caller
// hands over values it has already parsed; a service checks the rules, orders the steps across
// the store and the broker, undoes earlier steps when a later one fails, and answers with
// Result/Errc and the message the REST API shows.
//
// Contract shared by every service:
//  - every method blocks (database, broker, argon2id): call it from a BlockingPool, never from a
//    network thread;
//  - every method is thread-safe; services hold no mutable state of their own;
//  - errors: the Store's (Errc::not_found, conflict, unavailable, internal) pass through unless a
//    method says otherwise; Errc::invalid_input carries FieldErrors located as the REST API
//    reports them ({"body", field});
//  - the time comes from the injected Clock; references given to a constructor must outlive
//    the service;
//  - a method that changes something takes the `by` who changes it, and its audit record is
//    written by the change's own store transaction (SPEC §7 Audit log).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.hpp"
#include "broker/broker.hpp"
#include "core/core.hpp"
#include "domain/domain.hpp"
#include "store/store.hpp"

namespace honeyman::service {

// ---------------------------------------------------------------------------------------------
// Onboarding (SPEC §2): an admin mints a single-use token; a sensor trades it, once, for its
// identity (sensor row, API key and, with MQTT, a broker account).
struct TokenRequest {
  std::string sensor_name;  // 1..128 characters
  std::optional<std::string> description;
  int validity_hours = 24;  // kMinValidityHours..kMaxValidityHours
  std::string created_by;   // user id
};

struct IssuedToken {
  std::string token;           // handed out once; only its SHA-256 is stored
  store::OnboardingToken row;  // as stored
};

struct RegistrationRequest {
  std::string onboarding_token;
  std::string sensor_id;
  // What the agent tells about itself: platform, architecture, agent_version, python_version,
  // capabilities and location fields. Identity, name and times are set by the service.
  domain::Sensor details;
};

struct RegisteredSensor {
  domain::Sensor sensor;                     // as created
  std::string api_key;                       // shown once; stored hashed
  std::optional<std::string> mqtt_password;  // set when a broker account was created
};

class OnboardingService {
 public:
  static constexpr int kMinValidityHours = 1;
  static constexpr int kMaxValidityHours = 168;

  // `broker`: MQTT settings (whether sensors use MQTT, the account names a sensor may not take).
  // `admin`: creates and deletes sensor broker accounts; null when MQTT is off or has no admin
  // account (then registration with MQTT configured is Errc::unavailable).
  OnboardingService(store::Store& store, const Clock& clock, broker::BrokerConfig broker,
                    broker::Admin* admin);

  // A new token valid for request.validity_hours from now. Errc::invalid_input for an empty
  // name or validity outside 1..168 h.
  Result<IssuedToken> create_token(const TokenRequest& request, const store::Actor& by);

  // Creates the sensor row and API key, then the broker account, then spends the token. When a
  // later step fails the earlier ones are undone, so a failed registration leaves nothing behind
  // and does not burn the token (docs/DECISIONS.md, Onboarding). Errors:
  //  - Errc::unavailable: MQTT without an admin account, or the broker account cannot be made;
  //  - Errc::unauthorized: the token is unknown, expired or used (also when a concurrent
  //    registration spent it while this one ran: then this sensor and account are removed);
  //  - Errc::conflict: the sensor id is taken, is one of the broker's own account names, or
  //    names a broker account that is not a Honeyman sensor's (left as it was);
  //  - Errc::invalid_input: the sensor id is not [A-Za-z0-9._-]{1,64}.
  // The audit record names the sensor as actor (role "sensor") from `client_addr`.
  Result<RegisteredSensor> register_sensor(RegistrationRequest request,
                                           std::string_view client_addr);

  // The token's row while it can still be used (the QR code's data). Errc::not_found when it is
  // unknown, used or expired.
  Result<store::OnboardingToken> usable_token(std::string_view token);

 private:
  Status check_reserved(const std::string& sensor_id) const;
  void undo_registration(const std::string& sensor_id, bool with_account);

  store::Store& store_;
  const Clock& clock_;
  broker::BrokerConfig broker_;
  broker::Admin* admin_;
};

// ---------------------------------------------------------------------------------------------
// Sensors (SPEC §2 Sensors; the CLI's `sensor ...`).
struct SensorFilter {
  std::optional<bool> is_active, is_online;
  int page = 1;
  int page_size = 50;
};

struct NewSensor {
  std::string sensor_id;  // [A-Za-z0-9._-]{1,64}
  std::string name;       // 1..128 characters
  std::optional<std::string> description;
};

struct AddedSensor {
  domain::Sensor sensor;
  std::string api_key;  // shown once; stored hashed
};

class SensorService {
 public:
  // `heartbeat_interval`: a sensor is online for three of these after it was last seen.
  // `admin`: the broker accounts follow the sensors (null: not managed). `auth`: this process's
  // API-key cache, emptied for a sensor whose keys stop working (null where there is none).
  SensorService(store::Store& store, const Clock& clock, std::chrono::seconds heartbeat_interval,
                broker::Admin* admin, auth::AuthService* auth);

  Result<store::SensorPage> list(const SensorFilter& filter);  // newest first
  Result<domain::Sensor> find(std::string_view sensor_id);
  Result<domain::SensorStats> stats(std::string_view sensor_id);

  // Applies a partial update. When is_active is set, the broker account is enabled/disabled
  // first, so a broker failure (Errc::unavailable) changes nothing; deactivating also stops the
  // sensor's API key on this instance at once. Errc::not_found for an unknown sensor.
  Result<domain::Sensor> update(std::string_view sensor_id, const domain::SensorUpdate& update,
                                const store::Actor& by);

  // Deletes the broker account first (a broker failure is Errc::unavailable and deletes
  // nothing, so the call can be retried), then the sensor and its API key; its threats stay as
  // history. Errc::not_found for an unknown sensor.
  Status remove(std::string_view sensor_id, const store::Actor& by);

  // Records a heartbeat of an existing sensor; Errc::not_found ("Sensor not found") otherwise.
  Status record_heartbeat(const domain::Heartbeat& heartbeat);

  // Adds an HTTP sensor with a new API key (no onboarding token, no broker account).
  // Errc::invalid_input for a bad id or name, Errc::conflict when the id is taken.
  Result<AddedSensor> add(const NewSensor& sensor, const store::Actor& by);

  // Revokes the sensor's API key; with `issue_new`, a replacement is stored and returned (else
  // the empty string). Other instances stop accepting the old key within their cache time.
  Result<std::string> revoke_key(std::string_view sensor_id, bool issue_new,
                                 const store::Actor& by);

 private:
  Error broker_failure(const Error& e) const;

  store::Store& store_;
  const Clock& clock_;
  std::chrono::seconds heartbeat_interval_;
  broker::Admin* admin_;
  auth::AuthService* auth_;
};

// ---------------------------------------------------------------------------------------------
// Threats (SPEC §2 Threats): reading and analyst actions. Ingest is ingest::ThreatWriter's.
class ThreatService {
 public:
  static constexpr std::size_t kMaxBulkIds = 10'000;

  // `bulk_max_rows`: the most threats one bulk change by filter may touch (BULK_MAX_ROWS).
  ThreatService(store::Store& store, const Clock& clock, std::int64_t bulk_max_rows = 100'000);

  Result<store::ThreatPage> query(const store::ThreatQuery& query);
  Result<domain::Threat> find(std::string_view threat_id);
  // Records the caller and the time as the acknowledgement (acknowledging again overwrites) and
  // moves a `new` threat to `acknowledged`.
  Result<domain::Threat> acknowledge(std::string_view threat_id, std::optional<std::string> notes,
                                     const store::Actor& by);
  // Status, assignee and a note, as `by`; every change goes into the threat's history.
  // Errc::invalid_input for an assignee who is not an active user.
  Result<domain::Threat> update(std::string_view threat_id, const store::ThreatChange& change,
                                const store::Actor& by);
  Result<std::vector<store::HistoryEntry>> history(std::string_view threat_id);
  // Errc::invalid_input: no ids and no filter, both, more than kMaxBulkIds ids, nothing to set,
  // an assignee who is not an active user, or a filter matching more than bulk_max_rows.
  Result<store::BulkOutcome> bulk_update(const store::ThreatSelection& selection,
                                         const store::ThreatChange& change, const store::Actor& by);
  // Deletes the threat and takes it out of the counts.
  Status remove(std::string_view threat_id, const store::Actor& by);
  // A user posting threats on behalf of sensors may only name sensors that exist:
  // Errc::invalid_input ({"body", "sensor_id"}, "Unknown sensor '<id>'") otherwise.
  Status check_known_sensors(const std::vector<domain::Threat>& threats);

 private:
  Status check_assignee(const store::ThreatChange& change);

  store::Store& store_;
  const Clock& clock_;
  std::int64_t bulk_max_rows_;
};

// ---------------------------------------------------------------------------------------------
// Dashboard users (the CLI's `user ...` and the admin's /users routes). A change of role, active
// flag or password ends the user's sessions: its refresh families are revoked and access tokens
// issued before the change stop working (tokens_valid_after; running servers pick that up within
// their revocation poll). Nothing leaves the product without an active admin (Errc::conflict).
struct NewUser {
  std::string username;  // [A-Za-z0-9._@-]{1,64}
  std::string password;  // 8..1024 bytes
  domain::Role role = domain::Role::viewer;
  std::optional<std::string> email, full_name;
};

// What PATCH /users/{id} may change (the password has its own route).
struct UserUpdate {
  std::optional<domain::Role> role;
  std::optional<bool> is_active;
  std::optional<std::optional<std::string>> email, full_name;  // inner nullopt: clear
  bool empty() const { return !role && !is_active && !email && !full_name; }
};

class UserService {
 public:
  UserService(store::Store& store, const Clock& clock);

  // Errc::invalid_input for a bad username or password, Errc::conflict when the username or
  // email is taken.
  Result<domain::User> add(const NewUser& user, const store::Actor& by);
  Result<std::vector<domain::User>> list();
  Result<store::UserPage> list(const store::UserQuery& query);
  // Errc::not_found ("no user '<name>'") for an unknown user, here and below.
  Result<domain::User> find(std::string_view username);
  Result<domain::User> find_by_id(std::string_view user_id);
  Result<domain::User> set_role(std::string_view username, domain::Role role,
                                const store::Actor& by);
  // Disabling stops the user's logins and sessions; enabling lets them log in again.
  Result<domain::User> set_active(std::string_view username, bool active, const store::Actor& by);
  // Errc::invalid_input when the password breaks the policy (nothing is changed).
  Result<domain::User> set_password(std::string_view username, std::string_view password,
                                    const store::Actor& by);

  // By id (REST). Errc::not_found "User not found".
  Result<domain::User> update(std::string_view user_id, const UserUpdate& update,
                              const store::Actor& by);
  Result<domain::User> reset_password(std::string_view user_id, std::string_view password,
                                      const store::Actor& by);
  Status remove(std::string_view user_id, const store::Actor& by);
  // One's own password: Errc::bad_request when `current` is wrong (nothing changes), then as
  // set_password (the caller's other sessions end too).
  Result<domain::User> change_own_password(std::string_view user_id, std::string_view current,
                                           std::string_view replacement, const store::Actor& by);

 private:
  // Writes only the columns of `change` (ending the user's sessions and tokens when it changes
  // role, active flag or password) with its audit record, in one store transaction: a
  // concurrent login or another change cannot undo it.
  Result<domain::User> apply(const domain::User& user, const store::UserChange& change,
                             const store::Actor& by, std::string_view action);
  Result<domain::User> apply(std::string_view username, const store::UserChange& change,
                             const store::Actor& by, std::string_view action);
  Result<std::string> hash_new_password(std::string_view password);

  store::Store& store_;
  const Clock& clock_;
};

// ---------------------------------------------------------------------------------------------
// Sensor commands and rule updates (SPEC §8), published to the field agent over MQTT.
struct NewCommand {
  std::string kind = "command";  // command|rule_update
  std::string command;           // the command's name; "rule_update" for rule updates
  boost::json::object args;      // rule_update: {rules_version?, url?}
};

// Sends what the admin asks to one sensor: the command is recorded (with its audit entry) as
// `sent`, then published with QoS 1 on honeyman/dashboard/commands/<id> ({"type": "command", id,
// command, args, issued_at, issued_by}) or, for a rule update, honeyman/dashboard/updates/<id>
// ({"type": "rule_update", id, rules_version?, url?, issued_at, issued_by}). The MQTT connection
// (the server's broker account, a client id of its own) is made on first use and kept.
// Thread-safe; blocking.
class CommandService {
 public:
  CommandService(store::Store& store, const Clock& clock, broker::BrokerConfig broker);
  ~CommandService();
  // Errc::not_found for an unknown sensor; Errc::unavailable when MQTT is off or the broker
  // cannot be reached (the command is then recorded as failed, with the reason).
  Result<store::SensorCommand> send(std::string_view sensor_id, NewCommand command,
                                    const store::Actor& by);
  // Newest first, at most `limit`. Errc::not_found for an unknown sensor.
  Result<std::vector<store::SensorCommand>> history(std::string_view sensor_id, int limit);

 private:
  Result<broker::Publisher*> publisher();

  store::Store& store_;
  const Clock& clock_;
  broker::BrokerConfig broker_;
  std::mutex mutex_;
  std::unique_ptr<broker::Publisher> publisher_;
};

}  // namespace honeyman::service
