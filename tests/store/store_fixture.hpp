// The store conformance fixture: every TEST_P in this suite runs once per store URL — a fresh
// SQLite file, a private SQLite in-memory database, and each URL listed in the environment
// variable HONEYMAN_TEST_POSTGRES_URL (comma-separated; `scripts/test-servers start` provides
// one; without it the postgres_1 tests fail, saying so). Each PostgreSQL test runs in a database of
// its own, created from that server URL before the test and dropped after it. A test's file or
// PostgreSQL database is a copy of one the process migrated once (store_fixture.cpp); the store
// it opens migrates it again (nothing left to do) like any store at start. A store that cannot
// be opened or migrated fails the test; nothing here ever skips.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace honeyman::store::testing {

using namespace std::chrono_literals;

struct StoreParam {
  std::string name;  // test-name suffix: sqlite_file, sqlite_memory, postgres_1, ...
  std::string url;   // for sqlite_file, a prefix completed per test with a fresh file name
};
inline void PrintTo(const StoreParam& p, std::ostream* os) {
  *os << p.name;
}
std::vector<StoreParam> store_params();
// Only the PostgreSQL entries (always at least postgres_1).
std::vector<StoreParam> postgres_params();
bool is_postgres_url(const std::string& url);

// A fresh database on the server of `server_url`, empty or a copy of `template_url`'s (a
// database on the same server that nobody is connected to); returns its URL. Fails the test
// (and returns "") when the server cannot be reached.
std::string create_test_database(const std::string& server_url,
                                 const std::string& template_url = "");
void drop_test_database(const std::string& server_url, const std::string& database_url);
std::string param_name(const ::testing::TestParamInfo<StoreParam>& info);

class StoreTest : public ::testing::TestWithParam<StoreParam> {
 protected:
  void SetUp() override;
  void TearDown() override;
  Store& store() { return *store_; }
  // Opens another Store on the same database (a second process, as far as the store knows).
  std::unique_ptr<Store> open_again();

  std::string url_;
  std::string file_;        // the SQLite file to remove afterwards, if any
  std::string server_url_;  // PostgreSQL: the server whose test database url_ is dropped after
  std::unique_ptr<Store> store_;
};

#define HONEYMAN_STORE_SUITE(Suite) \
  INSTANTIATE_TEST_SUITE_P(Stores, Suite, ::testing::ValuesIn(store_params()), param_name)

// ---------------------------------------------------------------------------------------------
// Values. Times are built from a fixed base so tests control `now` exactly.
inline const Timestamp kT0 = from_unix_micros(1'800'000'000'000'000);  // 2027-01-15T08:00:00Z

domain::User make_user(const std::string& username);
domain::Sensor make_sensor(const std::string& sensor_id, Timestamp created_at = kT0);

struct ThreatSpec {
  std::string sensor_id = "sensor-a";
  Timestamp timestamp = kT0;
  domain::Severity severity = domain::Severity::medium;
  std::string detector_type = "usb";
  std::string threat_type = "usb_rubber_ducky";
  double threat_score = 0.5;
};
domain::Threat make_threat(const ThreatSpec& spec);

// Creates sensors (and fails the test when that fails).
void add_sensors(Store& store, const std::vector<std::string>& sensor_ids,
                 Timestamp created_at = kT0);
// Inserts and returns the stored threats (failing the test on error).
std::vector<domain::Threat> insert(Store& store, std::vector<domain::Threat> threats);

// Errc::ok for a success, else the error's code: each check reads in one line.
template <class T>
Errc code_of(const boost::system::result<T, Error>& r) {
  return r ? Errc::ok : r.error().code;
}

std::vector<std::string> ids_of(const std::vector<domain::Threat>& threats);

}  // namespace honeyman::store::testing
