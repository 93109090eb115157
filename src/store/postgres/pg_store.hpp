// The PostgreSQL implementation of Store: a bounded pool of libpq connections, each call on one
// leased connection; writes in explicit transactions; `threats` range-partitioned by day.
// Private to the store module.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/postgres/detail/pg.hpp"
#include "store/store.hpp"

namespace honeyman::store::pg {

// Opens the pool (one connection at once, to fail fast; the rest on demand).
Result<std::unique_ptr<Store>> open_postgres_store(const StoreConfig& config);

// "postgresql+asyncpg://..." (old .env files name a Python driver) → "postgresql://...", with
// connect_timeout=10 unless the URL sets one (an unreachable host must not hang a call).
std::string libpq_url(std::string_view database_url);

// Compiled-in schema migrations, in version order (migrations.cpp).
struct Migration {
  int version;
  std::string_view name;
  const char* sql;
};
const std::vector<Migration>& migrations();

// Connections, checked out one per call. At most `size` exist; broken ones are dropped and
// replaced on demand.
class Pool {
 public:
  // `setup` runs on every new connection (session settings).
  Pool(std::string conninfo, std::string setup, int size, std::unique_ptr<Connection> first);

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->give_back(std::move(conn_));
    }
    Connection& operator*() const { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // Waits while every connection is busy; Errc::unavailable when a new one cannot be opened.
  Result<Lease> acquire();

 private:
  void give_back(std::unique_ptr<Connection> conn);

  std::string conninfo_, setup_;
  int size_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  // idle + leased
};

class PgStore final : public Store {
 public:
  PgStore(std::string conninfo, std::string setup, int pool_size, std::unique_ptr<Connection> first)
      : pool_(std::move(conninfo), std::move(setup), pool_size, std::move(first)) {}

  Result<int> migrate() override;
  Result<int> schema_version() override;
  Status ping() override;
  Status maintain(Timestamp now) override;

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

  Status create_onboarding_token(const OnboardingToken& token) override;
  Result<OnboardingToken> find_onboarding_token(std::string_view token_hash) override;
  Result<OnboardingToken> consume_onboarding_token(std::string_view token_hash,
                                                   std::string_view sensor_id,
                                                   Timestamp now) override;

  Result<FleetOverview> fleet_overview(Timestamp now, Timestamp online_since) override;
  Result<std::vector<TrendPoint>> threat_trend(const TrendQuery& query) override;
  Result<ThreatTypeRanking> top_threat_types(const TimeWindow& window, int limit) override;
  Result<std::vector<SensorThreatCount>> sensor_threat_counts(
      const TimeWindow& window, const std::vector<domain::Severity>& severities) override;

  Result<std::int64_t> delete_threats_before(Timestamp cutoff, int batch_limit) override;
  Result<std::int64_t> delete_rollups_before(Timestamp cutoff, int batch_limit) override;

  Status insert_dead_letters(const std::vector<DeadLetter>& letters) override;
  Result<std::vector<DeadLetter>> list_dead_letters(int limit) override;

 private:
  // Runs fn(Connection&) on a leased connection. A connection found broken by its very first
  // statement (the server restarted while it sat idle) changed nothing, so fn runs once more
  // on a fresh connection; any other failure is returned as is.
  template <class Fn>
  auto with_connection(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
    for (int attempt = 0;; ++attempt) {
      auto lease = pool_.acquire();
      if (!lease) return lease.error();
      Connection& conn = **lease;
      conn.reset_progress();
      auto result = fn(conn);
      if (result || attempt > 0 || !conn.broken() || conn.progress() > 0) return result;
    }
  }
  // Runs fn(Connection&) inside a transaction (`begin` picks isolation); commits when fn
  // succeeds. A deadlock or serialization failure runs the whole transaction again (a few times).
  template <class Fn>
  auto transaction(std::string_view what, Fn&& fn, const char* begin = "BEGIN") {
    return with_connection([&](Connection& conn) -> decltype(fn(conn)) {
      for (int attempt = 0;; ++attempt) {
        auto result = run_transaction(conn, what, fn, begin);
        if (result || attempt >= 4 || !is_retryable_sqlstate(conn.last_sqlstate())) return result;
      }
    });
  }
  template <class Fn>
  static auto run_transaction(Connection& conn, std::string_view what, Fn& fn, const char* begin)
      -> decltype(fn(conn)) {
    conn.clear_sqlstate();  // a failure decided in C++ (unknown sensor) is never retried
    auto txn = Transaction::begin(conn, what, begin);
    if (!txn) return txn.error();
    auto result = fn(conn);
    if (!result) return result;
    if (auto s = txn->commit(); !s) return s.error();
    return result;
  }
  // A read-only snapshot: several statements that must agree (rows and their total).
  template <class Fn>
  auto snapshot(std::string_view what, Fn&& fn) {
    return transaction(what, std::forward<Fn>(fn),
                       "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }

  Pool pool_;
};

// Threat counts per sensor with timestamp in [from, to] (rollups for whole hours, rows for the
// partial hours at both ends), as in the SQLite store.
Result<std::map<std::string, std::int64_t>> count_threats_between(
    Connection& conn, const std::vector<std::string>& sensor_ids, Timestamp from, Timestamp to);

// Creates the day partitions of `threats` from the day before `now` to kDaysAhead days after,
// moving any rows of those days out of the default partition. Idempotent; serialised between
// processes by an advisory lock.
inline constexpr int kPartitionDaysAhead = 7;
Status ensure_partitions(Connection& conn, Timestamp now);
// Taken (pg_advisory_xact_lock) by every change to the set of partitions: creating ahead,
// dropping old ones.
inline constexpr std::int64_t kPartitionLock = 0x486f6e65794d0002;  // "HoneyM" 2
// threats_p20270115 for the day starting at `day_start` (unix micros, UTC midnight), and back:
// the day's start, or nullopt for a name that is not a day partition's.
std::string partition_name(std::int64_t day_start);
std::optional<std::int64_t> partition_day(std::string_view name);

inline constexpr std::int64_t kMicrosPerHour = 3'600'000'000;
inline constexpr std::int64_t kMicrosPerDay = 24 * kMicrosPerHour;
inline std::int64_t floor_to(std::int64_t micros, std::int64_t unit) {
  auto r = micros % unit;
  return micros - (r < 0 ? r + unit : r);
}

}  // namespace honeyman::store::pg
