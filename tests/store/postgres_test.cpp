// PostgreSQL only: day partitions of `threats` (rows land in their day, stragglers in the
// default partition, maintain() creates partitions ahead idempotently and moves rows out of the
// default partition), concurrent migrations of a fresh database, reconnection after the server
// dropped the store's connections. The catalog is read through a libpq connection of the test's.
#include <libpq-fe.h>

#include <functional>
#include <future>
#include <map>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

// Runs `sql` on `url`; every row as a vector of texts (NULL as "").
std::vector<std::vector<std::string>> query(const std::string& url, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  PGconn* conn = PQconnectdb(url.c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexec(conn, sql.c_str());
  auto status = PQresultStatus(r);
  EXPECT_TRUE(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  for (int i = 0; i < PQntuples(r); ++i) {
    rows.emplace_back();
    for (int c = 0; c < PQnfields(r); ++c) rows.back().emplace_back(PQgetvalue(r, i, c));
  }
  PQclear(r);
  PQfinish(conn);
  return rows;
}

class PostgresTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    add_sensors(store(), {"sensor-a"});
  }
  // Partition name → rows in it.
  std::map<std::string, int> rows_per_partition() {
    std::map<std::string, int> out;
    for (const auto& row :
         query(url_, "SELECT tableoid::regclass::text, count(*) FROM threats GROUP BY 1"))
      out[row[0]] = std::stoi(row[1]);
    return out;
  }
  std::vector<std::string> partitions() {
    std::vector<std::string> out;
    for (const auto& row : query(url_,
                                 "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON "
                                 "c.oid = i.inhrelid WHERE i.inhparent = 'threats'::regclass "
                                 "ORDER BY 1"))
      out.push_back(row[0]);
    return out;
  }
  bool has_partition(const std::string& name) {
    auto all = partitions();
    return std::find(all.begin(), all.end(), name) != all.end();
  }
};

// kT0 is 2027-01-15T08:00:00Z.
TEST_P(PostgresTest, MaintainCreatesDayPartitionsAheadIdempotently) {
  ASSERT_TRUE(store().maintain(kT0));
  for (auto day : {"20270114", "20270115", "20270116", "20270122"})
    EXPECT_TRUE(has_partition(std::string("threats_p") + day)) << day;
  EXPECT_FALSE(has_partition("threats_p20270113"));
  EXPECT_FALSE(has_partition("threats_p20270123"));
  EXPECT_TRUE(has_partition("threats_default"));
  auto before = partitions();
  ASSERT_TRUE(store().maintain(kT0));
  ASSERT_TRUE(store().maintain(kT0 + 1h));
  EXPECT_EQ(partitions(), before);
  ASSERT_TRUE(store().maintain(kT0 + 24h));
  EXPECT_TRUE(has_partition("threats_p20270123"));
  EXPECT_EQ(partitions().size(), before.size() + 1);
}

TEST_P(PostgresTest, RowsLandInTheirDayPartitionAndStragglersInTheDefault) {
  ASSERT_TRUE(store().maintain(kT0));
  auto today = make_threat({.timestamp = kT0});
  auto midnight = make_threat({.timestamp = kT0 + 16h});  // 2027-01-16T00:00:00Z exactly
  auto last_micro = make_threat({.timestamp = kT0 + 16h - 1us});
  auto ancient = make_threat({.timestamp = kT0 - 24h * 3650});
  auto far_future = make_threat({.timestamp = kT0 + 24h * 365});
  insert(store(), {today, midnight, last_micro, ancient, far_future});
  auto counts = rows_per_partition();
  EXPECT_EQ(counts["threats_p20270115"], 2);
  EXPECT_EQ(counts["threats_p20270116"], 1);
  EXPECT_EQ(counts["threats_default"], 2);
  // Lookups by id find threats in any partition, the default one included.
  for (const auto& t : {today, midnight, ancient, far_future})
    EXPECT_EQ(code_of(store().find_threat(t.id)), Errc::ok) << t.id;
  EXPECT_TRUE(
      store().acknowledge_threat(ancient.id, "alice", std::nullopt, kT0).value().is_acknowledged);
  ASSERT_TRUE(store().delete_threat(far_future.id));
  EXPECT_EQ(rows_per_partition()["threats_default"], 1);
  EXPECT_EQ(store().query_threats({}).value().total, 4);
}

