#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>

#include "broker/detail/mosquitto.hpp"

namespace honeyman::broker {
namespace {

namespace json = boost::json;
using detail::MosquittoHandle;

constexpr const char* kControlTopic = "$CONTROL/dynamic-security/v1";
constexpr const char* kResponseTopic = "$CONTROL/dynamic-security/v1/response";

json::object acl(std::string_view type, std::string topic, bool allow, int priority = 0) {
  return {{"acltype", type}, {"topic", std::move(topic)}, {"allow", allow}, {"priority", priority}};
}

json::array sensor_acls(std::string_view id) {
  return {acl("publishClientSend", sensor_topic_tree(id), true),
          acl("subscribeLiteral", control_topic(id), true),
          acl("subscribeLiteral", dashboard_command_topic(id), true),
          acl("subscribeLiteral", dashboard_update_topic(id), true),
          acl("publishClientReceive", control_topic(id), true, 10),
          acl("publishClientReceive", dashboard_command_topic(id), true, 10),
          acl("publishClientReceive", dashboard_update_topic(id), true, 10),
          acl("publishClientReceive", "#", false, 0)};
}

json::array server_acls() {
  const std::string all(kAllSensorTopics);
  return {acl("subscribePattern", all, true),
          acl("subscribePattern", "$share/+/" + all, true),
          acl("publishClientReceive", all, true),
          acl("publishClientSend", "honeyman/control/#", true),
          acl("publishClientSend", "honeyman/dashboard/commands/#", true),
          acl("publishClientSend", "honeyman/dashboard/updates/#", true)};
}

// One exchange on a fresh admin connection: connect, subscribe to the response topic, publish
// the commands, wait for the answer. State shared with libmosquitto's network thread.
struct Exchange {
  std::mutex mutex;
  std::condition_variable changed;
  int connack = -1;
  bool subscribed = false;
  std::optional<std::string> response;

  static Exchange& of(void* p) { return *static_cast<Exchange*>(p); }
  void update(auto fn) {
    std::lock_guard lock(mutex);
    fn();
    changed.notify_all();
  }
};

class DynsecAdmin final : public Admin {
 public:
  explicit DynsecAdmin(BrokerConfig config) : config_(std::move(config)) {}

  // Reads the account and role first and changes only what differs: dynamic security kicks a
  // client whose roles, ACLs or password change, and a kick ends its persistent session, which
  // would discard the messages the broker queued for the server while it was away.
  Status ensure_server_account() override {
    json::array reads = {json::object{{"command", "getRole"}, {"rolename", kServerRole}},
                         json::object{{"command", "getClient"}, {"username", config_.username}}};
    auto state = run(std::move(reads));
    if (!state) return state.error();
    auto role = data_of(*state, 0, "role");
    auto client = data_of(*state, 1, "client");
    json::array commands;
    if (!role)
      commands.push_back(json::object{
          {"command", "createRole"}, {"rolename", kServerRole}, {"acls", server_acls()}});
    else
      for (const auto& a : server_acls())
        if (!has_acl(*role, a.as_object())) {
          auto add = a.as_object();
          add["command"] = "addRoleACL";
          add["rolename"] = kServerRole;
          commands.push_back(std::move(add));
        }
    if (!client) {
      commands.push_back(
          json::object{{"command", "createClient"},
                       {"username", config_.username},
                       {"password", config_.password},
                       {"textname", "honeyman server"},
                       {"roles", json::array{json::object{{"rolename", kServerRole}}}}});
    } else {
      if (!has_role(*client, kServerRole))
        commands.push_back(json::object{{"command", "addClientRole"},
                                        {"username", config_.username},
                                        {"rolename", kServerRole}});
      if (auto* d = client->if_contains("disabled"); d && d->is_bool() && d->as_bool())
        commands.push_back(
            json::object{{"command", "enableClient"}, {"username", config_.username}});
    }
    if (!commands.empty())
      if (auto done = check(run(std::move(commands)), {}); !done) return done;
    if (client && !login_works(config_.username, config_.password)) {
      json::array reset = {json::object{{"command", "setClientPassword"},
                                        {"username", config_.username},
                                        {"password", config_.password}}};
      return check(run(std::move(reset)), {});
    }
    return {};
  }

