// Integration-test harness: runs the real `honeyman` binary against a throwaway data directory
// and talks to it over loopback with the shared HttpClient.
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"

namespace honeyman::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs `sql` (statements without results) on the database `database_url` names: a
// sqlite:///path file or a PostgreSQL URL. "" or the error text.
std::string execute_sql(const std::string& database_url, const std::string& sql);
// Whether this run's servers use PostgreSQL (the *_postgres variants,
// HONEYMAN_INTEGRATION_STORE=postgres).
bool on_postgres();

// "2026-08-08T14:03:27Z": a query-string time.
std::string iso_time(std::chrono::sys_seconds t);

// Runs `honeyman <args>` with `env` added to the environment; `input` is fed to stdin; in
// `working_dir` when given.
CommandResult run_honeyman(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env,
                           const std::string& input = {}, const std::string& working_dir = {});
// The same for the load tool, `honeyman-load <args>` (simulate, ws-load).
CommandResult run_load_tool(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env,
                            const std::string& input = {});

class ServerProcess {
 public:
  // Environment defaults for tests: SQLite in a temp dir (or, with
  // HONEYMAN_INTEGRATION_STORE=postgres, a new database on HONEYMAN_TEST_POSTGRES_URL's server,
  // dropped on destruction), a fixed SECRET_KEY, loopback, an ephemeral port, rate limiting off,
  // no web console (WEB_DIR=off).
  // Entries of `env` override them.
  explicit ServerProcess(std::map<std::string, std::string> env = {});
  ~ServerProcess();  // SIGKILLs the server if still running

  // Starts `honeyman serve`; waits until it logs its port (fails the test after 10 s).
  void start();
  // The server's RLIMIT_NOFILE (soft and hard) from the next start(); 0: inherited.
  void set_max_open_files(std::uint64_t n) { max_open_files_ = n; }
  // Sends `signal` and waits for the exit status (-1 on timeout).
  int stop(int signal = 15 /*SIGTERM*/, int timeout_ms = 15000);
  bool running() const;

  std::uint16_t port() const { return port_; }
  HttpClient client() const { return HttpClient("127.0.0.1", port_); }
  const std::map<std::string, std::string>& env() const { return env_; }
  std::string log() const;  // what the server wrote to stderr so far

  // `honeyman <args>` against the same database and settings.
  CommandResult cli(const std::vector<std::string>& args, const std::string& input = {}) const;
  // Adds a user with a known password straight into the store, with the row and audit record
  // `honeyman user add` writes (migrating a new database first, as the CLI does): a CLI
  // process per fixture user cost CI ~0.4 s of CPU each under ASan. Tests of the CLI's user
  // commands call cli() (ops_test, soc_test, hardening_auth_test).
  void add_user(const std::string& name, const std::string& role, const std::string& password);
  // Adds a sensor via the CLI and returns its API key.
  std::string add_sensor(const std::string& sensor_id, const std::string& name);
  // Logs in over HTTP and returns the access token (fails the test if login fails).
  std::string login(const std::string& name, const std::string& password);
  // PostgreSQL only: with false, the server's database refuses new connections and its open ones
  // are ended (the store is down for this server alone); true brings it back. "" or the error.
  std::string set_database_available(bool available);

 private:
  std::unique_ptr<TempDir> dir_;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint64_t max_open_files_ = 0;
  std::string log_path_;
  std::string postgres_server_, database_;  // a PostgreSQL database to drop, if any
};

// A server with one user per role and two sensors, shared by the tests of a suite.
struct Fleet {
  std::unique_ptr<ServerProcess> server;
  std::string admin, analyst, viewer;      // access tokens
  std::string sensor_a_key, sensor_b_key;  // API keys of sensors "sensor-a" and "sensor-b"
  static std::unique_ptr<Fleet> start(std::map<std::string, std::string> env = {});
};

// Reads a JSON sample from tests/wire.
boost::json::value wire_sample(const std::string& name);

// --- Onboarding, shared by the onboarding and edge suites.
// POST /onboarding/register of `sensor_id` with `token` (as a sensor would, no credentials).
Reply register_sensor(const ServerProcess& server, const std::string& token,
                      const std::string& sensor_id, const HeaderList& headers = {});
// An onboarding token written straight into `server`'s store, created by the user of
// `admin_token` and expiring `expires_in` from now (negative: already expired), for cases the API
// cannot produce (an expired token; a server that refuses to mint one).
std::string plant_onboarding_token(const ServerProcess& server, const std::string& admin_token,
                                   std::chrono::seconds expires_in);
// The text a QR code PNG holds, read by zbarimg (zbar-tools); fails the test if it cannot.
std::string decode_qr(const std::string& png);

}  // namespace honeyman::testing