TEST_P(PostgresTest, NewPartitionTakesItsRowsFromTheDefault) {
  auto later = kT0 + 24h * 30;  // 2027-02-14: no partition yet
  auto t = make_threat({.timestamp = later});
  insert(store(), {t, make_threat({.timestamp = later + 1h})});
  EXPECT_EQ(rows_per_partition()["threats_default"], 2);
  ASSERT_TRUE(store().maintain(later));
  auto counts = rows_per_partition();
  EXPECT_EQ(counts["threats_p20270214"], 2);
  EXPECT_EQ(counts.count("threats_default"), 0u);
  EXPECT_EQ(store().find_threat(t.id).value().id, t.id);
  EXPECT_EQ(store().query_threats({.start_time = later}).value().total, 2);
  EXPECT_EQ(store().sensor_stats("sensor-a", later + 2h).value().threats_last_24h, 2);
}

TEST_P(PostgresTest, ConcurrentMaintenanceAgrees) {
  auto other = open_again();
  ASSERT_NE(other, nullptr);
  auto a = std::async(std::launch::async, [&] { return store().maintain(kT0 + 24h * 100); });
  auto b = std::async(std::launch::async, [&] { return other->maintain(kT0 + 24h * 100); });
  auto ra = a.get(), rb = b.get();
  EXPECT_TRUE(ra) << ra.error().message;
  EXPECT_TRUE(rb) << rb.error().message;
  EXPECT_TRUE(has_partition("threats_p20270425"));
}

// Two processes migrating one new database at once: each migration is applied exactly once.
TEST_P(PostgresTest, ConcurrentMigrationsOfAFreshDatabaseAgree) {
  auto fresh = create_test_database(server_url_);
  ASSERT_FALSE(fresh.empty());
  {
    auto a = open_store({.database_url = fresh});
    auto b = open_store({.database_url = fresh});
    ASSERT_TRUE(a && b);
    EXPECT_EQ((*a)->schema_version().value(), 0);
    auto ma = std::async(std::launch::async, [&] { return (*a)->migrate(); });
    auto mb = std::async(std::launch::async, [&] { return (*b)->migrate(); });
    auto ra = ma.get(), rb = mb.get();
    ASSERT_TRUE(ra) << ra.error().message;
    ASSERT_TRUE(rb) << rb.error().message;
    EXPECT_GT(*ra, 0);
    EXPECT_EQ(*ra, *rb);
    EXPECT_EQ(query(fresh, "SELECT count(*) FROM schema_migrations")[0][0], std::to_string(*ra));
  }
  drop_test_database(server_url_, fresh);
}