  // Read first, then create what is missing or repair a Honeyman sensor account in place; an
  // account of that name that is not a sensor's is refused and left alone (nothing is deleted).
  Status create_sensor_account(std::string_view id, std::string_view password) override {
    auto role = sensor_role(id);
    auto state = read_sensor_account(id);
    if (!state) return state.error();
    auto& [client, existing_role] = *state;
    if (client && !has_role(*client, role)) return foreign_account(id);
    json::array commands;
    if (!existing_role)
      commands.push_back(
          json::object{{"command", "createRole"}, {"rolename", role}, {"acls", sensor_acls(id)}});
    else
      repair_role_acls(*existing_role, role, sensor_acls(id), commands);
    if (!client) {
      commands.push_back(json::object{{"command", "createClient"},
                                      {"username", id},
                                      {"password", password},
                                      {"textname", "honeyman sensor"},
                                      {"roles", json::array{json::object{{"rolename", role}}}}});
    } else {
      commands.push_back(
          json::object{{"command", "setClientPassword"}, {"username", id}, {"password", password}});
      commands.push_back(json::object{{"command", "enableClient"}, {"username", id}});
    }
    auto done = check(run(std::move(commands)), {});
    // Created by someone else between our read and our createClient: theirs, not ours.
    if (!done && done.error().message.find("already exists") != std::string::npos)
      return foreign_account(id);
    return done;
  }

  // A name whose account is not a sensor's has no sensor account: nothing to change.
  Status set_sensor_enabled(std::string_view id, bool enabled) override {
    auto state = read_sensor_account(id);
    if (!state) return state.error();
    if (!state->first || !has_role(*state->first, sensor_role(id))) return {};
    json::array commands = {
        json::object{{"command", enabled ? "enableClient" : "disableClient"}, {"username", id}}};
    return check(run(std::move(commands)), {"not found"});
  }

  Status delete_sensor_account(std::string_view id) override {
    auto state = read_sensor_account(id);
    if (!state) return state.error();
    json::array commands;
    if (state->first && has_role(*state->first, sensor_role(id)))
      commands.push_back(json::object{{"command", "deleteClient"}, {"username", id}});
    if (state->second)
      commands.push_back(json::object{{"command", "deleteRole"}, {"rolename", sensor_role(id)}});
    if (commands.empty()) return {};
    return check(run(std::move(commands)), {"not found"});
  }

  // The roles of sensors created by an older version lack ACLs added since (the updates topic):
  // each existing sensor role is read and given what it lacks. Roles are read 50 at a time.
  Result<int> upgrade_sensor_roles(const std::vector<std::string>& sensor_ids) override {
    int upgraded = 0;
    for (std::size_t first = 0; first < sensor_ids.size(); first += 50) {
      json::array reads;
      auto last = std::min(sensor_ids.size(), first + 50);
      for (auto i = first; i < last; ++i)
        reads.push_back(
            json::object{{"command", "getRole"}, {"rolename", sensor_role(sensor_ids[i])}});
      auto state = run(std::move(reads));
      if (!state) return state.error();
      json::array commands;
      for (auto i = first; i < last; ++i) {
        auto role = data_of(*state, i - first, "role");
        if (!role) continue;  // no account (MQTT off when it was made): nothing to upgrade
        auto before = commands.size();
        repair_role_acls(*role, sensor_role(sensor_ids[i]), sensor_acls(sensor_ids[i]), commands);
        if (commands.size() != before) ++upgraded;
      }
      if (!commands.empty())
        if (auto done = check(run(std::move(commands)), {}); !done) return done.error();
    }
    return upgraded;
  }

  Status ping() override {
    json::array commands = {json::object{{"command", "getDefaultACLAccess"}}};
    return check(run(std::move(commands)), {});
  }

 private:
  // The account named `id` and the role honeyman-sensor-<id>, each when it exists.
  using AccountState = std::pair<std::optional<json::object>, std::optional<json::object>>;
  Result<AccountState> read_sensor_account(std::string_view id) {
    json::array reads = {json::object{{"command", "getClient"}, {"username", id}},
                         json::object{{"command", "getRole"}, {"rolename", sensor_role(id)}}};
    auto state = run(std::move(reads));
    if (!state) return state.error();
    return AccountState{data_of(*state, 0, "client"), data_of(*state, 1, "role")};
  }

  static Error foreign_account(std::string_view id) {
    return make_error(Errc::conflict, "the MQTT broker already has an account '" + std::string(id) +
                                          "' that is not a Honeyman sensor account (it lacks "
                                          "the role " +
                                          sensor_role(id) + ")");
  }

