// Migrations on a database that already holds threats. The SOC workflow (SQLite 9, PostgreSQL 8):
// acknowledged rows become `acknowledged`, the others `new`, and updated_at reads as created_at
// without the migration rewriting them. The rollup levels (SQLite 11, PostgreSQL 10): the new
// rollups are filled so every analytics answer stays what it was. Runs on
// the stores a second connection can reach (SQLite file, PostgreSQL), which take the database back
// to the schema before the migration.
#include <libpq-fe.h>
#include <sqlite3.h>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using domain::ThreatStatus;

std::vector<StoreParam> reachable_stores() {
  std::vector<StoreParam> out;
  for (auto& p : store_params())
    if (p.name != "sqlite_memory") out.push_back(p);
  return out;
}

class TriageUpgradeTest : public StoreTest {
 protected:
  // Runs `sql` (several statements) on the test's database from a connection of its own.
  void exec(const std::string& sql) {
    if (is_postgres_url(url_)) {
      PGconn* conn = PQconnectdb(url_.c_str());
      PGresult* r = PQexec(conn, sql.c_str());
      EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
      PQclear(r);
      PQfinish(conn);
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }
  // The schema before the SOC workflow: its columns, tables and migration record gone, and the
  // alerting tables that came after it (a migration may assume those before it).
  // The schema before the rollup levels: their tables gone, and the per-sensor hourly rollup by
  // sensor × detector × severity × type back, made from the raw rows (all still stored here).
  void drop_rollup_levels() {
    exec(
        "CREATE TABLE threat_rollups_hourly (bucket bigint NOT NULL, sensor_id text NOT NULL,"
        " detector_type text NOT NULL, severity smallint NOT NULL, threat_type text NOT NULL,"
        " count bigint NOT NULL, score_sum double precision NOT NULL,"
        " PRIMARY KEY (bucket, sensor_id, detector_type, severity, threat_type));"
        "INSERT INTO threat_rollups_hourly SELECT timestamp - timestamp % 3600000000, sensor_id,"
        " detector_type, severity, threat_type, count(*), sum(threat_score) FROM threats"
        " GROUP BY 1, 2, 3, 4, 5;"
        "DROP TABLE threat_rollups_fleet_minutely; DROP TABLE threat_rollups_fleet_daily;"
        "DROP TABLE threat_rollups_type_daily; DROP TABLE threat_rollups_sensor_hourly;"
        "DELETE FROM schema_migrations WHERE version = " +
        std::string(is_postgres_url(url_) ? "10" : "11") + ";");
  }
  void downgrade() {
    drop_rollup_levels();
    exec(
        "DROP TABLE alert_destinations; DROP TABLE alert_rules; DROP TABLE alerts;"
        "DROP TABLE alert_deliveries; DROP TABLE sensor_commands;"
        "DELETE FROM schema_migrations WHERE version = " +
        std::string(is_postgres_url(url_) ? "9" : "10") + ";");
    if (is_postgres_url(url_))
      exec(
          "ALTER TABLE threats DROP COLUMN status, DROP COLUMN assignee, DROP COLUMN updated_at;"
          "DROP TABLE threat_history; DROP TABLE audit_log;"
          "DELETE FROM schema_migrations WHERE version = 8;");
    else
      exec(
          "DROP INDEX threats_status_timestamp; DROP INDEX threats_assignee_timestamp;"
          "ALTER TABLE threats DROP COLUMN status; ALTER TABLE threats DROP COLUMN assignee;"
          "ALTER TABLE threats DROP COLUMN updated_at;"
          "DROP TABLE threat_history; DROP TABLE audit_log;"
          "DELETE FROM schema_migrations WHERE version = 9;");
  }
};

TEST_P(TriageUpgradeTest, AcknowledgedRowsBecomeAcknowledgedAndTheRestNew) {
  add_sensors(store(), {"sensor-a"});
  auto ts = insert(store(), {make_threat({}), make_threat({.timestamp = kT0 + 1s})});
  ASSERT_EQ(ts.size(), 2u);
  ASSERT_TRUE(store().acknowledge_threat(ts[0].id, "alice", "seen", kT0 + 1h));
  const int newest = store().schema_version().value();
  store_.reset();
  downgrade();

  store_ = open_again();
  ASSERT_TRUE(store_);
  ASSERT_EQ(store().schema_version().value(), newest - 3);
  ASSERT_EQ(store().migrate().value(), newest);
  auto acknowledged = store().find_threat(ts[0].id).value();
  EXPECT_EQ(acknowledged.status, ThreatStatus::acknowledged);
  EXPECT_TRUE(acknowledged.is_acknowledged);
  EXPECT_EQ(acknowledged.acknowledged_by, "alice");
  EXPECT_FALSE(acknowledged.assignee);
  EXPECT_EQ(acknowledged.updated_at, acknowledged.created_at);  // NULL, read as created_at
  auto untouched = store().find_threat(ts[1].id).value();
  EXPECT_EQ(untouched.status, ThreatStatus::new_);
  EXPECT_EQ(untouched.updated_at, untouched.created_at);

  ThreatQuery q;
  q.statuses = {ThreatStatus::acknowledged};
  EXPECT_EQ(ids_of(store().query_threats(q).value().threats), std::vector{ts[0].id});
  EXPECT_TRUE(store().threat_history(ts[0].id).value().empty());
  ThreatChange resolve;
  resolve.status = ThreatStatus::resolved;
  auto resolved = store().update_threat(ts[0].id, resolve, "bob", kT0 + 2h);
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(resolved->updated_at, kT0 + 2h);
  EXPECT_EQ(store().threat_history(ts[0].id).value().size(), 1u);
}

TEST_P(TriageUpgradeTest, RollupLevelsAreFilledSoAnalyticsAnswersStayTheSame) {
  add_sensors(store(), {"sensor-a", "sensor-b"});
  std::vector<domain::Threat> threats;
  for (int i = 0; i < 300; ++i)  // over ~3 days, every severity and two types
    threats.push_back(make_threat(
        {.sensor_id = i % 3 == 0 ? "sensor-b" : "sensor-a",
         .timestamp = kT0 + std::chrono::minutes(i * 13) + std::chrono::microseconds(i * 7919),
         .severity = static_cast<domain::Severity>(i % 5),
         .threat_type = i % 4 == 0 ? "deauth" : "port_scan",
         .threat_score = (i % 10) / 10.0}));
  ASSERT_EQ(insert(store(), threats).size(), threats.size());
  const std::vector<TimeWindow> windows = {
      {kT0 + 7min + 3us, kT0 + 2 * 24h + 5h + 59min + 1s},  // days, hours, minutes, raw rows
      {kT0 + 24h, kT0 + 3 * 24h},                           // whole days
      {kT0 + 25h + 30s, kT0 + 25h + 45min}};                // inside one hour
  auto answers = [&] {
    std::vector<std::string> out;
    for (const auto& w : windows) {
      for (auto bucket : {TrendBucket::hour, TrendBucket::day})
        for (const auto& p : store().threat_trend({bucket, w, std::nullopt}).value())
          out.push_back(std::to_string(to_unix_micros(p.bucket_start)) + ":" +
                        std::to_string(p.counts.total()));
      auto types = store().top_threat_types(w, 10).value();
      out.push_back("types " + std::to_string(types.total));
      for (const auto& t : types.top)
        out.push_back(t.threat_type + " " + std::to_string(t.counts.total()));
    }
    for (const auto& w : windows) {
      for (const auto& c : store().sensor_threat_counts(w, {}).value())
        out.push_back(c.sensor_id + " " + std::to_string(c.counts.total()));
      for (const auto& p : store().threat_trend({TrendBucket::hour, w, "sensor-b"}).value())
        out.push_back("b " + std::to_string(p.counts.total()));
    }
    auto o = store().fleet_overview(kT0 + 3 * 24h, kT0).value();
    out.push_back("overview " + std::to_string(o.last_24h.total()) + " " +
                  std::to_string(o.last_7d) + " " + std::to_string(o.last_hour) + " " +
                  std::to_string(o.score_sum_24h));
    return out;
  };
  auto before = answers();
  ASSERT_GT(before.size(), 20u);
  const int newest = store().schema_version().value();
  store_.reset();
  drop_rollup_levels();
  store_ = open_again();
  ASSERT_TRUE(store_);
  ASSERT_EQ(store().schema_version().value(), newest - 1);
  ASSERT_EQ(store().migrate().value(), newest);
  EXPECT_EQ(answers(), before);
}

INSTANTIATE_TEST_SUITE_P(Stores, TriageUpgradeTest, ::testing::ValuesIn(reachable_stores()),
                         param_name);

}  // namespace
}  // namespace honeyman::store::testing
