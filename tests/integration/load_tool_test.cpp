// honeyman-load, the load generators of the benchmarks, against a real server: ws-load's clients
// connect and receive what a sensor posts. (simulate is exercised by mqtt_ingest_test.)
#include <gtest/gtest.h>

#include <regex>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

// The value column of ws-load's summary row `figure` (-1 when the row is missing).
double figure(const std::string& table, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(table, m, std::regex(name + R"( +(-?[0-9.]+)\n)"))) return -1;
  return std::stod(m[1]);
}

TEST(LoadTool, WsLoadClientsReceiveWhatASensorPosts) {
  auto fleet = Fleet::start();
  auto run = run_load_tool(
      {"ws-load", "--port", std::to_string(fleet->server->port()), "--user", "vic", "--clients",
       "3", "--sources", "1", "--duration", "2", "--rate", "50", "--api-key", fleet->sensor_a_key},
      {}, "viewer-password-1\n");
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  EXPECT_EQ(figure(run.out, "connected"), 3) << run.out;
  EXPECT_EQ(figure(run.out, "failed to connect"), 0) << run.out;
  EXPECT_GT(figure(run.out, "threat messages received"), 0) << run.out;
}

TEST(LoadTool, TheLoadToolsAreNotInTheServerBinary) {
  for (const char* command : {"simulate", "ws-load"}) {
    EXPECT_NE(run_honeyman({command}, {}).exit_code, 0) << command;
    auto help = run_load_tool({command, "--help"}, {});
    EXPECT_EQ(help.exit_code, 0) << command << help.err;
    EXPECT_NE(help.out.find("Usage"), std::string::npos) << help.out;
  }
  EXPECT_NE(run_load_tool({"simulate", "--help"}, {}).out.find("--env-file"), std::string::npos);
}

}  // namespace
}  // namespace honeyman::testing