  // Brings an existing sensor role to exactly `wanted` (ACLs removed, then added; the role is
  // not recreated). Removal goes first: an ACL is removed by type and topic.
  static void repair_role_acls(const json::object& role, const std::string& rolename,
                               const json::array& wanted, json::array& commands) {
    const auto* acls = role.if_contains("acls");
    if (acls && acls->is_array())
      for (const auto& a : acls->as_array()) {
        bool kept = false;
        for (const auto& w : wanted) kept = kept || same_acl(a, w.as_object());
        if (!kept && a.is_object() && a.as_object().if_contains("acltype") &&
            a.as_object().if_contains("topic"))
          commands.push_back(json::object{{"command", "removeRoleACL"},
                                          {"rolename", rolename},
                                          {"acltype", a.as_object().at("acltype")},
                                          {"topic", a.as_object().at("topic")}});
      }
    for (const auto& a : wanted)
      if (!has_acl(role, a.as_object())) {
        auto add = a.as_object();
        add["command"] = "addRoleACL";
        add["rolename"] = rolename;
        commands.push_back(std::move(add));
      }
  }

  // Errc::internal naming the first command the broker refused, unless its error contains one
  // of `tolerated`.
  static Status check(Result<json::array> responses,
                      std::initializer_list<std::string_view> tolerated) {
    if (!responses) return responses.error();
    for (const auto& r : *responses) {
      if (!r.is_object()) continue;
      const auto* error = r.as_object().if_contains("error");
      if (!error || !error->is_string()) continue;
      std::string_view text = error->as_string();
      spdlog::debug("broker: dynamic-security answered {}", to_json_text(r));
      bool ok = false;
      for (auto t : tolerated) ok = ok || text.find(t) != std::string_view::npos;
      if (ok) continue;
      const auto* command = r.as_object().if_contains("command");
      return make_error(Errc::internal,
                        "broker refused " +
                            (command && command->is_string() ? std::string(command->as_string())
                                                             : std::string("a command")) +
                            ": " + std::string(text));
    }
    return {};
  }

  // responses[i].data.<key> when the command succeeded.
  static std::optional<json::object> data_of(const json::array& responses, std::size_t i,
                                             std::string_view key) {
    if (i >= responses.size() || !responses[i].is_object()) return std::nullopt;
    const auto* data = responses[i].as_object().if_contains("data");
    if (!data || !data->is_object()) return std::nullopt;
    const auto* v = data->as_object().if_contains(key);
    if (!v || !v->is_object()) return std::nullopt;
    return v->as_object();
  }
  static bool same_acl(const json::value& acl, const json::object& wanted) {
    if (!acl.is_object()) return false;
    for (auto key : {"acltype", "topic", "allow"}) {
      const auto* v = acl.as_object().if_contains(key);
      if (!v || *v != wanted.at(key)) return false;
    }
    return true;
  }
  static bool has_acl(const json::object& role, const json::object& wanted) {
    const auto* acls = role.if_contains("acls");
    if (!acls || !acls->is_array()) return false;
    for (const auto& a : acls->as_array())
      if (same_acl(a, wanted)) return true;
    return false;
  }
  static bool has_role(const json::object& client, std::string_view name) {
    const auto* roles = client.if_contains("roles");
    if (!roles || !roles->is_array()) return false;
    for (const auto& r : roles->as_array())
      if (r.is_object() && r.as_object().if_contains("rolename") &&
          r.as_object().at("rolename").is_string() &&
          r.as_object().at("rolename").as_string() == name)
        return true;
    return false;
  }

  // Does the broker accept this login? (Passwords cannot be read back, only tried.)
  bool login_works(const std::string& username, const std::string& password) {
    Exchange ex;
    auto mosq = detail::new_client(config_, "honeyman-probe-" + random_token(9), true, username,
                                   password, &ex);
    if (!mosq) return false;
    install_callbacks(mosq->get());
    if (mosquitto_connect(mosq->get(), config_.host.c_str(), config_.port, 30) != MOSQ_ERR_SUCCESS)
      return false;
    mosquitto_loop_start(mosq->get());
    bool ok = false;
    {
      std::unique_lock lock(ex.mutex);
      ok = ex.changed.wait_for(lock, config_.timeout, [&] { return ex.connack >= 0; }) &&
           ex.connack == 0;
    }
    mosquitto_disconnect(mosq->get());
    mosquitto_loop_stop(mosq->get(), false);
    return ok;
  }

