// Helpers shared by the service unit tests: a SQLite store in memory, a manual clock, and a fake
// broker::Admin that records its calls and fails on demand.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "service/service.hpp"
#include "store/store_test_support.hpp"

namespace honeyman::service::test_support {

// Who makes the changes in these tests (the audit records' actor).
inline const store::Actor kBy{"tester", "admin", "127.0.0.1"};

// Records every call as "<verb> <sensor id>" ("create", "enable", "disable", "delete"). With
// `fail` set every call answers Errc::unavailable, as an unreachable broker does. `on_call` runs
// at each call before it answers: a test looks at (or changes) the store at that moment.
class FakeAdmin final : public broker::Admin {
 public:
  std::vector<std::string> calls;
  bool fail = false;
  // Account names the broker holds for someone else: creating one answers Errc::conflict.
  std::vector<std::string> foreign;
  std::function<void(const std::string& call)> on_call;

  Status ensure_server_account() override { return answer("ensure server"); }
  Status create_sensor_account(std::string_view id, std::string_view password) override {
    last_password = std::string(password);
    auto status = answer("create " + std::string(id));
    if (status && std::find(foreign.begin(), foreign.end(), id) != foreign.end())
      return make_error(Errc::conflict, "not a Honeyman sensor account");
    return status;
  }
  Status set_sensor_enabled(std::string_view id, bool enabled) override {
    return answer((enabled ? "enable " : "disable ") + std::string(id));
  }
  Status delete_sensor_account(std::string_view id) override {
    return answer("delete " + std::string(id));
  }
  Status ping() override { return answer("ping"); }
  Result<int> upgrade_sensor_roles(const std::vector<std::string>&) override { return 0; }

  std::string last_password;

 private:
  Status answer(std::string call) {
    calls.push_back(call);
    if (on_call) on_call(call);
    if (fail) return make_error(Errc::unavailable, "broker unreachable");
    return {};
  }
};

// A migrated SQLite store in memory, a manual clock and a fake broker for each test.
class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::test_support::memory_store(
        {.read_connections = 1, .busy_timeout_ms = 1000, .pool_size = 1});
    ASSERT_TRUE(store_);
  }

  // A sensor row made directly in the store (not through the service under test).
  domain::Sensor plant_sensor(const std::string& sensor_id, const std::string& api_key = "") {
    domain::Sensor s;
    s.id = uuid_v4();
    s.sensor_id = sensor_id;
    s.name = "sensor " + sensor_id;
    s.created_at = s.updated_at = clock_.now();
    auto created = store_->create_sensor(s, api_key.empty() ? "" : auth::hash_secret(api_key));
    EXPECT_TRUE(created) << created.error().message;
    return created ? *created : s;
  }

  // The sensor owning `api_key` in the store, or "" when none does.
  std::string key_owner(const std::string& api_key) {
    auto owner = store_->find_sensor_by_api_key(auth::hash_secret(api_key));
    return owner ? *owner : std::string();
  }

  bool sensor_exists(const std::string& sensor_id) {
    return static_cast<bool>(store_->find_sensor(sensor_id, clock_.now()));
  }

  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  FakeAdmin admin_;
};

}  // namespace honeyman::service::test_support
