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
  return {acl("publishClientSend", sensor_topic(id, "#"), true),
          acl("subscribeLiteral", control_topic(id), true),
          acl("subscribeLiteral", dashboard_command_topic(id), true),
          acl("publishClientReceive", control_topic(id), true, 10),
          acl("publishClientReceive", dashboard_command_topic(id), true, 10),
          acl("publishClientReceive", "#", false, 0)};
}

json::array server_acls() {
  return {acl("subscribePattern", "honeyman/sensors/#", true),
          acl("subscribePattern", "$share/+/honeyman/sensors/#", true),
          acl("publishClientReceive", "honeyman/sensors/#", true),
          acl("publishClientSend", "honeyman/control/#", true),
          acl("publishClientSend", "honeyman/dashboard/commands/#", true)};
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

  Status ensure_server_account() override {
    json::array commands = {
        json::object{{"command", "createRole"}, {"rolename", kServerRole}},
        json::object{{"command", "createClient"},
                     {"username", config_.username},
                     {"password", config_.password}},
    };
    for (auto& a : server_acls()) {  // remove + add, so a changed ACL is replaced
      json::object remove{{"command", "removeRoleACL"},
                          {"rolename", kServerRole},
                          {"acltype", a.as_object().at("acltype")},
                          {"topic", a.as_object().at("topic")}};
      commands.push_back(std::move(remove));
      auto add = a.as_object();
      add["command"] = "addRoleACL";
      add["rolename"] = kServerRole;
      commands.push_back(std::move(add));
    }
    commands.push_back(json::object{{"command", "setClientPassword"},
                                    {"username", config_.username},
                                    {"password", config_.password}});
    commands.push_back(json::object{{"command", "removeClientRole"},
                                    {"username", config_.username},
                                    {"rolename", kServerRole}});
    commands.push_back(json::object{
        {"command", "addClientRole"}, {"username", config_.username}, {"rolename", kServerRole}});
    commands.push_back(json::object{{"command", "enableClient"}, {"username", config_.username}});
    // Repeated at every start: "already exists" / "not found" answers are expected and fine.
    return check(run(std::move(commands)), {"already exists", "not found"});
  }

  Status create_sensor_account(std::string_view id, std::string_view password) override {
    auto role = sensor_role(id);
    json::array commands = {
        json::object{{"command", "deleteClient"}, {"username", id}},
        json::object{{"command", "deleteRole"}, {"rolename", role}},
        json::object{{"command", "createRole"}, {"rolename", role}, {"acls", sensor_acls(id)}},
        json::object{{"command", "createClient"},
                     {"username", id},
                     {"password", password},
                     {"textname", "honeyman sensor"},
                     {"roles", json::array{json::object{{"rolename", role}}}}},
    };
    return check(run(std::move(commands)), {"not found"});
  }

  Status set_sensor_enabled(std::string_view id, bool enabled) override {
    json::array commands = {
        json::object{{"command", enabled ? "enableClient" : "disableClient"}, {"username", id}}};
    return check(run(std::move(commands)), {"not found"});
  }

  Status delete_sensor_account(std::string_view id) override {
    json::array commands = {
        json::object{{"command", "deleteClient"}, {"username", id}},
        json::object{{"command", "deleteRole"}, {"rolename", sensor_role(id)}},
    };
    return check(run(std::move(commands)), {"not found"});
  }

  Status ping() override {
    json::array commands = {json::object{{"command", "getDefaultACLAccess"}}};
    return check(run(std::move(commands)), {});
  }

 private:
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
      spdlog::debug("broker: dynamic-security answered {}", json::serialize(r));
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
        exchange(mosq->get(), ex, json::serialize(json::object{{"commands", commands}}), tag);
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
