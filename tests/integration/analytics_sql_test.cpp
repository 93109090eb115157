// Analytics correctness at the endpoints: a store filled by `honeyman seed-data` (thousands of
// threats over ten days from several sensors, every severity and detector), the server's answers
// compared with brute-force SQL over the raw `threats` table of the same database (SQLite file
// or PostgreSQL, whichever the server runs on). Windows end inside hours, so both the rollups
// and the raw edge rows are exercised.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <map>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;
using Seconds = std::chrono::sys_seconds;
using Rows = std::vector<std::vector<std::string>>;

const char* const kSeverities[] = {"info", "low", "medium", "high", "critical"};

std::string micros(Seconds t) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

// Runs `sql` on the server's database (a SQLite file or a PostgreSQL URL); NULL reads as "".
Rows query(const std::string& database_url, const std::string& sql) {
  Rows rows;
  const std::string sqlite_prefix = "sqlite:///";
  if (database_url.starts_with(sqlite_prefix)) {
    sqlite3* db = nullptr;
    auto path = database_url.substr(sqlite_prefix.size());
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      rows.emplace_back();
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        auto* text = sqlite3_column_text(stmt, c);
        rows.back().emplace_back(text ? reinterpret_cast<const char*>(text) : "");
      }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
  }
  PGconn* conn = PQconnectdb(database_url.c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexec(conn, sql.c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
  for (int i = 0; i < PQntuples(r); ++i) {
    rows.emplace_back();
    for (int c = 0; c < PQnfields(r); ++c) rows.back().emplace_back(PQgetvalue(r, i, c));
  }
  PQclear(r);
  PQfinish(conn);
  return rows;
}

std::int64_t as_int(const json::value& v) {
  return v.to_number<std::int64_t>();
}

class AnalyticsSqlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    auto seeded = server_->cli(
        {"seed-data", "--sensors", "9", "--threats", "5000", "--days", "10", "--seed", "11"});
    ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
    server_->add_user("vic", "viewer", "viewer-password-1");
    server_->start();
    token_ = new std::string(server_->login("vic", "viewer-password-1"));
    now_ = std::chrono::floor<std::chrono::seconds>(Clock::now());
  }
  static void TearDownTestSuite() {
    delete token_;
    delete server_;
  }

  static json::value get(const std::string& target) {
    auto reply = server_->client().get("/api/v2/analytics/" + target, bearer(*token_));
    EXPECT_EQ(reply.status, 200) << target << ": " << reply.body;
    return reply.json();
  }
  static Rows sql(const std::string& q) { return query(server_->env().at("DATABASE_URL"), q); }
  static std::string between(Seconds from, Seconds to) {
    return " timestamp >= " + micros(from) + " AND timestamp < " + micros(to);
  }
  static std::string window(Seconds from, Seconds to) {
    return "start_time=" + iso_time(from) + "&end_time=" + iso_time(to);
  }

  static inline ServerProcess* server_ = nullptr;
  static inline std::string* token_ = nullptr;
  static inline Seconds now_;
};

