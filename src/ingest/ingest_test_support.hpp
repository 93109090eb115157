// Helpers shared by the ingest unit tests: a migrated SQLite store in memory, a Store decorator
// that makes chosen calls fail with Errc::unavailable, sensors and threats to write.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/core.hpp"
#include "domain/domain.hpp"
#include "store/store.hpp"
#include "store/store_test_support.hpp"

namespace honeyman::ingest::test_support {

using store::test_support::memory_store;

inline void add_sensor(store::Store& store, const std::string& sensor_id, Timestamp now) {
  domain::Sensor s;
  s.id = uuid_v4();
  s.sensor_id = sensor_id;
  s.name = "Sensor " + sensor_id;
  s.created_at = s.updated_at = now;
  auto created = store.create_sensor(s, "");
  ASSERT_TRUE(created) << created.error().message;
}

inline domain::Threat threat(const std::string& sensor_id, const std::string& type, Timestamp now) {
  domain::Threat t;
  t.id = uuid_v7(now);
  t.timestamp = t.created_at = now;
  t.sensor_id = sensor_id;
  t.threat_type = type;
  t.detector_type = "usb";
  t.severity = domain::Severity::low;
  t.threat_score = 0.5;
  return t;
}

// The store calls a test can make fail.
enum class StoreCall {
  insert_threats,
  record_heartbeats,
  apply_registration,
  find_sensor,
  insert_dead_letters
};

// Forwards everything to `inner`, except that the next fail_next(call, n) calls of `call` fail
// with Errc::unavailable (without reaching `inner`). Thread-safe as `inner` is.
class FlakyStore final : public store::Store {
 public:
  explicit FlakyStore(store::Store& inner) : inner_(inner) {}

  void fail_next(StoreCall call, int times) { failures_[index(call)] = times; }
  int attempts(StoreCall call) const { return attempts_[index(call)]; }

  using store::Store::migrate;
  Result<int> migrate(const store::MigrationProgress& p) override { return inner_.migrate(p); }
  Result<int> schema_version() override { return inner_.schema_version(); }
  std::vector<store::MigrationInfo> known_migrations() const override {
    return inner_.known_migrations();
  }
  Status ping() override { return inner_.ping(); }
  Status maintain(Timestamp now) override { return inner_.maintain(now); }

  Status create_destination(const store::AlertDestination& d, const store::AuditEntry* a) override {
    return inner_.create_destination(d, a);
  }
  Result<std::vector<store::AlertDestination>> list_destinations() override {
    return inner_.list_destinations();
  }
  Result<store::AlertDestination> find_destination(std::string_view id) override {
    return inner_.find_destination(id);
  }
  Status update_destination(const store::AlertDestination& d, const store::AuditEntry* a) override {
    return inner_.update_destination(d, a);
  }
  Status delete_destination(std::string_view id, const store::AuditEntry* a) override {
    return inner_.delete_destination(id, a);
  }
  Status create_rule(const store::AlertRule& r, const store::AuditEntry* a) override {
    return inner_.create_rule(r, a);
  }
  Result<std::vector<store::AlertRule>> list_rules() override { return inner_.list_rules(); }
  Result<store::AlertRule> find_rule(std::string_view id) override { return inner_.find_rule(id); }
  Status update_rule(const store::AlertRule& r, const store::AuditEntry* a) override {
    return inner_.update_rule(r, a);
  }
  Status delete_rule(std::string_view id, const store::AuditEntry* a) override {
    return inner_.delete_rule(id, a);
  }
  Status insert_alerts(const std::vector<store::Store::NewAlert>& alerts) override {
    return inner_.insert_alerts(alerts);
  }
  Result<store::AlertPage> query_alerts(const store::AlertQuery& q) override {
    return inner_.query_alerts(q);
  }
  Result<store::Alert> find_alert(std::string_view id) override { return inner_.find_alert(id); }
  Result<store::Alert> acknowledge_alert(std::string_view id, std::string_view username,
                                         Timestamp at, const store::AuditEntry* a) override {
    return inner_.acknowledge_alert(id, username, at, a);
  }
  Result<std::vector<store::Delivery>> claim_deliveries(std::string_view owner, Timestamp now,
                                                        Timestamp lease_until, int limit) override {
    return inner_.claim_deliveries(owner, now, lease_until, limit);
  }
  Status finish_delivery(std::string_view id, std::string_view owner,
                         const store::DeliveryOutcome& outcome) override {
    return inner_.finish_delivery(id, owner, outcome);
  }
  Result<store::DeliveryPage> query_deliveries(const store::DeliveryQuery& q) override {
    return inner_.query_deliveries(q);
  }
  Status insert_command(const store::SensorCommand& c, const store::AuditEntry* a) override {
    return inner_.insert_command(c, a);
  }
  Result<std::vector<store::SensorCommand>> list_commands(std::string_view sensor_id,
                                                          int limit) override {
    return inner_.list_commands(sensor_id, limit);
  }
  Status set_command_result(std::string_view id, std::string_view sensor_id,
                            std::string_view status, std::optional<std::string> message,
                            Timestamp at) override {
    return inner_.set_command_result(id, sensor_id, status, std::move(message), at);
  }

