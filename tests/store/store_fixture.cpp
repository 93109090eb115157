#include "store_fixture.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

namespace honeyman::store::testing {
namespace {

constexpr std::string_view kFreshFile = "sqlite-file:";        // marker: make a new file per test
constexpr std::string_view kNoPostgres = "postgres-missing:";  // marker: no server configured

// `url` with its database name replaced by `database`.
std::string with_database(const std::string& url, const std::string& database) {
  auto authority = url.find("://");
  auto slash = url.find('/', authority == std::string::npos ? 0 : authority + 3);
  auto query = url.find('?');
  std::string base = url.substr(0, std::min(slash, query));
  std::string params = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + params;
}

std::string database_of(const std::string& url) {
  auto authority = url.find("://");
  auto slash = url.find('/', authority + 3);
  auto query = url.find('?');
  return url.substr(slash + 1, query == std::string::npos ? std::string::npos : query - slash - 1);
}

// Runs one statement on the server's maintenance database; "" or the error text.
std::string run_admin(const std::string& server_url, const std::string& sql) {
  PGconn* conn = PQconnectdb(server_url.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

// A migrated database per process to copy each test's database from (PostgreSQL: a template
// database of each server; SQLite: a file), so that a test does not run every migration again:
// on PostgreSQL that was ~0.3 s of the server's CPU per test, more than the test itself in most
// suites. The migrations run here once per process and server; the suites about migrating
// (open_store_test, postgres_test, triage_upgrade_test) start from empty or older schemas.
// Dropped when the process ends.
class Templates {
 public:
  ~Templates() {
    for (const auto& [server, url] : postgres_)
      run_admin(server, "DROP DATABASE IF EXISTS " + database_of(url) + " WITH (FORCE)");
    if (!sqlite_.empty()) std::filesystem::remove(sqlite_);
  }
  // The template database of `server_url`; "" (and a failed test) when it cannot be made.
  std::string postgres(const std::string& server_url) {
    auto& url = postgres_[server_url];
    if (url.empty()) url = migrated(create_test_database(server_url));
    return url;
  }
  std::string sqlite_file() {
    if (sqlite_.empty()) {
      auto path = (std::filesystem::temp_directory_path() /
                   ("honeyman-store-template-" + random_token(9) + ".db"))
                      .string();
      if (!migrated("sqlite:///" + path).empty()) sqlite_ = path;
    }
    return sqlite_;
  }

 private:
  // `url` once migrated and closed again (a template must have no connection); "" on failure.
  static std::string migrated(const std::string& url) {
    if (url.empty()) return "";
    auto opened = open_store({.database_url = url});
    EXPECT_TRUE(opened) << url << ": " << opened.error().message;
    if (!opened) return "";
    auto done = (*opened)->migrate();
    EXPECT_TRUE(done) << done.error().message;
    return done ? url : "";
  }
  std::map<std::string, std::string> postgres_;  // server URL -> template URL
  std::string sqlite_;
};

Templates& templates() {
  static Templates t;
  return t;
}

}  // namespace

bool is_postgres_url(const std::string& url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://") || url == kNoPostgres;
}

std::vector<StoreParam> postgres_params() {
  std::vector<StoreParam> out;
  for (auto& p : store_params())
    if (is_postgres_url(p.url)) out.push_back(p);
  return out;
}

std::string create_test_database(const std::string& server_url, const std::string& template_url) {
  // Lower-case hex: a name that needs no quoting.
  auto name = "honeyman_test_" + sha256_hex(random_token(16)).substr(0, 16);
  auto error = run_admin(
      server_url,
      "CREATE DATABASE " + name +
          (template_url.empty() ? std::string() : " TEMPLATE " + database_of(template_url)));
  EXPECT_EQ(error, "") << "cannot create a test database on " << server_url;
  return error.empty() ? with_database(server_url, name) : "";
}

void drop_test_database(const std::string& server_url, const std::string& database_url) {
  auto error = run_admin(server_url,
                         "DROP DATABASE IF EXISTS " + database_of(database_url) + " WITH (FORCE)");
  EXPECT_EQ(error, "");
}

// postgres_1 is always there, so the list of tests does not depend on the environment: without
// HONEYMAN_TEST_POSTGRES_URL its tests fail (loudly, in SetUp) instead of vanishing.
std::vector<StoreParam> store_params() {
  std::vector<StoreParam> params{{"sqlite_file", std::string(kFreshFile)},
                                 {"sqlite_memory", "sqlite:///:memory:"}};
  std::vector<std::string> urls;
  if (const char* pg = std::getenv("HONEYMAN_TEST_POSTGRES_URL"); pg != nullptr) {
    std::stringstream list(pg);
    for (std::string url; std::getline(list, url, ',');)
      if (!url.empty()) urls.push_back(url);
  }
  if (urls.empty()) urls.push_back(std::string(kNoPostgres));
  for (std::size_t i = 0; i < urls.size(); ++i)
    params.push_back({"postgres_" + std::to_string(i + 1), urls[i]});
  return params;
}

std::string param_name(const ::testing::TestParamInfo<StoreParam>& info) {
  return info.param.name;
}

void StoreTest::SetUp() {
  url_ = GetParam().url;
  if (url_ == kFreshFile) {
    file_ = (std::filesystem::temp_directory_path() / ("honeyman-store-" + random_token(9) + ".db"))
                .string();
    url_ = "sqlite:///" + file_;  // file_ is absolute: sqlite:////tmp/...
    auto migrated = templates().sqlite_file();
    ASSERT_FALSE(migrated.empty());
    std::filesystem::copy_file(migrated, file_);
  }
  ASSERT_NE(url_, kNoPostgres) << "HONEYMAN_TEST_POSTGRES_URL is not set: run the tests "
                                  "through scripts/test, or run `scripts/test-servers start` and "
                                  "export the variables of the env file it writes";
  if (is_postgres_url(url_)) {
    server_url_ = url_;
    auto migrated = templates().postgres(server_url_);
    ASSERT_FALSE(migrated.empty());
    url_ = create_test_database(server_url_, migrated);
    ASSERT_FALSE(url_.empty());
  }
  auto opened = open_store({.database_url = url_, .read_connections = 4, .busy_timeout_ms = 5000});
  ASSERT_TRUE(opened) << url_ << ": " << opened.error().message;
  store_ = std::move(*opened);
  auto migrated = store_->migrate();
  ASSERT_TRUE(migrated) << migrated.error().message;
}

void StoreTest::TearDown() {
  store_.reset();
  if (!server_url_.empty() && !url_.empty()) drop_test_database(server_url_, url_);
  if (file_.empty()) return;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(file_ + suffix);
}

std::unique_ptr<Store> StoreTest::open_again() {
  auto opened = open_store({.database_url = url_});
  EXPECT_TRUE(opened) << opened.error().message;
  return opened ? std::move(*opened) : nullptr;
}

// ---------------------------------------------------------------------------------------------
domain::User make_user(const std::string& username) {
  domain::User u;
  u.id = uuid_v4();
  u.username = username;
  u.email = username + "@example.org";
  u.full_name = "User " + username;
  u.role = domain::Role::analyst;
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  u.created_at = kT0;
  return u;
}

domain::Sensor make_sensor(const std::string& sensor_id, Timestamp created_at) {
  domain::Sensor s;
  s.id = uuid_v4();
  s.sensor_id = sensor_id;
  s.name = "Sensor " + sensor_id;
  s.description = "lobby";
  s.latitude = 52.52;
  s.longitude = 13.405;
  s.location_method = "manual";
  s.location_accuracy = 10.0;
  s.city = "Berlin";
  s.country = "DE";
  s.enabled_detectors = {"usb", "ble"};
  s.capabilities = boost::json::object{{"usb", true}, {"ble", true}};
  s.platform = "linux";
  s.architecture = "aarch64";
  s.agent_version = "2.1.0";
  s.python_version = "3.11";
  s.created_at = s.updated_at = created_at;
  s.registered_at = created_at;
  return s;
}

domain::Threat make_threat(const ThreatSpec& spec) {
  domain::Threat t;
  t.id = uuid_v7(spec.timestamp);
  t.timestamp = spec.timestamp;
  t.sensor_id = spec.sensor_id;
  t.threat_type = spec.threat_type;
  t.detector_type = spec.detector_type;
  t.severity = spec.severity;
  t.threat_score = spec.threat_score;
  t.confidence = 0.9;
  t.device_name = "Device";
  t.matched_rules = boost::json::array{boost::json::object{{"name", "rule-1"}}};
  t.raw_event = boost::json::object{{"message", "seen"}, {"metadata", {{"k", 1}}}};
  t.mitre_tactics = {"TA0001"};
  t.mitre_techniques = {"T1200"};
  t.created_at = t.updated_at = spec.timestamp + 1s;
  return t;
}

void add_sensors(Store& store, const std::vector<std::string>& sensor_ids, Timestamp created_at) {
  for (const auto& id : sensor_ids) {
    auto created = store.create_sensor(make_sensor(id, created_at), "");
    ASSERT_TRUE(created) << created.error().message;
  }
}

std::vector<domain::Threat> insert(Store& store, std::vector<domain::Threat> threats) {
  auto stored = store.insert_threats(threats);
  EXPECT_TRUE(stored) << stored.error().message;
  return stored ? std::move(threats) : std::vector<domain::Threat>{};
}

std::vector<std::string> ids_of(const std::vector<domain::Threat>& threats) {
  std::vector<std::string> ids;
  for (const auto& t : threats) ids.push_back(t.id);
  return ids;
}

}  // namespace honeyman::store::testing