// Every bucket of every period, per severity, with and without a sensor filter.
TEST_F(AnalyticsSqlTest, TrendsEqualGroupByOverTheRawRows) {
  struct Case {
    std::string period, bucket_sql;
    Seconds from, to;
    std::string sensor;
  };
  const std::string hour = "timestamp - timestamp % 3600000000";
  const std::string day = "timestamp - timestamp % 86400000000";
  const std::string week = "timestamp - (timestamp - 345600000000) % 604800000000";
  const std::vector<Case> cases = {
      {"hourly", hour, now_ - 30h - 17min - 13s, now_ - 6h - 5min - 7s, ""},
      {"hourly", hour, now_ - 5 * 24h - 59min, now_ - 4 * 24h + 1s, "seed-0003"},
      {"daily", day, now_ - 9 * 24h - 3h - 7s, now_ - 24h + 2h + 11s, ""},
      {"daily", day, now_ - 9 * 24h - 3h - 7s, now_ - 24h + 2h + 11s, "seed-0007"},
      {"weekly", week, now_ - 11 * 24h + 13s, now_ + 1h, ""},
  };
  for (const auto& c : cases) {
    auto target = "trends?period=" + c.period + "&" + window(c.from, c.to);
    if (!c.sensor.empty()) target += "&sensor_id=" + c.sensor;
    std::map<std::string, std::map<int, std::int64_t>> expected;
    auto filter = c.sensor.empty() ? std::string() : " AND sensor_id = '" + c.sensor + "'";
    for (const auto& row :
         sql("SELECT " + c.bucket_sql + ", severity, count(*) FROM threats WHERE" +
             between(c.from, c.to) + filter + " GROUP BY 1, 2"))
      expected[row[0]][std::stoi(row[1])] = std::stoll(row[2]);
    auto trend = get(target);
    // Bucket by bucket: the API's timestamps are RFC 3339, SQL's are microseconds.
    std::map<std::string, std::map<int, std::int64_t>> got;
    std::int64_t total = 0, expected_total = 0;
    for (const auto& p : trend.at("data_points").as_array()) {
      std::string when(p.at("timestamp").as_string());
      std::tm tm{};
      ASSERT_NE(strptime(when.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << when;
      auto key = std::to_string(static_cast<std::int64_t>(timegm(&tm)) * 1'000'000);
      std::int64_t sum = 0;
      for (int s = 0; s < 5; ++s) {
        auto n = as_int(p.at("severity").at(kSeverities[s]));
        sum += n;
        if (n > 0) got[key][s] = n;
      }
      EXPECT_EQ(as_int(p.at("count")), sum) << target << " " << when;
      total += sum;
    }
    for (const auto& [b, counts] : expected)
      for (const auto& [s, n] : counts) expected_total += n;
    EXPECT_EQ(got, expected) << target;
    EXPECT_EQ(total, expected_total) << target;
    EXPECT_GT(expected_total, 0) << target << ": the case must count something";
  }
}

TEST_F(AnalyticsSqlTest, TopThreatTypesEqualGroupByOverTheRawRows) {
  const auto from = now_ - 7 * 24h + 11min + 3s, to = now_ - 1h - 3s;
  auto rows = sql("SELECT threat_type, count(*) FROM threats WHERE" + between(from, to) +
                  " GROUP BY 1 ORDER BY 2 DESC, 1");
  ASSERT_GT(rows.size(), 10u);
  std::int64_t total = 0;
  for (const auto& row : rows) total += std::stoll(row[1]);
  auto top = get("top-threats?limit=50&" + window(from, to));
  ASSERT_EQ(top.as_array().size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& entry = top.as_array()[i];
    EXPECT_EQ(entry.at("threat_type").as_string(), rows[i][0]) << i;
    EXPECT_EQ(as_int(entry.at("count")), std::stoll(rows[i][1])) << rows[i][0];
    EXPECT_NEAR(entry.at("percentage").to_number<double>(),
                100.0 * static_cast<double>(std::stoll(rows[i][1])) / static_cast<double>(total),
                0.006);
  }
  auto three = get("top-threats?limit=3&" + window(from, to));
  ASSERT_EQ(three.as_array().size(), 3u);
  EXPECT_EQ(three.as_array()[2].at("threat_type").as_string(), rows[2][0]);
}

TEST_F(AnalyticsSqlTest, TopSensorsAndMapEqualGroupByOverTheRawRows) {
  const auto from = now_ - 8 * 24h - 7min - 1s, to = now_ - 2 * 24h + 29min + 5s;
  auto rows = sql("SELECT sensor_id, count(*) FROM threats WHERE" + between(from, to) +
                  " GROUP BY 1 ORDER BY 2 DESC, 1");
  ASSERT_EQ(rows.size(), 9u);
  auto top = get("top-sensors?limit=50&" + window(from, to));
  ASSERT_EQ(top.as_array().size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(top.as_array()[i].at("sensor_id").as_string(), rows[i][0]) << i;
    EXPECT_EQ(as_int(top.as_array()[i].at("threat_count")), std::stoll(rows[i][1])) << rows[i][0];
  }

  // The map with a severity filter: per sensor, per severity.
  std::map<std::string, std::map<std::string, std::int64_t>> expected;
  for (const auto& row : sql("SELECT sensor_id, severity, count(*) FROM threats WHERE" +
                             between(from, to) + " AND severity IN (3, 4) GROUP BY 1, 2"))
    expected[row[0]][kSeverities[std::stoi(row[1])]] = std::stoll(row[2]);
  auto map = get("map?severity=critical,high&" + window(from, to));
  std::map<std::string, std::map<std::string, std::int64_t>> got;
  for (const auto& entry : map.as_array()) {
    std::int64_t sum = 0;
    for (const auto* s : kSeverities) {
      auto n = as_int(entry.at("severity_breakdown").at(s));
      sum += n;
      if (n > 0) got[std::string(entry.at("sensor_id").as_string())][s] = n;
    }
    EXPECT_EQ(as_int(entry.at("threat_count")), sum);
  }
  EXPECT_EQ(got, expected);
}

// The overview's windows end at the server's "now", which lies between the two readings of the
// test's clock around the request: the answer must lie between the counts of those two windows.
TEST_F(AnalyticsSqlTest, OverviewEqualsCountsOverTheRawRows) {
  auto before = std::chrono::floor<std::chrono::seconds>(Clock::now());
  auto overview = get("overview");
  auto after = std::chrono::ceil<std::chrono::seconds>(Clock::now());
  auto count = [&](const std::string& where) {
    return std::stoll(sql("SELECT count(*) FROM threats WHERE " + where)[0][0]);
  };
  EXPECT_EQ(as_int(overview.at("total_threats")), count("1 = 1"));
  EXPECT_EQ(as_int(overview.at("total_sensors")), 9);
  struct Window {
    const char* field;
    std::chrono::seconds length;
    std::string extra;
  };
  for (const auto& w :
       {Window{"threats_last_24h", 24h, ""}, Window{"threats_last_7d", 7 * 24h, ""},
        Window{"critical_threats", 24h, " AND severity = 4"},
        Window{"high_threats", 24h, " AND severity = 3"}, Window{"threat_velocity", 1h, ""}}) {
    auto got = as_int(overview.at(w.field));
    // Widest window: from before - length to after; narrowest: from after - length to before.
    EXPECT_LE(got, count(between(before - w.length, after + 1s) + w.extra)) << w.field;
    EXPECT_GE(got, count(between(after - w.length, before) + w.extra)) << w.field;
  }
  EXPECT_GT(as_int(overview.at("threats_last_7d")), 0);
}

}  // namespace
}  // namespace honeyman::testing
