#include "integration/alerting_support.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>

#include "support/process.hpp"

namespace honeyman::testing::alerting_it {

namespace json = boost::json;
using namespace std::chrono_literals;

std::map<std::string, std::string> alerting_env() {
  return {{"ALERT_RETRY_BASE_MS", "200"}, {"ALERT_HTTP_TIMEOUT_MS", "3000"}};
}

std::unique_ptr<AlertFleet> AlertFleet::start(std::map<std::string, std::string> env,
                                              bool with_broker) {
  auto f = std::make_unique<AlertFleet>();
  auto all = alerting_env();
  if (with_broker) {
    f->broker = std::make_unique<MosquittoProcess>();
    f->broker->start();
    for (auto& [k, v] : f->broker->server_env()) all[k] = v;
  }
  for (auto& [k, v] : env) all[k] = v;
  f->server = std::make_unique<ServerProcess>(all);
  f->server->add_user("root", "admin", "admin-password-1");
  f->server->add_user("ana", "analyst", "analyst-password-1");
  f->server->add_user("vic", "viewer", "viewer-password-1");
  f->sensor_a_key = f->server->add_sensor("sensor-a", "Sensor A");
  f->sensor_b_key = f->server->add_sensor("sensor-b", "Sensor B");
  f->server->start();
  EXPECT_TRUE(eventually([&] { return f->server->client().get("/ready").status == 200; }))
      << f->server->log();
  f->admin = f->server->login("root", "admin-password-1");
  f->analyst = f->server->login("ana", "analyst-password-1");
  f->viewer = f->server->login("vic", "viewer-password-1");
  return f;
}

AlertApi::AlertApi(const ServerProcess& server, std::string token)
    : client_(server.client()), token_(std::move(token)) {}

Reply AlertApi::call(std::string_view method, const std::string& target, const std::string& body) {
  auto headers = bearer(token_);
  if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
  return client_.request(method, target, body, headers);
}

namespace {

json::object created(const Reply& reply, const std::string& what) {
  EXPECT_EQ(reply.status, 201) << what << ": " << reply.body;
  auto body = reply.json();
  if (reply.status != 201 || !body.is_object()) return {};
  EXPECT_TRUE(body.as_object().contains("id")) << what << ": " << reply.body;
  return body.as_object();
}

}  // namespace

json::object AlertApi::create_destination(const json::object& body) {
  return created(call("POST", "/api/v2/alerts/destinations", json::serialize(body)),
                 "POST /alerts/destinations " + json::serialize(body));
}

json::object AlertApi::webhook(const std::string& name, const std::string& url,
                               const std::string& secret) {
  return create_destination(
      {{"name", name}, {"kind", "webhook"}, {"url", url}, {"secret", secret}});
}

json::object AlertApi::create_rule(const json::object& body) {
  return created(call("POST", "/api/v2/alerts/rules", json::serialize(body)),
                 "POST /alerts/rules " + json::serialize(body));
}

json::object AlertApi::simple_rule(const std::string& name,
                                   const std::vector<std::string>& threat_types,
                                   const std::vector<std::string>& destinations, int cooldown) {
  json::array types(threat_types.begin(), threat_types.end());
  json::array ids(destinations.begin(), destinations.end());
  return create_rule({{"name", name},
                      {"enabled", true},
                      {"match", {{"threat_types", types}}},
                      {"cooldown_seconds", cooldown},
                      {"destination_ids", ids}});
}

namespace {

// Every page of a cursor-paginated list: `key` of each page concatenated.
json::array all_pages(AlertApi& api, const std::string& path, const std::string& query,
                      const std::string& key) {
  json::array out;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    auto target = path + "?page_size=200" + (query.empty() ? "" : "&" + query) +
                  (cursor.empty() ? "" : "&cursor=" + cursor);
    auto reply = api.call("GET", target);
    EXPECT_EQ(reply.status, 200) << target << ": " << reply.body;
    if (reply.status != 200) break;
    auto body = reply.json().as_object();
    for (auto& item : body.at(key).as_array()) out.push_back(item);
    if (!body.at("next_cursor").is_string()) break;
    cursor = std::string(body.at("next_cursor").as_string());
  }
  return out;
}

}  // namespace

