#include "integration/harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include "auth/auth.hpp"
#include "core/core.hpp"
#include "domain/domain.hpp"
#include "store/store.hpp"

namespace honeyman::testing {
namespace {

namespace fs = std::filesystem;

// `honeyman <args>` (or HONEYMAN_TEST_BINARY's: another build of the same sources, the
// *_release variants) with stdin from a file and stdout/stderr to files; returns the pid.
pid_t spawn_honeyman(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env, const std::string& in_path,
                     const std::string& out_path, const std::string& err_path,
                     std::string binary = {}, std::uint64_t max_open_files = 0,
                     const std::string& working_dir = {}) {
  const char* other = std::getenv("HONEYMAN_TEST_BINARY");
  if (binary.empty()) binary = other != nullptr && *other != '\0' ? other : HONEYMAN_BINARY;
  std::vector<std::string> argv{std::move(binary)};
  argv.insert(argv.end(), args.begin(), args.end());
  return spawn(argv, {.stdin_path = in_path,
                      .stdout_path = out_path,
                      .stderr_path = err_path,
                      .append = false,
                      .env = env,
                      .max_open_files = max_open_files,
                      .working_dir = working_dir});
}

// Tests run with a scrubbed environment: only what they set reaches the binary.
const char* const kScrubbed[] = {
    "DATABASE_URL",       "SECRET_KEY",     "REDIS_URL",     "MQTT_BROKER_HOST",
    "ENVIRONMENT",        "PORT",           "HOST",          "CORS_ORIGINS",
    "RATE_LIMIT_ENABLED", "LOG_LEVEL",      "LOG_FORMAT",    "ACCESS_LOG",
    "METRICS_ENABLED",    "METRICS_LISTEN", "METRICS_TOKEN", "WEB_DIR"};

// HONEYMAN_INTEGRATION_STORE=postgres (set by CTest on the *_postgres variants): the server of
// HONEYMAN_TEST_POSTGRES_URL (its first URL).
std::optional<std::string> postgres_server() {
  const char* store = std::getenv("HONEYMAN_INTEGRATION_STORE");
  if (store == nullptr || std::string_view(store) != "postgres") return std::nullopt;
  const char* urls = std::getenv("HONEYMAN_TEST_POSTGRES_URL");
  std::string url = urls != nullptr ? urls : "";
  return url.substr(0, url.find(','));
}

// `server` with its database name replaced by `database`.
std::string with_database(const std::string& server, const std::string& database) {
  auto slash = server.find('/', server.find("://") + 3);
  auto query = server.find('?');
  return server.substr(0, std::min(slash, query)) + "/" + database +
         (query == std::string::npos ? "" : server.substr(query));
}

}  // namespace

std::string execute_sql(const std::string& database_url, const std::string& sql) {
  if (database_url.starts_with("sqlite:///")) {
    sqlite3* db = nullptr;
    std::string error;
    if (sqlite3_open(database_url.substr(10).c_str(), &db) != SQLITE_OK ||
        sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
      error = sqlite3_errmsg(db);
    sqlite3_close_v2(db);
    return error;
  }
  PGconn* conn = PQconnectdb(database_url.c_str());
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

bool on_postgres() {
  return postgres_server().has_value();
}

std::string iso_time(std::chrono::sys_seconds t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

namespace {

CommandResult run_binary(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env, const std::string& input,
                         std::string binary, const std::string& working_dir = {}) {
  TempDir dir;
  auto in = dir.path() + "/in", out = dir.path() + "/out", err = dir.path() + "/err";
  std::ofstream(in) << input;
  for (auto* name : kScrubbed) unsetenv(name);
  pid_t pid = spawn_honeyman(args, env, in, out, err, std::move(binary), 0, working_dir);
  CommandResult r;
  r.exit_code = wait_exit(pid, std::chrono::seconds(60));
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace

CommandResult run_honeyman(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env, const std::string& input,
                           const std::string& working_dir) {
  return run_binary(args, env, input, {}, working_dir);
}

CommandResult run_load_tool(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env,
                            const std::string& input) {
  return run_binary(args, env, input, HONEYMAN_LOAD_BINARY);
}

ServerProcess::ServerProcess(std::map<std::string, std::string> env)
    : dir_(std::make_unique<TempDir>()) {
  env_ = {{"DATABASE_URL", "sqlite:///" + dir_->path() + "/honeyman.db"},
          {"SECRET_KEY", "integration-test-secret-key-0123456789abcdef"},
          {"HOST", "127.0.0.1"},
          {"PORT", "0"},
          {"RATE_LIMIT_ENABLED", "false"},
          {"LOG_LEVEL", "info"},
          {"ENVIRONMENT", "test"},
          // Without a console, whether or not this tree has one built (console_test sets its
          // own): the other suites' unrouted paths stay the API's 404.
          {"WEB_DIR", "off"}};
  if (auto server = postgres_server()) {
    if (server->empty()) {
      ADD_FAILURE() << "HONEYMAN_INTEGRATION_STORE=postgres needs HONEYMAN_TEST_POSTGRES_URL "
                       "(scripts/test starts a server and sets it)";
    } else {
      // A database of its own, dropped with this object.
      database_ = "honeyman_it_" + std::to_string(getpid()) + "_" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
      postgres_server_ = *server;
      auto error = execute_sql(*server, "CREATE DATABASE " + database_);
      EXPECT_EQ(error, "") << "cannot create a database on " << *server;
      env_["DATABASE_URL"] = with_database(*server, database_);
    }
  }
  for (auto& [k, v] : env) env_[k] = v;
  log_path_ = dir_->path() + "/server.log";
}

ServerProcess::~ServerProcess() {
  // A server that died under the test explains itself here, not in a later "connection refused".
  if (pid_ > 0 && !running()) std::cerr << "server exited early; its log:\n" << log() << '\n';
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(5));
  }
  if (!database_.empty())
    execute_sql(postgres_server_, "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
}

void ServerProcess::start() {
  for (auto* name : kScrubbed) unsetenv(name);
  auto in = dir_->path() + "/stdin";
  std::ofstream(in).close();
  std::ofstream(log_path_, std::ios::trunc).close();  // a restart must not read the old port
  pid_ = spawn_honeyman({"serve"}, env_, in, dir_->path() + "/server.out", log_path_, {},
                        max_open_files_);
  static const std::regex listening(R"(listening on http://[^:]+:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    auto text = log();
    if (std::regex_search(text, m, listening)) {
      port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
      return;
    }
    if (!running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL() << "server did not start; log:\n" << log();
}

int ServerProcess::stop(int signal, int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int code = wait_exit(pid_, std::chrono::milliseconds(timeout_ms));
  if (code != -1) pid_ = -1;
  return code;
}

bool ServerProcess::running() const {
  return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0;
}

std::string ServerProcess::log() const {
  return read_file(log_path_);
}

CommandResult ServerProcess::cli(const std::vector<std::string>& args,
                                 const std::string& input) const {
  return run_honeyman(args, env_, input);
}

namespace {

// Password hashes made once by libsodium's crypto_pwhash_str_alg with the arguments of
// auth::hash_password (argon2id at the INTERACTIVE limits, like every hash the server and the
// CLI make), for the passwords of the fixtures' users: a login verifies them at full cost, and a
// fixture does not pay a hash (~0.2 s of CPU) per user. Any other password is hashed when added.
const std::map<std::string, std::string, std::less<>> kFixtureHashes = {
    {"admin-password-1",
     "$argon2id$v=19$m=65536,t=2,p=1$69oQfc9YA3Ql7yt5o7ssRQ$"
     "UGFNi7BFFGBLXrOG3muN8XQRR6rl96wcamL9uQ9ReAY"},
    {"analyst-password-1",
     "$argon2id$v=19$m=65536,t=2,p=1$tYp1TJiZgj21Dmy0UbFcIA$XeIvCMgovoD2j5SOPUFjEKm3PNB9COsbj+"
     "smZOAGH4Q"},
    {"viewer-password-1",
     "$argon2id$v=19$m=65536,t=2,p=1$XBjYeJN33Na87CqSJ9+h2A$QKICM53/a7B3nV25NKs/"
     "H1vrVsKROXh7EGBH5aoHyxE"}};

}  // namespace

void ServerProcess::add_user(const std::string& name, const std::string& role,
                             const std::string& password) {
  auto parsed_role = domain::parse_role(role);
  ASSERT_TRUE(parsed_role) << role;
  std::string hash;
  if (auto known = kFixtureHashes.find(password); known != kFixtureHashes.end()) {
    hash = known->second;
  } else {
    auto made = auth::hash_password(password);
    ASSERT_TRUE(made) << made.error().message;
    hash = std::move(*made);
  }
  store::StoreConfig config;
  config.database_url = env_.at("DATABASE_URL");
  auto opened = store::open_store(config);
  ASSERT_TRUE(opened) << opened.error().message;
  auto& store = **opened;
  auto migrated = store.migrate();
  ASSERT_TRUE(migrated) << migrated.error().message;
  // The row and audit record `honeyman user add` writes (service::UserService::add).
  domain::User user;
  user.id = uuid_v4();
  user.username = name;
  user.role = *parsed_role;
  user.is_verified = true;
  user.password_hash = std::move(hash);
  user.created_at = system_clock().now();
  auto audit =
      store::audit_entry({"cli:integration-test", "cli", ""}, user.created_at, "user.create",
                         "user", user.id, {{"username", user.username}, {"role", role}});
  auto created = store.create_user(user, &audit);
  ASSERT_TRUE(created) << created.error().message;
}

std::string ServerProcess::add_sensor(const std::string& sensor_id, const std::string& name) {
  auto r = cli({"sensor", "add", sensor_id, "--name", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  static const std::regex key(R"((hmk_[A-Za-z0-9_-]+))");
  if (!std::regex_search(r.out, m, key)) {
    ADD_FAILURE() << "no api key in: " << r.out;
    return {};
  }
  return m[1];
}

std::string ServerProcess::set_database_available(bool available) {
  if (database_.empty()) return "the server is not on PostgreSQL";
  auto error = execute_sql(postgres_server_, "ALTER DATABASE " + database_ + " ALLOW_CONNECTIONS " +
                                                 (available ? "true" : "false"));
  if (!error.empty() || available) return error;
  auto conn = PQconnectdb(postgres_server_.c_str());
  std::string sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                    database_ + "'";  // database_ is our own generated name
  PGresult* r = PQexec(conn, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) error = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(conn);
  return error;
}

std::string ServerProcess::login(const std::string& name, const std::string& password) {
  auto reply = client().post("/api/v2/auth/login",
                             boost::json::object{{"username", name}, {"password", password}});
  EXPECT_EQ(reply.status, 200) << reply.body;
  auto body = reply.json();
  if (!body.is_object()) return {};
  return std::string(body.at("token").at("access_token").as_string());
}

std::unique_ptr<Fleet> Fleet::start(std::map<std::string, std::string> env) {
  auto f = std::make_unique<Fleet>();
  f->server = std::make_unique<ServerProcess>(std::move(env));
  f->server->add_user("root", "admin", "admin-password-1");
  f->server->add_user("ana", "analyst", "analyst-password-1");
  f->server->add_user("vic", "viewer", "viewer-password-1");
  f->sensor_a_key = f->server->add_sensor("sensor-a", "Sensor A");
  f->sensor_b_key = f->server->add_sensor("sensor-b", "Sensor B");
  f->server->start();
  f->admin = f->server->login("root", "admin-password-1");
  f->analyst = f->server->login("ana", "analyst-password-1");
  f->viewer = f->server->login("vic", "viewer-password-1");
  return f;
}

boost::json::value wire_sample(const std::string& name) {
  return boost::json::parse(read_file(std::string(HONEYMAN_WIRE_DIR) + "/" + name));
}

Reply register_sensor(const ServerProcess& server, const std::string& token,
                      const std::string& sensor_id, const HeaderList& headers) {
  return server.client().post(
      "/api/v2/onboarding/register",
      boost::json::object{{"onboarding_token", token}, {"sensor_id", sensor_id}}, headers);
}

std::string plant_onboarding_token(const ServerProcess& server, const std::string& admin_token,
                                   std::chrono::seconds expires_in) {
  auto me = server.client().get("/api/v2/auth/me", bearer(admin_token)).json();
  store::StoreConfig config;
  config.database_url = server.env().at("DATABASE_URL");
  auto store = store::open_store(config);
  EXPECT_TRUE(store);
  if (!store) return {};
  auto token = random_token(32);
  store::OnboardingToken row;
  row.token_hash = sha256_hex(token);
  row.sensor_name = "planted";
  row.created_by = std::string(me.at("id").as_string());
  row.expires_at = system_clock().now() + expires_in;
  row.created_at = row.expires_at - std::chrono::hours(1);
  EXPECT_TRUE((*store)->create_onboarding_token(row));
  return token;
}

std::string decode_qr(const std::string& png) {
  auto path = ::testing::TempDir() + "/qr-" + std::to_string(getpid()) + ".png";
  std::ofstream(path, std::ios::binary) << png;
  std::string out;
  if (FILE* p = popen(("zbarimg --raw -q " + path + " 2>/dev/null").c_str(), "r")) {
    char buf[4096];
    while (auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0) << "zbarimg could not decode the QR code (is zbar-tools installed?)";
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace honeyman::testing
