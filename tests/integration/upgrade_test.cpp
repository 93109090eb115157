// Operations over a release's life (issue #13): backups taken while the server ingests and
// restored into a new server; schema upgrades (progress, /health while migrating, refusal of a
// newer schema, --dry-run); and the command line a newcomer meets first (global flags after the
// subcommand, enumerated values checked when parsed, no database created by accident).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;
using Env = std::map<std::string, std::string>;

std::string now_iso() {
  return iso_time(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

// A distinct threat (its id derives from its content) from `sensor`.
json::object threat(const std::string& sensor, int n) {
  auto t = wire_sample("canonical-threat.json").as_object();
  t["sensor_id"] = sensor;
  t["timestamp"] = now_iso();
  t["raw_event"].as_object()["n"] = n;
  t["severity"] = n % 3 == 0 ? "critical" : "medium";
  return t;
}

// Every total the API answers that should agree when the database is consistent: the exact row
// count of the list, the overview's maintained total, the per-sensor maintained totals.
struct Totals {
  std::int64_t listed = -1, overview = -1, sensors_sum = 0;
};

Totals totals_of(const ServerProcess& server, const std::string& token) {
  auto client = server.client();
  Totals t;
  auto page = client.get("/api/v2/threats?page_size=1", bearer(token));
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.json().at("total_is_exact"), true);
  t.listed = page.json().at("total").to_number<std::int64_t>();
  auto overview = client.get("/api/v2/analytics/overview", bearer(token));
  EXPECT_EQ(overview.status, 200) << overview.body;
  t.overview = overview.json().at("total_threats").to_number<std::int64_t>();
  auto sensors = client.get("/api/v2/sensors?page_size=100", bearer(token));
  EXPECT_EQ(sensors.status, 200) << sensors.body;
  const auto listed = sensors.json();  // kept: the loop below reads into it
  for (const auto& s : listed.at("sensors").as_array())
    t.sensors_sum += s.at("total_threats_detected").to_number<std::int64_t>();
  return t;
}

// ---------------------------------------------------------------------------------------------
TEST(Backup, TakenUnderIngestRestoresIntoANewServerWithTheSameTotals) {
  auto fleet = Fleet::start();
  auto& source = *fleet->server;
  // Something to copy before the load starts.
  auto client = source.client();
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(
        client.post("/api/v2/threats", threat("sensor-a", i), api_key(fleet->sensor_a_key)).status,
        201);

  // Ingest keeps running while the backup is taken.
  std::atomic<bool> stop{false};
  std::atomic<int> posted{0};
  auto load = std::async(std::launch::async, [&] {
    auto c = source.client();
    for (int i = 1000; !stop; ++i) {
      json::array batch;
      for (int k = 0; k < 20; ++k) batch.push_back(threat("sensor-b", i * 20 + k));
      if (c.post("/api/v2/threats", batch, api_key(fleet->sensor_b_key)).status == 201)
        posted += 20;
    }
  });
  while (posted < 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  TempDir dir;
  const std::string copy = dir.path() + (on_postgres() ? "/honeyman.dump" : "/honeyman.db");
  auto backup = source.cli({"backup", "--to", copy});
  auto posted_during = posted.load();
  stop = true;
  load.get();
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_NE(backup.out.find("written to " + copy), std::string::npos) << backup.out;
  EXPECT_NE(backup.err.find("backup: 100%"), std::string::npos) << backup.err;
  EXPECT_GT(posted.load(), posted_during) << "the load should outlast the backup";
  // A second backup to the same path never overwrites the first.
  auto again = source.cli({"backup", "--to", copy});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("never overwrites"), std::string::npos) << again.err;

  ServerProcess restored;
  auto restore = restored.cli({"restore", "--from", copy});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  restored.start();
  // The copy holds the users: the source's admin logs in to the restored server.
  auto admin = restored.login("root", "admin-password-1");
  auto after = totals_of(restored, admin);
  EXPECT_GE(after.listed, 200 + 200);  // what existed before the backup began
  EXPECT_LE(after.listed, 200 + posted.load());
  EXPECT_EQ(after.overview, after.listed);
  EXPECT_EQ(after.sensors_sum, after.listed);
  if (!on_postgres()) {  // the SQLite copy counts its rows as it is made
    EXPECT_NE(backup.out.find(std::to_string(after.listed) + " threats"), std::string::npos)
        << backup.out << " vs " << after.listed;
  }
  auto before = totals_of(source, fleet->admin);
  EXPECT_EQ(before.listed, 200 + posted.load());

  // Restoring over a database that has a schema needs an explicit choice.
  restored.stop();
  auto over = restored.cli({"restore", "--from", copy});
  EXPECT_EQ(over.exit_code, 1);
  EXPECT_NE(over.err.find("already holds a Honeyman"), std::string::npos) << over.err;
}

TEST(Backup, RefusesWhatIsNotABackup) {
  ServerProcess server;
  TempDir dir;
  std::ofstream(dir.path() + "/junk") << "not a database";
  auto r = server.cli({"restore", "--from", dir.path() + "/junk"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("restore failed"), std::string::npos) << r.err;
  auto missing = server.cli({"restore", "--from", dir.path() + "/nothing"});
  EXPECT_NE(missing.exit_code, 0);
}

// ---------------------------------------------------------------------------------------------
// Holds the migration back from outside: SQLite's write lock, or PostgreSQL's migration lock
// (the advisory lock every honeyman takes to migrate), until release().
class MigrationBlocker {
 public:
  explicit MigrationBlocker(const std::string& database_url) {
    if (database_url.starts_with("sqlite:///")) {
      auto path = database_url.substr(std::string("sqlite:///").size());
      EXPECT_EQ(sqlite3_open(path.c_str(), &sqlite_), SQLITE_OK);
      EXPECT_EQ(sqlite3_exec(sqlite_, "PRAGMA journal_mode=WAL; BEGIN IMMEDIATE", nullptr, nullptr,
                             nullptr),
                SQLITE_OK)
          << sqlite3_errmsg(sqlite_);
    } else {
      pg_ = PQconnectdb(database_url.c_str());
      EXPECT_EQ(PQstatus(pg_), CONNECTION_OK) << PQerrorMessage(pg_);
      PGresult* r = PQexec(pg_, "SELECT pg_advisory_lock(5219511875251535873)");
      EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(pg_);
      PQclear(r);
    }
  }
  void release() {
    if (sqlite_) sqlite3_close_v2(std::exchange(sqlite_, nullptr));  // rolls back
    if (pg_) PQfinish(std::exchange(pg_, nullptr));                  // unlocks
  }
  ~MigrationBlocker() { release(); }

 private:
  sqlite3* sqlite_ = nullptr;
  PGconn* pg_ = nullptr;
};

TEST(Upgrade, HealthAnswersWhileMigratingAndReadyWaits) {
  const auto port = free_port();
  ServerProcess server(Env{{"PORT", std::to_string(port)}});
  // An empty database file in WAL mode (SQLite), or the empty test database (PostgreSQL): every
  // migration is pending.
  std::unique_ptr<MigrationBlocker> blocker;
  {
    const auto& url = server.env().at("DATABASE_URL");
    if (url.starts_with("sqlite:///")) ASSERT_EQ(execute_sql(url, "PRAGMA journal_mode=WAL"), "");
    blocker = std::make_unique<MigrationBlocker>(url);
  }
  // The probe runs beside start() (which waits for the real server): the server must be spawned
  // by this thread, whose end would take it down (PR_SET_PDEATHSIG).
  struct Seen {
    int health = 0, prefixed_health = 0, ready = 0, api = 0;
    std::string ready_body;
  };
  auto probe = std::async(std::launch::async, [&] {
    Seen seen;
    if (eventually([&] { return port_accepts(port); }, std::chrono::seconds(20))) {
      HttpClient client("127.0.0.1", port);
      seen.health = client.get("/health").status;
      seen.prefixed_health = client.get("/api/v2/health").status;
      auto ready = client.get("/ready");
      seen.ready = ready.status;
      seen.ready_body = ready.body;
      seen.api = client.get("/api/v2/sensors").status;
    }
    blocker->release();
    return seen;
  });
  server.start();
  auto seen = probe.get();
  EXPECT_EQ(seen.health, 200);
  EXPECT_EQ(seen.prefixed_health, 200);
  EXPECT_EQ(seen.ready, 503) << seen.ready_body;
  EXPECT_NE(seen.ready_body.find("\"store\":\"migrating"), std::string::npos) << seen.ready_body;
  EXPECT_EQ(seen.api, 404) << "no API while migrating";
  // A new connection each time: the migration front closed the old one when it handed over.
  ASSERT_TRUE(eventually([&] { return HttpClient("127.0.0.1", port).get("/ready").status == 200; },
                         std::chrono::seconds(20)))
      << server.log();
  EXPECT_EQ(server.port(), port) << "the real server takes over the same port";
  auto log = server.log();
  EXPECT_NE(log.find("migration 1 ("), std::string::npos) << log;
  EXPECT_NE(log.find("applied in"), std::string::npos) << log;
  EXPECT_NE(log.find("schema migrated from version 0 to"), std::string::npos) << log;
}

TEST(Upgrade, ANewerSchemaIsRefusedInOneLine) {
  ServerProcess server;
  ASSERT_EQ(server.cli({"migrate"}).exit_code, 0);
  const auto& url = server.env().at("DATABASE_URL");
  const char* future =
      "INSERT INTO schema_migrations (version, name, applied_at) "
      "VALUES (999, 'from the future', 0)";
  ASSERT_EQ(execute_sql(url, future), "");
  for (auto command : {std::vector<std::string>{"serve"}, {"user", "list"}, {"migrate"}}) {
    auto r = server.cli(command);
    EXPECT_EQ(r.exit_code, 1) << command[0];
    const std::string line = "schema is version 999, newer than this honeyman";
    EXPECT_NE(r.err.find(line), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(line), r.err.rfind(line)) << "said once: " << r.err;
    if (command[0] != "serve")  // the server logs its start-up lines before it
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(Upgrade, DryRunListsPendingAndChangesNothing) {
  ServerProcess server;
  auto dry = server.cli({"migrate", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  if (!on_postgres()) {  // no file yet: the dry run must not create one
    EXPECT_NE(dry.out.find("every migration is pending"), std::string::npos) << dry.out;
    auto path = server.env().at("DATABASE_URL").substr(10);
    EXPECT_FALSE(std::filesystem::exists(path));
    ASSERT_EQ(server.cli({"--database-url", "sqlite:///" + path, "user", "list"}).exit_code, 0);
    dry = server.cli({"migrate", "--dry-run"});  // an existing, migrated file
    EXPECT_NE(dry.out.find("0 pending migrations"), std::string::npos) << dry.out;
    return;
  }
  EXPECT_NE(dry.out.find("schema at version 0"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("pending: 1 users"), std::string::npos) << dry.out;
  auto again = server.cli({"migrate", "--dry-run"});
  EXPECT_EQ(again.out, dry.out) << "a dry run applies nothing";
  auto applied = server.cli({"migrate"});
  EXPECT_NE(applied.out.find("migration 1 (users"), std::string::npos) << applied.out;
  EXPECT_NE(applied.out.find("applied in"), std::string::npos) << applied.out;
  EXPECT_NE(server.cli({"migrate", "--dry-run"}).out.find("0 pending migrations"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
TEST(FirstRun, GlobalFlagsWorkAfterTheSubcommand) {
  ServerProcess server;
  server.add_user("alice", "viewer", "alice-password-123");
  TempDir dir;
  std::ofstream(dir.path() + "/settings.env")
      << "DATABASE_URL=" << server.env().at("DATABASE_URL") << "\n";
  Env bare;  // no DATABASE_URL in the environment: only the file names the database
  auto before = run_honeyman({"--env-file", dir.path() + "/settings.env", "user", "list"}, bare);
  auto after = run_honeyman({"user", "list", "--env-file", dir.path() + "/settings.env"}, bare);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  EXPECT_NE(after.out.find("alice"), std::string::npos) << after.out;
  auto level = server.cli({"user", "list", "--log-level", "error"});
  EXPECT_EQ(level.exit_code, 0) << level.err;
}

TEST(FirstRun, EnumeratedValuesAreCheckedWhenParsed) {
  ServerProcess server;
  for (auto args : {std::vector<std::string>{"user", "add", "bob", "--role", "boss"},
                    {"user", "set-role", "bob", "root"},
                    {"--log-level", "loud", "user", "list"}}) {
    auto r = server.cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << ": a usage error";
    EXPECT_NE(r.err.find("not in {"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // Refused before anything ran: no database was created for them.
  if (!on_postgres())
    EXPECT_FALSE(std::filesystem::exists(server.env().at("DATABASE_URL").substr(10)));
}

TEST(FirstRun, NoDatabaseIsCreatedByAccident) {
  TempDir dir;
  Env bare;  // no DATABASE_URL anywhere, no ./.env in the working directory
  auto r = run_honeyman({"user", "list"}, bare, {}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("DATABASE_URL is not set"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("honeyman init"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/honeyman.db"));
  // Named on purpose, a new database is created and the command says so.
  auto named =
      run_honeyman({"--database-url", "sqlite:///fresh.db", "user", "list"}, bare, {}, dir.path());
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_NE(named.err.find("creating a new SQLite database at " + dir.path() + "/fresh.db"),
            std::string::npos)
      << named.err;
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/fresh.db"));
}

}  // namespace
}  // namespace honeyman::testing
