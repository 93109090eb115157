// The retention job of `serve`, end to end: a store seeded by `honeyman seed-data` with six days
// of threats, a server with DATA_RETENTION_DAYS=2 and ROLLUP_RETENTION_DAYS=4. At start the job
// deletes the old rows (and says so in the log); history stays in the rollups and totals.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <regex>
#include <thread>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

std::string iso(Clock::time_point t) {
  std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

constexpr int kSeeded = 3000;

class RetentionJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::map<std::string, std::string>{
        {"DATA_RETENTION_DAYS", "2"}, {"ROLLUP_RETENTION_DAYS", "4"}});
    auto seeded = server_->cli({"seed-data", "--sensors", "3", "--threats", std::to_string(kSeeded),
                                "--days", "6", "--seed", "5"});
    ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
    server_->add_user("vic", "viewer", "viewer-password-1");
    server_->start();
    token_ = server_->login("vic", "viewer-password-1");
  }

  // The number of threats the job reports deleted, once its first pass is logged.
  long deleted_by_first_pass() {
    static const std::regex line(R"(retention: deleted (\d+) threats)");
    for (int i = 0; i < 2000; ++i) {  // the pass runs at start; allow a slow machine
      std::smatch m;
      auto log = server_->log();
      if (std::regex_search(log, m, line)) return std::stol(m[1]);
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "no retention line in the log:\n" << server_->log();
    return -1;
  }

  json::value get(const std::string& target) {
    auto reply = server_->client().get(target, bearer(token_));
    EXPECT_EQ(reply.status, 200) << target << ": " << reply.body;
    return reply.json();
  }
  std::int64_t threats_total(const std::string& filters) {
    return get("/api/v2/threats?page_size=1" + filters).at("total").to_number<std::int64_t>();
  }
  std::int64_t trend_sum(Clock::time_point from, Clock::time_point to) {
    auto trend = get("/api/v2/analytics/trends?period=hourly&start_time=" + iso(from) +
                     "&end_time=" + iso(to));
    std::int64_t n = 0;
    for (const auto& p : trend.at("data_points").as_array())
      n += p.at("count").to_number<std::int64_t>();
    return n;
  }

  std::unique_ptr<ServerProcess> server_;
  std::string token_;
};

TEST_F(RetentionJobTest, OldThreatsGoHistoryStays) {
  auto deleted = deleted_by_first_pass();
  ASSERT_GT(deleted, 0);
  auto now = Clock::now();
  // Rows: nothing older than two days is left, and the rest add up.
  EXPECT_EQ(threats_total("&end_time=" + iso(now - 48h - 5min)), 0);
  auto left = threats_total("");
  EXPECT_GT(left, 0);
  EXPECT_EQ(deleted + left, kSeeded);
  // History: the overview's all-time total still counts every seeded threat.
  EXPECT_EQ(get("/api/v2/analytics/overview").at("total_threats"), kSeeded);
  // Rollups between two and four days old remain although their rows are gone...
  auto kept_window = std::pair(now - 72h - 2h, now - 72h + 2h);
  EXPECT_EQ(threats_total("&start_time=" + iso(kept_window.first) +
                          "&end_time=" + iso(kept_window.second)),
            0);
  EXPECT_GT(trend_sum(kept_window.first, kept_window.second), 0);
  // ...and those older than four days are gone too.
  EXPECT_EQ(trend_sum(now - 6 * 24h - 1h, now - 4 * 24h - 2h), 0);
}

// `honeyman retention` runs the same pass from the command line (on PostgreSQL the seeded days
// have partitions, so whole days are dropped): it reports what it deleted, a second run finds
// nothing, and the server then lists exactly the rest while history keeps every threat.
TEST(RetentionCommand, DeletesOnceAndReports) {
  ServerProcess server(std::map<std::string, std::string>{{"DATA_RETENTION_DAYS", "2"},
                                                          {"ROLLUP_RETENTION_DAYS", "4"}});
  auto seeded = server.cli({"seed-data", "--sensors", "3", "--threats", std::to_string(kSeeded),
                            "--days", "6", "--seed", "9"});
  ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
  static const std::regex line(R"(deleted (\d+) threats before .* in [0-9.]+ ms)");
  auto first = server.cli({"retention"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first.out, m, line)) << first.out;
  auto deleted = std::stol(m[1]);
  EXPECT_GT(deleted, kSeeded / 3);  // about four of six days
  EXPECT_LT(deleted, kSeeded);
  auto again = server.cli({"retention"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("deleted 0 threats"), std::string::npos) << again.out;

  server.add_user("vic", "viewer", "viewer-password-1");
  server.start();
  auto token = server.login("vic", "viewer-password-1");
  auto page = server.client().get("/api/v2/threats?page_size=1", bearer(token));
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.json().at("total").to_number<std::int64_t>(), kSeeded - deleted);
  auto overview = server.client().get("/api/v2/analytics/overview", bearer(token));
  ASSERT_EQ(overview.status, 200) << overview.body;
  EXPECT_EQ(overview.json().at("total_threats").to_number<std::int64_t>(), kSeeded);
  EXPECT_EQ(server.cli({"retention", "--now", "yesterday"}).exit_code, 1);
}

TEST(RetentionConfig, RollupsMayNotBeKeptShorterThanRows) {
  using Env = std::map<std::string, std::string>;
  ServerProcess server(Env{{"DATA_RETENTION_DAYS", "30"}, {"ROLLUP_RETENTION_DAYS", "10"}});
  auto r = server.cli({"serve"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("ROLLUP_RETENTION_DAYS"), std::string::npos) << r.err;
  auto zero = ServerProcess(Env{{"DATA_RETENTION_DAYS", "0"}}).cli({"serve"});
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_NE(zero.err.find("DATA_RETENTION_DAYS"), std::string::npos) << zero.err;
}

}  // namespace
}  // namespace honeyman::testing
