// The Store of both SQL backends. Whatever is the same on SQLite and PostgreSQL is written once,
// in the member definitions of the sql_*.hpp headers beside this one, over a backend `B`
// (sqlite::Backend, pg::Backend) that holds the connections and supplies what truly differs.
// Each backend instantiates SqlStore<its Backend> once, in its own folder (the only place its
// driver's header is seen); nothing else includes the sql_*.hpp headers.
//
// Thread-safety, blocking and errors: as Store. How calls share connections is B's (SQLite: one
// writer and a pool of readers; PostgreSQL: a pool).
//
// What SqlStore<B> needs of B:
//  - B::Connection with execute / for_each / fetch_one / fetch_all (statement texts and
//    parameters as in store/detail/sql.hpp), and B::Params, the values of a statement built at
//    run time (add(value), size());
//  - how a call gets its connection; each runs fn(Connection&) and returns fn's Result/Status:
//      read(fn)               reads by one statement, or by several that need not agree;
//      snapshot(what, fn)     several reads that must agree (one consistent view);
//      write(fn)              one statement that changes data (atomic on its own);
//      transaction(what, fn)  several changes, committed together when fn succeeds;
//  - the few things not spelt alike in SQL (kRowLocks, heartbeat_sql, threat_id);
//  - the operations whose SQL or strategy differs: schema and upkeep, the batch insert
//    (batch_places, insert_rows, add_sums), listing (fetch_rows, counter_filter, row_filter),
//    counting (count_threats_between, aggregate, fleet_overview, count_by_sensor) and retention.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/detail/sql.hpp"
#include "store/store.hpp"

namespace honeyman::store::detail {

template <class B>
class SqlStore final : public Store {
 public:
  template <class... Args>
  explicit SqlStore(Args&&... args) : b_(std::forward<Args>(args)...) {}

  // The backend's own: schema, upkeep, fleet overview, retention.
  using Store::migrate;
  Result<int> migrate(const MigrationProgress& progress) override { return b_.migrate(progress); }
  Result<int> schema_version() override { return b_.schema_version(); }
  std::vector<MigrationInfo> known_migrations() const override {
    std::vector<MigrationInfo> out;
    for (const auto& m : B::migrations()) out.push_back({m.version, std::string(m.name)});
    return out;
  }
  Status maintain(Timestamp now) override { return b_.maintain(now); }
  Result<FleetOverview> fleet_overview(Timestamp now, Timestamp online_since) override {
    return b_.fleet_overview(now, online_since);
  }
  Result<std::int64_t> delete_threats_before(Timestamp cutoff, int batch_limit) override {
    if (batch_limit < 1) return make_error(Errc::invalid_input, "batch_limit must be >= 1");
    return b_.delete_threats_before(cutoff, batch_limit);
  }
  Result<std::int64_t> delete_rollups_before(Timestamp cutoff, int batch_limit) override {
    if (batch_limit < 1) return make_error(Errc::invalid_input, "batch_limit must be >= 1");
    return b_.delete_rollups_before(cutoff, batch_limit);
  }
  Status ping() override;

  // sql_auth.hpp
  Result<domain::User> create_user(const domain::User& user, const AuditEntry* audit) override;
  Result<domain::User> find_user_by_id(std::string_view id) override;
  Result<domain::User> find_user_by_name(std::string_view username) override;
  Result<std::vector<domain::User>> list_users() override;
  Result<UserPage> list_users(const UserQuery& query) override;
  Result<domain::User> change_user(std::string_view user_id, const UserChange& change,
                                   Timestamp now, const AuditEntry* audit) override;
  Status delete_user(std::string_view user_id, const AuditEntry* audit) override;
  Result<std::vector<std::pair<std::string, Timestamp>>> users_invalidated_since(
      Timestamp since) override;
  Result<domain::User> start_session(const Session& session, std::string_view refresh_hash,
                                     std::string_view password_hash,
                                     const AuditEntry* audit) override;
  Result<RotateResult> rotate_refresh_token(std::string_view presented_hash,
                                            std::string_view new_hash, Timestamp now) override;
  Status revoke_session(std::string_view session_id, Timestamp now,
                        const AuditEntry* audit) override;
  Result<std::vector<std::pair<std::string, Timestamp>>> sessions_revoked_since(
      Timestamp since) override;
  Status revoke_access_token(const RevokedToken& token) override;
  Result<std::vector<RevokedToken>> revoked_access_tokens(Timestamp now) override;

  // sql_sensors.hpp
  Result<domain::Sensor> create_sensor(const domain::Sensor& sensor, std::string_view api_key_hash,
                                       const AuditEntry* audit) override;
  Result<domain::Sensor> find_sensor(std::string_view sensor_id, Timestamp now) override;
  Result<SensorPage> list_sensors(const SensorQuery& query) override;
  Result<domain::Sensor> update_sensor(std::string_view sensor_id,
                                       const domain::SensorUpdate& update, Timestamp now,
                                       const AuditEntry* audit) override;
  Status delete_sensor(std::string_view sensor_id, const AuditEntry* audit) override;
  Result<std::string> find_sensor_by_api_key(std::string_view api_key_hash) override;
  Status set_sensor_api_key(std::string_view sensor_id, std::string_view api_key_hash,
                            const AuditEntry* audit) override;
  Result<std::vector<std::string>> record_heartbeats(
      const std::vector<domain::Heartbeat>& heartbeats) override;
  Status apply_registration(const domain::Registration& registration, Timestamp now) override;
  Result<domain::SensorStats> sensor_stats(std::string_view sensor_id, Timestamp now) override;
  Result<std::vector<SensorStatusChange>> sweep_sensor_status(Timestamp online_since) override;