// The server ends every connection of the store (as a restart or an idle timeout would): the
// next calls reconnect instead of failing.
TEST_P(PostgresTest, ReconnectsAfterTheServerDroppedItsConnections) {
  ASSERT_TRUE(store().create_user(make_user("alice")));
  auto killed = query(url_,
                      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                      "datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_NE(killed[0][0], "0");
  EXPECT_EQ(code_of(store().ping()), Errc::ok);
  EXPECT_EQ(code_of(store().find_user_by_name("alice")), Errc::ok);
  insert(store(), {make_threat({})});
  EXPECT_EQ(store().query_threats({}).value().total, 1);
}

// PostgreSQL text cannot hold NUL; one such byte must not fail a batch of many sensors' threats.
TEST_P(PostgresTest, NulBytesAreDroppedNotFatal) {
  auto t = make_threat({});
  t.device_name = std::string("ab\0cd", 5);
  auto stored = insert(store(), {t, make_threat({})});
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(store().find_threat(t.id).value().device_name, "abcd");
}

TEST_P(PostgresTest, OldDriverSchemesAreAccepted) {
  auto pos = url_.find("://");
  auto asyncpg = "postgresql+asyncpg" + url_.substr(pos);
  auto opened = open_store({.database_url = asyncpg});
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(code_of((*opened)->ping()), Errc::ok);
}

// Retention on PostgreSQL with a fixed clock: the day partitions wholly before the cutoff are
// dropped (gone from the catalog), the rows of the day holding the cutoff and the stragglers of
// the default partition go in bounded batches; rollups, all-time totals and sensor stats keep
// the history; the /threats total stays exact (it is what is left to page through).
TEST_P(PostgresTest, RetentionDropsWholeDayPartitionsAndKeepsHistory) {
  add_sensors(store(), {"sensor-b"});
  ASSERT_TRUE(store().maintain(kT0));  // 2027-01-14 .. 2027-01-22
  const auto jan14 = kT0 - 32h;        // 2027-01-14T00:00:00Z
  std::vector<domain::Threat> batch;
  for (int i = 0; i < 5 * 48; ++i)  // every 30 min, 2027-01-14 .. 2027-01-18 (5 days)
    batch.push_back(make_threat({.sensor_id = i % 3 ? "sensor-a" : "sensor-b",
                                 .timestamp = jan14 + i * 30min + 1s,
                                 .severity = static_cast<domain::Severity>(i % 5)}));
  batch.push_back(make_threat({.timestamp = kT0 - 24h * 3650}));  // the default partition
  const auto inserted = static_cast<std::int64_t>(insert(store(), batch).size());
  ASSERT_EQ(rows_per_partition()["threats_p20270114"], 48);
  ASSERT_EQ(rows_per_partition()["threats_default"], 1);
  const auto now = jan14 + 3 * 24h + 6h + 10min;
  const auto stats_before = store().sensor_stats("sensor-a", now).value();
  auto trend_total = [&](const TimeWindow& w) {
    std::int64_t n = 0;
    for (const auto& p : store().threat_trend({TrendBucket::hour, w, std::nullopt}).value())
      n += p.counts.total();
    return n;
  };
  const TimeWindow old_days{jan14, jan14 + 3 * 24h};
  ASSERT_EQ(trend_total(old_days), 3 * 48);

  // 2027-01-17T06:10Z: three whole days, 13 rows of the 17th (00:00:01 .. 06:00:01), 1 straggler.
  const auto cutoff = now;
  const std::int64_t expected = 3 * 48 + 13 + 1;
  std::vector<std::int64_t> calls;
  for (std::int64_t n = -1; n != 0;) {
    auto r = store().delete_threats_before(cutoff, 5);
    ASSERT_TRUE(r) << r.error().message;
    n = *r;
    calls.push_back(n);
    ASSERT_LT(calls.size(), 20u);
  }
  // A partition goes whole in one call; the remaining rows in batches of at most 5.
  ASSERT_GE(calls.size(), 4u);
  EXPECT_EQ(calls[0], 48);
  EXPECT_EQ(calls[1], 48);
  EXPECT_EQ(calls[2], 48);
  std::int64_t removed = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    removed += calls[i];
    if (i >= 3) {
      EXPECT_LE(calls[i], 5);
    }
  }
  EXPECT_EQ(removed, expected);

  // The old partitions are gone from the catalog; the day holding the cutoff and later remain.
  for (auto day : {"20270114", "20270115", "20270116"}) {
    EXPECT_FALSE(has_partition(std::string("threats_p") + day)) << day;
    EXPECT_EQ(query(url_, std::string("SELECT to_regclass('threats_p") + day + "') IS NULL")[0][0],
              "t");
  }
  for (auto day : {"20270117", "20270118", "20270122"})
    EXPECT_TRUE(has_partition(std::string("threats_p") + day)) << day;
  EXPECT_TRUE(has_partition("threats_default"));
  EXPECT_EQ(query(url_, "SELECT count(*) FROM threats WHERE timestamp < " +
                            std::to_string(to_unix_micros(cutoff)))[0][0],
            "0");

  // /threats: the exact total is what is left, per filter too.
  auto page = store().query_threats({}).value();
  EXPECT_EQ(page.total, inserted - expected);
  EXPECT_TRUE(page.total_is_exact);
  EXPECT_EQ(query(url_, "SELECT count(*) FROM threats")[0][0], std::to_string(inserted - expected));
  ThreatQuery by_b;
  by_b.sensor_ids = {"sensor-b"};
  EXPECT_EQ(
      store().query_threats(by_b).value().total,
      std::stoll(query(url_, "SELECT count(*) FROM threats WHERE sensor_id = 'sensor-b'")[0][0]));
  EXPECT_EQ(query(url_, "SELECT sum(expired) FROM threat_totals")[0][0], std::to_string(expected));

  // History: rollups of the dropped days, the all-time total and sensor stats are unchanged.
  EXPECT_EQ(trend_total(old_days), 3 * 48);
  EXPECT_EQ(query(url_, "SELECT sum(count) FROM threat_rollups_sensor_hourly")[0][0],
            std::to_string(inserted));
  EXPECT_EQ(store().top_threat_types(old_days, 5).value().total, 3 * 48);
  EXPECT_EQ(store().fleet_overview(now, now).value().total_threats, inserted);
  auto stats_after = store().sensor_stats("sensor-a", now).value();
  EXPECT_EQ(stats_after.total_threats, stats_before.total_threats);
  EXPECT_EQ(stats_after.threats_by_severity, stats_before.threats_by_severity);
  EXPECT_EQ(stats_after.threats_by_detector, stats_before.threats_by_detector);

  // Nothing more to do; new rows of a kept day still land in their partition.
  EXPECT_EQ(store().delete_threats_before(cutoff, 5).value(), 0);
  insert(store(), {make_threat({.timestamp = jan14 + 4 * 24h + 1h})});
  EXPECT_EQ(rows_per_partition()["threats_p20270118"], 49);
}

