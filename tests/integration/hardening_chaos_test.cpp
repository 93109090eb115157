// The load tools' additions for bench/chaos and bench/soak (issue #11, item 15): `simulate
// --run-id` names every threat (run + a per-process sequence in raw_data, which the server keeps
// as raw_event), so the benches can count each message's rows; `ws-load --reconnect` keeps its
// clients through a server restart.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "integration/mqtt_support.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// (sensor id, raw_event.sequence) of every stored threat whose raw_event.run is `run`.
std::multiset<std::pair<std::string, std::int64_t>> identities(ServerProcess& server,
                                                               const std::string& token,
                                                               const std::string& run) {
  std::multiset<std::pair<std::string, std::int64_t>> out;
  auto reply = server.client().get("/api/v2/threats?page_size=1000", bearer(token));
  if (reply.status != 200) return out;
  const auto body = reply.json();  // kept: the loop below walks into it
  for (const auto& t : body.at("threats").as_array()) {
    const auto& raw = t.at("raw_event").as_object();
    const auto* tag = raw.if_contains("run");
    if (tag && tag->is_string() && tag->get_string() == run)
      out.emplace(std::string(t.at("sensor_id").as_string()),
                  raw.at("sequence").to_number<std::int64_t>());
  }
  return out;
}

// The value column of a summary row of ws-load (-1 when the row is missing).
double figure(const std::string& table, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(table, m, std::regex(name + R"( +(-?[0-9.]+)\n)"))) return -1;
  return std::stod(m[1]);
}

TEST(ChaosLoadTools, SimulateNamesEveryThreatWithItsRunAndASequence) {
  auto fleet = MqttFleet::start();
  TempDir dir;
  auto api = "http://127.0.0.1:" + std::to_string(fleet->server->port());
  auto run = run_load_tool({"simulate", "--admin", "root", "--password-stdin", "--sensors", "2",
                            "--rate", "40", "--duration", "1", "--credentials",
                            dir.path() + "/sensors.json", "--api", api, "--run-id", "run-42"},
                           fleet->server->env(), "admin-password-1\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.out, m, std::regex(R"(sent (\d+) threats)"))) << run.out;
  auto sent = static_cast<std::size_t>(std::stoll(m[1]));
  ASSERT_GT(sent, 0u);
  std::multiset<std::pair<std::string, std::int64_t>> ids;
  EXPECT_TRUE(eventually([&] {
    ids = identities(*fleet->server, fleet->admin, "run-42");
    return ids.size() >= sent;
  })) << ids.size()
      << " of " << sent;
  // One row per message, each (sensor, sequence) distinct: the identity the benches count by.
  std::set<std::pair<std::string, std::int64_t>> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), sent);
}

TEST(ChaosLoadTools, WsLoadClientsReconnectThroughAServerRestart) {
  auto port = free_port();
  auto fleet = Fleet::start({{"PORT", std::to_string(port)}});
  TempDir dir;
  std::ofstream(dir.path() + "/password") << "viewer-password-1\n";
  SpawnOptions options;
  options.stdin_path = dir.path() + "/password";
  options.stdout_path = dir.path() + "/out";
  options.stderr_path = dir.path() + "/err";
  auto pid = spawn({HONEYMAN_LOAD_BINARY, "ws-load", "--port", std::to_string(port), "--user",
                    "vic", "--clients", "2", "--sources", "1", "--duration", "10", "--reconnect"},
                   options);
  ASSERT_TRUE(eventually([&] {
    return read_file(dir.path() + "/err").find("measuring") != std::string::npos;
  })) << read_file(dir.path() + "/err");

  EXPECT_EQ(fleet->server->stop(9), 128 + 9);
  fleet->server->start();
  // Threats posted only after the restart: the clients receive them only if they came back.
  int exit_code = -1;
  // Each post differs: identical bodies from one sensor are one threat, announced once.
  int posted = 0;
  EXPECT_TRUE(eventually(
      [&] {
        auto threat = json::object{{"threat_type", "wifi_probe_" + std::to_string(posted++)},
                                   {"detector_type", "wifi"},
                                   {"severity", "low"},
                                   {"threat_score", 0.5}};
        fleet->server->client().post("/api/v2/threats", threat, api_key(fleet->sensor_a_key));
        exit_code = wait_exit(pid, 50ms);
        return exit_code != -1;
      },
      60s));
  auto out = read_file(dir.path() + "/out");
  EXPECT_EQ(exit_code, 0) << out << read_file(dir.path() + "/err");
  EXPECT_EQ(figure(out, "closed by the server \\(readers\\)"), 2) << out;
  EXPECT_EQ(figure(out, "reconnections"), 2) << out;
  EXPECT_GT(figure(out, "threat messages received"), 0) << out;
}

}  // namespace
}  // namespace honeyman::testing