  Status record_audit(const store::AuditEntry& e) override { return inner_.record_audit(e); }
  Result<store::AuditPage> query_audit(const store::AuditQuery& q) override {
    return inner_.query_audit(q);
  }
  Result<std::int64_t> delete_audit_before(Timestamp cutoff, int batch_limit) override {
    return inner_.delete_audit_before(cutoff, batch_limit);
  }

  Result<domain::User> create_user(const domain::User& u, const store::AuditEntry* a) override {
    return inner_.create_user(u, a);
  }
  Result<domain::User> find_user_by_id(std::string_view id) override {
    return inner_.find_user_by_id(id);
  }
  Result<domain::User> find_user_by_name(std::string_view name) override {
    return inner_.find_user_by_name(name);
  }
  Result<std::vector<domain::User>> list_users() override { return inner_.list_users(); }
  Result<store::UserPage> list_users(const store::UserQuery& q) override {
    return inner_.list_users(q);
  }
  Result<domain::User> change_user(std::string_view id, const store::UserChange& change,
                                   Timestamp now, const store::AuditEntry* a) override {
    return inner_.change_user(id, change, now, a);
  }
  Status delete_user(std::string_view id, const store::AuditEntry* a) override {
    return inner_.delete_user(id, a);
  }
  Result<std::vector<std::pair<std::string, Timestamp>>> users_invalidated_since(
      Timestamp since) override {
    return inner_.users_invalidated_since(since);
  }

  Result<domain::User> start_session(const store::Session& s, std::string_view hash,
                                     std::string_view password_hash,
                                     const store::AuditEntry* a) override {
    return inner_.start_session(s, hash, password_hash, a);
  }
  Result<store::RotateResult> rotate_refresh_token(std::string_view presented,
                                                   std::string_view fresh, Timestamp now) override {
    return inner_.rotate_refresh_token(presented, fresh, now);
  }
  Status revoke_session(std::string_view id, Timestamp now, const store::AuditEntry* a) override {
    return inner_.revoke_session(id, now, a);
  }
  Result<std::vector<std::pair<std::string, Timestamp>>> sessions_revoked_since(
      Timestamp since) override {
    return inner_.sessions_revoked_since(since);
  }
  Status revoke_access_token(const store::RevokedToken& t) override {
    return inner_.revoke_access_token(t);
  }
  Result<std::vector<store::RevokedToken>> revoked_access_tokens(Timestamp now) override {
    return inner_.revoked_access_tokens(now);
  }

  Result<domain::Sensor> create_sensor(const domain::Sensor& s, std::string_view hash,
                                       const store::AuditEntry* a) override {
    return inner_.create_sensor(s, hash, a);
  }
  Result<domain::Sensor> find_sensor(std::string_view id, Timestamp now) override {
    if (fails(StoreCall::find_sensor)) return unavailable();
    return inner_.find_sensor(id, now);
  }
  Result<store::SensorPage> list_sensors(const store::SensorQuery& q) override {
    return inner_.list_sensors(q);
  }
  Result<domain::Sensor> update_sensor(std::string_view id, const domain::SensorUpdate& u,
                                       Timestamp now, const store::AuditEntry* a) override {
    return inner_.update_sensor(id, u, now, a);
  }
  Status delete_sensor(std::string_view id, const store::AuditEntry* a) override {
    return inner_.delete_sensor(id, a);
  }
  Result<std::string> find_sensor_by_api_key(std::string_view hash) override {
    return inner_.find_sensor_by_api_key(hash);
  }
  Status set_sensor_api_key(std::string_view id, std::string_view hash,
                            const store::AuditEntry* a) override {
    return inner_.set_sensor_api_key(id, hash, a);
  }
  Result<std::vector<std::string>> record_heartbeats(
      const std::vector<domain::Heartbeat>& heartbeats) override {
    if (fails(StoreCall::record_heartbeats)) return unavailable();
    return inner_.record_heartbeats(heartbeats);
  }
  Status apply_registration(const domain::Registration& r, Timestamp now) override {
    if (fails(StoreCall::apply_registration)) return unavailable();
    return inner_.apply_registration(r, now);
  }
  Result<domain::SensorStats> sensor_stats(std::string_view id, Timestamp now) override {
    return inner_.sensor_stats(id, now);
  }
  Result<std::vector<store::SensorStatusChange>> sweep_sensor_status(Timestamp since) override {
    return inner_.sweep_sensor_status(since);
  }