  Result<json::array> run(json::array commands) {
    std::lock_guard serial(mutex_);
    auto tag = random_token(12);
    for (auto& c : commands) c.as_object()["correlationData"] = tag;
    Exchange ex;
    auto mosq = detail::new_client(config_, "honeyman-admin-" + tag, true, config_.admin_username,
                                   config_.admin_password, &ex);
    if (!mosq) return mosq.error();
    install_callbacks(mosq->get());
    int rc = mosquitto_connect(mosq->get(), config_.host.c_str(), config_.port, 30);
    if (rc != MOSQ_ERR_SUCCESS)
      return make_error(Errc::unavailable, "MQTT broker " + config_.host + ":" +
                                               std::to_string(config_.port) +
                                               " unreachable: " + detail::error_text(rc));
    mosquitto_loop_start(mosq->get());
    auto result =
        exchange(mosq->get(), ex, to_json_text(json::object{{"commands", commands}}), tag);
    mosquitto_disconnect(mosq->get());
    mosquitto_loop_stop(mosq->get(), false);
    return result;
  }

  static void install_callbacks(mosquitto* m) {
    mosquitto_connect_callback_set(m, [](mosquitto*, void* p, int rc) {
      Exchange::of(p).update([&] { Exchange::of(p).connack = rc; });
    });
    mosquitto_subscribe_callback_set(m, [](mosquitto*, void* p, int, int, const int*) {
      Exchange::of(p).update([&] { Exchange::of(p).subscribed = true; });
    });
    mosquitto_message_callback_set(m, [](mosquitto*, void* p, const mosquitto_message* msg) {
      std::string text(static_cast<const char*>(msg->payload),
                       static_cast<std::size_t>(msg->payloadlen));
      Exchange::of(p).update([&] { Exchange::of(p).response = std::move(text); });
    });
  }

  Result<json::array> exchange(mosquitto* m, Exchange& ex, const std::string& request,
                               const std::string& tag) {
    auto deadline = std::chrono::steady_clock::now() + config_.timeout;
    std::unique_lock lock(ex.mutex);
    if (!ex.changed.wait_until(lock, deadline, [&] { return ex.connack >= 0; }))
      return make_error(Errc::unavailable, "MQTT broker did not answer the admin login");
    if (ex.connack != 0)
      return make_error(Errc::unavailable,
                        "MQTT broker refused the admin login: " + detail::connack_text(ex.connack));
    lock.unlock();
    mosquitto_subscribe(m, nullptr, kResponseTopic, 1);
    lock.lock();
    if (!ex.changed.wait_until(lock, deadline, [&] { return ex.subscribed; }))
      return make_error(Errc::unavailable, "MQTT broker did not confirm the admin subscription");
    lock.unlock();
    mosquitto_publish(m, nullptr, kControlTopic, static_cast<int>(request.size()), request.data(),
                      1, false);
    lock.lock();
    for (;;) {
      if (!ex.changed.wait_until(lock, deadline, [&] { return ex.response.has_value(); }))
        return make_error(Errc::unavailable,
                          "MQTT broker did not answer the dynamic-security command (is the "
                          "dynamic-security plugin loaded and the admin account allowed?)");
      auto parsed = parse_response(*ex.response, tag);
      ex.response.reset();
      if (parsed) return std::move(*parsed);  // otherwise another admin's answer: wait on
    }
  }

  static std::optional<json::array> parse_response(const std::string& text,
                                                   const std::string& tag) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    auto* responses = v.as_object().if_contains("responses");
    if (!responses || !responses->is_array() || responses->as_array().empty()) return std::nullopt;
    const auto& first = responses->as_array().front();
    if (first.is_object())
      if (auto* c = first.as_object().if_contains("correlationData"))
        if (!c->is_string() || c->as_string() != tag) return std::nullopt;
    return responses->as_array();
  }

  BrokerConfig config_;
  std::mutex mutex_;
};

}  // namespace

Result<std::unique_ptr<Admin>> make_admin(const BrokerConfig& config) {
  if (!config.can_administer())
    return make_error(Errc::invalid_input,
                      "MQTT_BROKER_HOST and MQTT_ADMIN_USERNAME are needed to manage accounts");
  return std::unique_ptr<Admin>(std::make_unique<DynsecAdmin>(config));
}

}  // namespace honeyman::broker