  // sql_threats.hpp
  Result<InsertOutcome> insert_threats(std::vector<domain::Threat>& threats) override;
  Result<domain::Threat> find_threat(std::string_view id) override;
  Result<std::vector<domain::Threat>> threats_after(std::string_view after_id, int limit) override;
  Result<ThreatPage> query_threats(const ThreatQuery& query) override;
  Result<std::int64_t> latest_threat_seq() override;
  Result<domain::Threat> acknowledge_threat(std::string_view id, std::string_view username,
                                            std::optional<std::string> notes, Timestamp at,
                                            const AuditEntry* audit) override;
  Status delete_threat(std::string_view id, const AuditEntry* audit) override;

  // sql_triage.hpp: threat lifecycle and the audit log
  Result<domain::Threat> update_threat(std::string_view id, const ThreatChange& change,
                                       std::string_view actor, Timestamp at,
                                       const AuditEntry* audit) override;
  Result<std::vector<HistoryEntry>> threat_history(std::string_view id) override;
  Result<BulkOutcome> bulk_update_threats(const ThreatSelection& selection,
                                          const ThreatChange& change, std::string_view actor,
                                          Timestamp at, std::int64_t max_rows,
                                          const AuditEntry* audit) override;
  Status record_audit(const AuditEntry& entry) override;
  Result<AuditPage> query_audit(const AuditQuery& query) override;
  Result<std::int64_t> delete_audit_before(Timestamp cutoff, int batch_limit) override;

  // sql_analytics.hpp
  Result<std::vector<TrendPoint>> threat_trend(const TrendQuery& query) override;
  Result<ThreatTypeRanking> top_threat_types(const TimeWindow& window, int limit) override;
  Result<std::vector<SensorThreatCount>> sensor_threat_counts(
      const TimeWindow& window, const std::vector<domain::Severity>& severities) override;

  // sql_onboarding.hpp
  Status create_onboarding_token(const OnboardingToken& token, const AuditEntry* audit) override;
  Result<OnboardingToken> find_onboarding_token(std::string_view token_hash) override;
  Result<OnboardingToken> consume_onboarding_token(std::string_view token_hash,
                                                   std::string_view sensor_id, Timestamp now,
                                                   const AuditEntry* audit) override;
  Status insert_dead_letters(const std::vector<DeadLetter>& letters) override;
  Result<std::vector<DeadLetter>> list_dead_letters(int limit) override;

  // sql_alerting.hpp: alert destinations, rules, alerts, the delivery outbox, sensor commands
  Status create_destination(const AlertDestination& d, const AuditEntry* audit) override;
  Result<std::vector<AlertDestination>> list_destinations() override;
  Result<AlertDestination> find_destination(std::string_view id) override;
  Status update_destination(const AlertDestination& d, const AuditEntry* audit) override;
  Status delete_destination(std::string_view id, const AuditEntry* audit) override;
  Status create_rule(const AlertRule& r, const AuditEntry* audit) override;
  Result<std::vector<AlertRule>> list_rules() override;
  Result<AlertRule> find_rule(std::string_view id) override;
  Status update_rule(const AlertRule& r, const AuditEntry* audit) override;
  Status delete_rule(std::string_view id, const AuditEntry* audit) override;
  using Store::insert_alert;
  Status insert_alerts(const std::vector<NewAlert>& alerts) override;
  Result<AlertPage> query_alerts(const AlertQuery& query) override;
  Result<Alert> find_alert(std::string_view id) override;
  Result<Alert> acknowledge_alert(std::string_view id, std::string_view username, Timestamp at,
                                  const AuditEntry* audit) override;
  Result<std::vector<Delivery>> claim_deliveries(std::string_view owner, Timestamp now,
                                                 Timestamp lease_until, int limit) override;
  Status finish_delivery(std::string_view id, std::string_view owner,
                         const DeliveryOutcome& outcome) override;
  Result<DeliveryPage> query_deliveries(const DeliveryQuery& query) override;
  Status insert_command(const SensorCommand& command, const AuditEntry* audit) override;
  Result<std::vector<SensorCommand>> list_commands(std::string_view sensor_id, int limit) override;
  Status set_command_result(std::string_view id, std::string_view sensor_id,
                            std::string_view status, std::optional<std::string> message,
                            Timestamp at) override;

 private:
  using Connection = typename B::Connection;

  B b_;
};

template <class B>
Status SqlStore<B>::ping() {
  return b_.read([](Connection& conn) { return status_of(conn.execute("SELECT 1", "ping")); });
}

}  // namespace honeyman::store::detail