  Result<store::InsertOutcome> insert_threats(std::vector<domain::Threat>& threats) override {
    if (fails(StoreCall::insert_threats)) return unavailable();
    return inner_.insert_threats(threats);
  }
  Result<domain::Threat> find_threat(std::string_view id) override {
    return inner_.find_threat(id);
  }
  Result<std::vector<domain::Threat>> threats_after(std::string_view after, int limit) override {
    return inner_.threats_after(after, limit);
  }
  Result<store::ThreatPage> query_threats(const store::ThreatQuery& q) override {
    return inner_.query_threats(q);
  }
  Result<domain::Threat> acknowledge_threat(std::string_view id, std::string_view username,
                                            std::optional<std::string> notes, Timestamp at,
                                            const store::AuditEntry* a) override {
    return inner_.acknowledge_threat(id, username, std::move(notes), at, a);
  }
  Status delete_threat(std::string_view id, const store::AuditEntry* a) override {
    return inner_.delete_threat(id, a);
  }
  Result<std::int64_t> latest_threat_seq() override { return inner_.latest_threat_seq(); }
  Result<domain::Threat> update_threat(std::string_view id, const store::ThreatChange& change,
                                       std::string_view actor, Timestamp at,
                                       const store::AuditEntry* a) override {
    return inner_.update_threat(id, change, actor, at, a);
  }
  Result<std::vector<store::HistoryEntry>> threat_history(std::string_view id) override {
    return inner_.threat_history(id);
  }
  Result<store::BulkOutcome> bulk_update_threats(const store::ThreatSelection& selection,
                                                 const store::ThreatChange& change,
                                                 std::string_view actor, Timestamp at,
                                                 std::int64_t max_rows,
                                                 const store::AuditEntry* a) override {
    return inner_.bulk_update_threats(selection, change, actor, at, max_rows, a);
  }

  Result<store::FleetOverview> fleet_overview(Timestamp now, Timestamp online_since) override {
    return inner_.fleet_overview(now, online_since);
  }
  Result<std::vector<store::TrendPoint>> threat_trend(const store::TrendQuery& q) override {
    return inner_.threat_trend(q);
  }
  Result<store::ThreatTypeRanking> top_threat_types(const store::TimeWindow& w,
                                                    int limit) override {
    return inner_.top_threat_types(w, limit);
  }
  Result<std::vector<store::SensorThreatCount>> sensor_threat_counts(
      const store::TimeWindow& w, const std::vector<domain::Severity>& severities) override {
    return inner_.sensor_threat_counts(w, severities);
  }

  Result<std::int64_t> delete_threats_before(Timestamp cutoff, int batch_limit) override {
    return inner_.delete_threats_before(cutoff, batch_limit);
  }
  Result<std::int64_t> delete_rollups_before(Timestamp cutoff, int batch_limit) override {
    return inner_.delete_rollups_before(cutoff, batch_limit);
  }

  Status create_onboarding_token(const store::OnboardingToken& t,
                                 const store::AuditEntry* a) override {
    return inner_.create_onboarding_token(t, a);
  }
  Result<store::OnboardingToken> find_onboarding_token(std::string_view hash) override {
    return inner_.find_onboarding_token(hash);
  }
  Result<store::OnboardingToken> consume_onboarding_token(std::string_view hash,
                                                          std::string_view sensor_id, Timestamp now,
                                                          const store::AuditEntry* a) override {
    return inner_.consume_onboarding_token(hash, sensor_id, now, a);
  }

  Status insert_dead_letters(const std::vector<store::DeadLetter>& letters) override {
    if (fails(StoreCall::insert_dead_letters)) return unavailable();
    return inner_.insert_dead_letters(letters);
  }
  Result<std::vector<store::DeadLetter>> list_dead_letters(int limit) override {
    return inner_.list_dead_letters(limit);
  }

 private:
  static constexpr std::size_t kCalls = 5;
  static std::size_t index(StoreCall c) { return static_cast<std::size_t>(c); }
  static Error unavailable() { return make_error(Errc::unavailable, "store down (test)"); }
  // Counts the attempt; true when it is to fail.
  bool fails(StoreCall c) {
    ++attempts_[index(c)];
    auto& left = failures_[index(c)];
    for (int n = left.load(); n > 0;)
      if (left.compare_exchange_weak(n, n - 1)) return true;
    return false;
  }

  store::Store& inner_;
  std::atomic<int> failures_[kCalls] = {};
  std::atomic<int> attempts_[kCalls] = {};
};

}  // namespace honeyman::ingest::test_support