json::array AlertApi::alerts(const std::string& query) {
  return all_pages(*this, "/api/v2/alerts", query, "alerts");
}

json::array AlertApi::alerts_of_rule(const std::string& rule_id) {
  return alerts("rule_id=" + rule_id);
}

json::array AlertApi::wait_alerts(const std::string& rule_id, std::size_t n) {
  json::array found;
  eventually(
      [&] {
        found = alerts_of_rule(rule_id);
        return found.size() >= n;
      },
      30s);
  EXPECT_GE(found.size(), n) << "alerts of rule " << rule_id;
  return found;
}

json::array AlertApi::deliveries(const std::string& query) {
  return all_pages(*this, "/api/v2/alerts/deliveries", query, "deliveries");
}

std::string post_threat(const ServerProcess& server, const std::string& key,
                        const std::string& sensor_id, const std::string& threat_type,
                        const std::string& severity, const std::string& detector,
                        const json::object& extra) {
  static std::atomic<int> counter{0};
  json::object body{{"sensor_id", sensor_id},
                    {"threat_type", threat_type},
                    {"detector_type", detector},
                    {"severity", severity},
                    {"raw_event", {{"n", ++counter}, {"pid", ::getpid()}}}};
  for (auto& [k, v] : extra) body[k] = v;
  auto reply = server.client().post("/api/v2/threats", body, api_key(key));
  EXPECT_EQ(reply.status, 201) << json::serialize(body) << ": " << reply.body;
  if (reply.status != 201) return {};
  return std::string(reply.json().at("id").as_string());
}

RecordingReceiver::RecordingReceiver() {
  receiver_.set_policy([this](std::size_t index) {
    std::lock_guard lock(mutex_);
    return statuses_[index] = policy_(index);
  });
}

void RecordingReceiver::answer(int status) {
  answer_with([status](std::size_t) { return status; });
}

void RecordingReceiver::answer_with(std::function<int(std::size_t)> policy) {
  std::lock_guard lock(mutex_);
  policy_ = std::move(policy);
}

std::vector<std::pair<ReceivedRequest, int>> RecordingReceiver::answered() const {
  auto requests = receiver_.requests();
  std::lock_guard lock(mutex_);
  std::vector<std::pair<ReceivedRequest, int>> out;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto it = statuses_.find(i);
    out.emplace_back(std::move(requests[i]), it == statuses_.end() ? 0 : it->second);
  }
  return out;
}

std::map<std::string, int> RecordingReceiver::successes_per_delivery() const {
  std::map<std::string, int> out;
  for (auto& [request, status] : answered())
    if (status >= 200 && status < 300) ++out[request.header("X-Honeyman-Delivery")];
  return out;
}

std::map<std::string, int> RecordingReceiver::attempts_per_delivery() const {
  std::map<std::string, int> out;
  for (auto& [request, status] : answered()) ++out[request.header("X-Honeyman-Delivery")];
  return out;
}

std::string expected_signature(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &size);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

std::string schema_errors(const std::string& schema, const std::string& document) {
  TempDir dir("honeyman-alert-schema");
  auto doc_path = dir.path() + "/document.json", out_path = dir.path() + "/out";
  std::ofstream(doc_path) << document;
  static const char* const kScript =
      "import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))\n"
      "v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())\n"
      "errors = ['%s: %s' % (list(e.absolute_path), e.message) for e in v.iter_errors(doc)]\n"
      "print('\\n'.join(errors)); sys.exit(1 if errors else 0)\n";
  auto pid =
      spawn({"/usr/bin/python3", "-c", kScript,
             std::string(HONEYMAN_SOURCE_DIR) + "/tests/support/schemas/" + schema, doc_path},
            {.stdout_path = out_path});
  int code = wait_exit(pid, 60s);
  if (code == 0) return "";
  auto out = read_file(out_path);
  return out.empty() ? "python3 exited with " + std::to_string(code) : out;
}

std::string id_of(const json::object& o) {
  auto* id = o.if_contains("id");
  return id != nullptr && id->is_string() ? std::string(id->as_string()) : std::string();
}

std::set<std::string> ids_of(const json::array& items) {
  std::set<std::string> out;
  for (auto& item : items) out.insert(std::string(item.at("id").as_string()));
  return out;
}

}  // namespace honeyman::testing::alerting_it