// Newest-first listings are first tried on the newest partitions only (a lower time bound,
// widened until a page is full): pages stay exact across partitions of many days, sparse
// filters, stragglers in the default partition far in the future and past, and a sensor deleted
// after its threats (so the newest threat is newer than any sensor's last_threat_at).
TEST_P(PostgresTest, NewestFirstPagesAreExactAcrossManyPartitions) {
  add_sensors(store(), {"sensor-b", "sensor-gone"});
  for (int week = 0; week < 4; ++week) ASSERT_TRUE(store().maintain(kT0 + week * 7 * 24h));
  std::vector<domain::Threat> batch;
  for (int i = 0; i < 400; ++i)  // 18 days, denser in the first days, sparse criticals
    batch.push_back(make_threat({.sensor_id = i % 4 ? "sensor-a" : "sensor-b",
                                 .timestamp = kT0 + (i * i / 6) * 1min + (i % 7) * 1s,
                                 .severity = static_cast<domain::Severity>(i % 11 ? i % 4 : 4)}));
  batch.push_back(make_threat({.timestamp = kT0 + 24h * 400}));  // default partition, future
  batch.push_back(make_threat({.timestamp = kT0 - 24h * 400}));  // default partition, past
  batch.push_back(make_threat({.sensor_id = "sensor-gone", .timestamp = kT0 + 24h * 300}));
  auto stored = insert(store(), batch);
  ASSERT_TRUE(store().delete_sensor("sensor-gone"));
  std::stable_sort(stored.begin(), stored.end(),
                   [](const auto& x, const auto& y) { return x.timestamp > y.timestamp; });

  struct Case {
    ThreatQuery q;
    std::function<bool(const domain::Threat&)> match;
  };
  ThreatQuery all, critical_b, window;
  all.page_size = 13;
  critical_b.page_size = 3;
  critical_b.severities = {domain::Severity::critical};
  critical_b.sensor_ids = {"sensor-b"};
  window.page_size = 11;
  window.start_time = kT0 + 2 * 24h;
  window.end_time = kT0 + 9 * 24h;
  const std::vector<Case> cases = {
      {all, [](const auto&) { return true; }},
      {critical_b,
       [](const auto& t) {
         return t.severity == domain::Severity::critical && t.sensor_id == "sensor-b";
       }},
      {window, [&](const auto& t) {
         return t.timestamp >= *window.start_time && t.timestamp < *window.end_time;
       }}};
  for (const auto& c : cases) {
    std::vector<std::string> expected, by_cursor, by_offset;
    for (const auto& t : stored)
      if (c.match(t)) expected.push_back(t.id);
    ASSERT_GT(expected.size(), 3u);
    auto q = c.q;
    for (int page = 0; page < 100; ++page) {
      auto got = store().query_threats(q);
      ASSERT_TRUE(got) << got.error().message;
      for (const auto& t : got->threats) by_cursor.push_back(t.id);
      if (got->next_cursor.empty()) break;
      q.cursor = got->next_cursor;
    }
    for (int page = 1; page < 100; ++page) {
      auto o = c.q;
      o.page = page;
      auto got = store().query_threats(o).value();
      if (got.threats.empty()) break;
      for (const auto& t : got.threats) by_offset.push_back(t.id);
    }
    // Ties in timestamp are ordered by seq (insertion order), as stable_sort kept them.
    EXPECT_EQ(by_cursor, expected);
    EXPECT_EQ(by_offset, expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, PostgresTest, ::testing::ValuesIn(postgres_params()), param_name);

}  // namespace
}  // namespace honeyman::store::testing
