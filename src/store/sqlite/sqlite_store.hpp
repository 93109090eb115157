// The SQLite implementation of Store. One writer connection behind a mutex (SQLite allows one
// writer at a time anyway; queuing here is cheaper than busy-waiting in SQLite) and a pool of
// reader connections that run beside it thanks to WAL. Private to the store module.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/detail/sqlite.hpp"
#include "store/store.hpp"

namespace honeyman::store::detail {

// Where the database lives: a file path, or a process-private in-memory database.
struct SqliteTarget {
  std::string path;  // empty when `memory`
  bool memory = false;
};

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteTarget& target,
                                                 const StoreConfig& config);

// Compiled-in schema migrations, in version order (migrations.cpp).
struct Migration {
  int version;
  std::string_view name;
  const char* sql;  // one or more statements
};
const std::vector<Migration>& migrations();

// Reader connections, checked out one per call.
class ReaderPool {
 public:
  class Lease {
   public:
    Lease(ReaderPool& pool, std::unique_ptr<Connection> conn)
        : pool_(&pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->give_back(std::move(conn_));
    }
    Connection& operator*() const { return *conn_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  void add(std::unique_ptr<Connection> conn);
  Lease acquire();  // waits while every reader is busy

 private:
  void give_back(std::unique_ptr<Connection> conn);
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers);

  Result<int> migrate() override;
  Result<int> schema_version() override;
  Status ping() override;

  Result<domain::User> create_user(const domain::User& user) override;
  Result<domain::User> find_user_by_id(std::string_view id) override;
  Result<domain::User> find_user_by_name(std::string_view username) override;
  Result<std::vector<domain::User>> list_users() override;
  Status update_user(const domain::User& user) override;
  Result<std::vector<std::pair<std::string, Timestamp>>> users_invalidated_since(
      Timestamp since) override;

  Status create_session(const Session& session, std::string_view refresh_hash) override;
  Result<RotateResult> rotate_refresh_token(std::string_view presented_hash,
                                            std::string_view new_hash, Timestamp now) override;
  Status revoke_session(std::string_view session_id, Timestamp now) override;
  Status revoke_user_sessions(std::string_view user_id, Timestamp now) override;
  Status revoke_access_token(const RevokedToken& token) override;
  Result<std::vector<RevokedToken>> revoked_access_tokens(Timestamp now) override;

  Result<domain::Sensor> create_sensor(const domain::Sensor& sensor,
                                       std::string_view api_key_hash) override;
  Result<domain::Sensor> find_sensor(std::string_view sensor_id, Timestamp now) override;
  Result<SensorPage> list_sensors(const SensorQuery& query) override;
  Result<domain::Sensor> update_sensor(std::string_view sensor_id,
                                       const domain::SensorUpdate& update, Timestamp now) override;
  Status delete_sensor(std::string_view sensor_id) override;
  Result<std::string> find_sensor_by_api_key(std::string_view api_key_hash) override;
  Status set_sensor_api_key(std::string_view sensor_id, std::string_view api_key_hash) override;
  Result<std::vector<std::string>> record_heartbeats(
      const std::vector<domain::Heartbeat>& heartbeats) override;
  Status apply_registration(const domain::Registration& registration, Timestamp now) override;
  Result<domain::SensorStats> sensor_stats(std::string_view sensor_id, Timestamp now) override;

  Result<std::vector<domain::Threat>> insert_threats(std::vector<domain::Threat> threats) override;
  Result<domain::Threat> find_threat(std::string_view id) override;
  Result<std::vector<domain::Threat>> threats_after(std::string_view after_id, int limit) override;
  Result<std::vector<SensorStatusChange>> sweep_sensor_status(Timestamp online_since) override;
  Result<ThreatPage> query_threats(const ThreatQuery& query) override;
  Result<domain::Threat> acknowledge_threat(std::string_view id, std::string_view username,
                                            std::optional<std::string> notes,
                                            Timestamp at) override;
  Status delete_threat(std::string_view id) override;

  Result<FleetOverview> fleet_overview(Timestamp now, Timestamp online_since) override;
  Result<std::vector<TrendPoint>> threat_trend(const TrendQuery& query) override;
  Result<ThreatTypeRanking> top_threat_types(const TimeWindow& window, int limit) override;
  Result<std::vector<SensorThreatCount>> sensor_threat_counts(
      const TimeWindow& window, const std::vector<domain::Severity>& severities) override;
  Result<std::int64_t> delete_threats_before(Timestamp cutoff, int batch_limit) override;
  Result<std::int64_t> delete_rollups_before(Timestamp cutoff, int batch_limit) override;

  Status create_onboarding_token(const OnboardingToken& token) override;
  Result<OnboardingToken> find_onboarding_token(std::string_view token_hash) override;
  Result<OnboardingToken> consume_onboarding_token(std::string_view token_hash,
                                                   std::string_view sensor_id,
                                                   Timestamp now) override;

  Status insert_dead_letters(const std::vector<DeadLetter>& letters) override;
  Result<std::vector<DeadLetter>> list_dead_letters(int limit) override;

 private:
  // Runs fn(Connection&) on the writer, serialised with every other write.
  template <class Fn>
  auto with_writer(Fn&& fn) {
    std::lock_guard lock(writer_mutex_);
    writer_->trim_cache();
    return fn(*writer_);
  }
  // Runs fn(Connection&) inside a BEGIN IMMEDIATE transaction on the writer; commits when fn
  // succeeds, rolls back when it fails. fn returns a Result or Status.
  template <class Fn>
  auto write_transaction(std::string_view what, Fn&& fn) {
    return with_writer([&](Connection& conn) -> decltype(fn(conn)) {
      auto txn = Transaction::begin(conn, true, what);
      if (!txn) return txn.error();
      auto result = fn(conn);
      if (!result) return result;
      if (auto s = txn->commit(); !s) return s.error();
      return result;
    });
  }
  // Runs fn(Connection&) on a pooled reader.
  template <class Fn>
  auto with_reader(Fn&& fn) {
    auto lease = readers_.acquire();
    (*lease).trim_cache();
    return fn(*lease);
  }

  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;
  ReaderPool readers_;
};

// Threat counts per sensor with timestamp in [from, to], from hourly rollups for the whole
// hours inside the window and from the rows themselves for the partial hours at both ends
// (exact, and bounded work: at most two hours of one sensor's rows are counted).
Result<std::map<std::string, std::int64_t>> count_threats_between(
    Connection& conn, const std::vector<std::string>& sensor_ids, Timestamp from, Timestamp to);

}  // namespace honeyman::store::detail
