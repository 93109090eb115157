// SqlStore: alerting (SPEC §8) — destinations and rules (settings kept as JSON text), fired
// alerts with their deliveries written in one transaction (the outbox), the claim/finish cycle of
// the outbox, and the commands sent to sensors. Included only where a backend instantiates
// SqlStore (see sql_store.hpp).
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <string>
#include <vector>

#include "store/detail/keyset.hpp"
#include "store/detail/rows.hpp"
#include "store/detail/sql_audit.hpp"
#include "store/detail/sql_store.hpp"

namespace honeyman::store::detail {

inline std::vector<std::string> parse_string_array(std::string_view text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.as_array())
    if (e.is_string()) out.emplace_back(e.as_string());
  return out;
}

inline constexpr auto read_destination = [](const auto& row) {
  return AlertDestination{row.text(0), row.text(1), row.text(2), parse_json_object(row.text(3)),
                          row.time(4), row.time(5)};
};
inline constexpr auto read_rule = [](const auto& row) {
  return AlertRule{row.text(0), row.text(1), row.boolean(2), parse_json_object(row.text(3)),
                   row.time(4), row.time(5)};
};
inline constexpr std::string_view kAlertColumns =
    "id, rule_id, rule_name, fired_at, sensor_id, threat_ids, count, status, acknowledged_by, "
    "acknowledged_at, summary";
inline constexpr auto read_alert = [](const auto& row) {
  return Alert{row.text(0),
               row.text(1),
               row.text(2),
               row.time(3),
               row.opt_text(4),
               parse_string_array(row.text(5)),
               row.i64(6),
               row.text(7),
               row.opt_text(8),
               row.opt_time(9),
               parse_json_object(row.text(10))};
};
inline constexpr std::string_view kDeliveryColumns =
    "id, alert_id, destination_id, status, attempts, created_at, next_attempt_at, delivered_at, "
    "last_error, body";
inline constexpr auto read_delivery = [](const auto& row) {
  return Delivery{
      row.text(0), row.text(1), row.text(2),     row.text(3), static_cast<int>(row.i64(4)),
      row.time(5), row.time(6), row.opt_time(7), row.text(8), row.text(9)};
};
inline constexpr std::string_view kCommandColumns =
    "id, sensor_id, kind, command, args, status, issued_at, issued_by, updated_at, message";
inline constexpr auto read_command = [](const auto& row) {
  return SensorCommand{
      row.text(0), row.text(1), row.text(2), row.text(3),     parse_json_object(row.text(4)),
      row.text(5), row.time(6), row.text(7), row.opt_time(8), row.opt_text(9)};
};

// --- Destinations and rules: one pattern for both tables.
template <class B>
Status SqlStore<B>::create_destination(const AlertDestination& d, const AuditEntry* audit) {
  return b_.transaction("create alert destination", [&](Connection& conn) -> Status {
    auto r = conn.execute(
        "INSERT INTO alert_destinations (id, name, kind, config, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        "create alert destination", d.id, d.name, d.kind, json_text(d.config), d.created_at,
        d.updated_at);
    if (!r) return r.error();
    return write_audit(conn, audit);
  });
}

template <class B>
Result<std::vector<AlertDestination>> SqlStore<B>::list_destinations() {
  return b_.read([&](Connection& conn) {
    return conn.fetch_all(
        "SELECT id, name, kind, config, created_at, updated_at FROM alert_destinations "
        "ORDER BY name, id",
        "list alert destinations", read_destination);
  });
}

template <class B>
Result<AlertDestination> SqlStore<B>::find_destination(std::string_view id) {
  return b_.read([&](Connection& conn) {
    return found_or(conn.fetch_one("SELECT id, name, kind, config, created_at, updated_at FROM "
                                   "alert_destinations WHERE id = $1",
                                   "find alert destination", read_destination, id),
                    "No such destination");
  });
}

// A change that must find its row: not_found when it changed none.
template <class Connection>
Status changed_one(Connection& conn, Result<std::int64_t> changed, const AuditEntry* audit,
                   std::string_view missing) {
  if (!changed) return changed.error();
  if (*changed == 0) return make_error(Errc::not_found, std::string(missing));
  return write_audit(conn, audit);
}

template <class B>
Status SqlStore<B>::update_destination(const AlertDestination& d, const AuditEntry* audit) {
  return b_.transaction("update alert destination", [&](Connection& conn) -> Status {
    auto r = conn.execute(
        "UPDATE alert_destinations SET name = $2, kind = $3, config = $4, updated_at = $5 "
        "WHERE id = $1",
        "update alert destination", d.id, d.name, d.kind, json_text(d.config), d.updated_at);
    return changed_one(conn, r, audit, "No such destination");
  });
}

template <class B>
Status SqlStore<B>::delete_destination(std::string_view id, const AuditEntry* audit) {
  return b_.transaction("delete alert destination", [&](Connection& conn) -> Status {
    auto r = conn.execute("DELETE FROM alert_destinations WHERE id = $1",
                          "delete alert destination", id);
    return changed_one(conn, r, audit, "No such destination");
  });
}

template <class B>
Status SqlStore<B>::create_rule(const AlertRule& rule, const AuditEntry* audit) {
  return b_.transaction("create alert rule", [&](Connection& conn) -> Status {
    auto r = conn.execute(
        "INSERT INTO alert_rules (id, name, enabled, definition, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        "create alert rule", rule.id, rule.name, rule.enabled, json_text(rule.definition),
        rule.created_at, rule.updated_at);
    if (!r) return r.error();
    return write_audit(conn, audit);
  });
}

template <class B>
Result<std::vector<AlertRule>> SqlStore<B>::list_rules() {
  return b_.read([&](Connection& conn) {
    return conn.fetch_all(
        "SELECT id, name, enabled, definition, created_at, updated_at FROM alert_rules "
        "ORDER BY name, id",
        "list alert rules", read_rule);
  });
}

template <class B>
Result<AlertRule> SqlStore<B>::find_rule(std::string_view id) {
  return b_.read([&](Connection& conn) {
    return found_or(conn.fetch_one("SELECT id, name, enabled, definition, created_at, updated_at "
                                   "FROM alert_rules WHERE id = $1",
                                   "find alert rule", read_rule, id),
                    "No such rule");
  });
}

template <class B>
Status SqlStore<B>::update_rule(const AlertRule& rule, const AuditEntry* audit) {
  return b_.transaction("update alert rule", [&](Connection& conn) -> Status {
    auto r = conn.execute(
        "UPDATE alert_rules SET name = $2, enabled = $3, definition = $4, updated_at = $5 "
        "WHERE id = $1",
        "update alert rule", rule.id, rule.name, rule.enabled, json_text(rule.definition),
        rule.updated_at);
    return changed_one(conn, r, audit, "No such rule");
  });
}

template <class B>
Status SqlStore<B>::delete_rule(std::string_view id, const AuditEntry* audit) {
  return b_.transaction("delete alert rule", [&](Connection& conn) -> Status {
    auto r = conn.execute("DELETE FROM alert_rules WHERE id = $1", "delete alert rule", id);
    return changed_one(conn, r, audit, "No such rule");
  });
}

// --- Alerts and the outbox.
template <class B>
Status SqlStore<B>::insert_alerts(const std::vector<NewAlert>& alerts) {
  static const std::string alert_sql = std::string("INSERT INTO alerts (")
                                           .append(kAlertColumns)
                                           .append(") VALUES (")
                                           .append(param_list(1, 11))
                                           .append(")");
  return b_.transaction("insert alerts", [&](Connection& conn) -> Status {
    for (const auto& [a, deliveries] : alerts) {
      auto r = conn.execute(alert_sql, "insert alert", a.id, a.rule_id, a.rule_name, a.fired_at,
                            a.sensor_id, json_text(a.threat_ids), a.count, a.status,
                            a.acknowledged_by, a.acknowledged_at, json_text(a.summary));
      if (!r) return r.error();
      for (const auto& d : deliveries) {
        auto w = conn.execute(
            "INSERT INTO alert_deliveries (id, alert_id, destination_id, status, attempts, "
            "created_at, next_attempt_at, last_error, body) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            "$8, $9)",
            "insert alert delivery", d.id, d.alert_id, d.destination_id, d.status, d.attempts,
            d.created_at, d.next_attempt_at, d.last_error, d.body);
        if (!w) return w.error();
      }
    }
    return {};
  });
}

template <class B>
Result<AlertPage> SqlStore<B>::query_alerts(const AlertQuery& q) {
  static const std::string select =
      std::string("SELECT ").append(kAlertColumns).append(" FROM alerts");
  KeysetFilters<typename B::Params> filters;
  if (q.status) filters.add("status = ", *q.status);
  if (q.rule_id) filters.add("rule_id = ", *q.rule_id);
  if (q.sensor_id) filters.add("sensor_id = ", *q.sensor_id);
  auto page = read_keyset_page<Alert>(b_, "query alerts", select, std::move(filters), q.cursor,
                                      q.page_size, read_alert, kUuidKey);
  if (!page) return page.error();
  return AlertPage{std::move(page->rows), std::move(page->next_cursor)};
}

template <class B>
Result<Alert> SqlStore<B>::find_alert(std::string_view id) {
  static const std::string sql =
      std::string("SELECT ").append(kAlertColumns).append(" FROM alerts WHERE id = $1");
  return b_.read([&](Connection& conn) {
    return found_or(conn.fetch_one(sql, "find alert", read_alert, id), "No such alert");
  });
}

template <class B>
Result<Alert> SqlStore<B>::acknowledge_alert(std::string_view id, std::string_view username,
                                             Timestamp at, const AuditEntry* audit) {
  static const std::string select =
      std::string("SELECT ").append(kAlertColumns).append(" FROM alerts WHERE id = $1");
  return b_.transaction("acknowledge alert", [&](Connection& conn) -> Result<Alert> {
    auto r = conn.execute(
        "UPDATE alerts SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3 "
        "WHERE id = $1 AND status = 'firing'",
        "acknowledge alert", id, username, at);
    if (!r) return r.error();
    auto alert = found_or(conn.fetch_one(select, "find alert", read_alert, id), "No such alert");
    if (!alert) return alert.error();
    if (auto s = write_audit(conn, audit); !s) return s.error();
    return alert;
  });
}

// The claim is one conditional UPDATE: under SQLite's single writer it is atomic as it stands;
// on PostgreSQL the inner SELECT locks the rows it picks and skips rows another claim holds.
template <class B>
Result<std::vector<Delivery>> SqlStore<B>::claim_deliveries(std::string_view owner, Timestamp now,
                                                            Timestamp lease_until, int limit) {
  static const std::string sql =
      std::string(
          "UPDATE alert_deliveries SET claimed_by = $1, claimed_until = $2 WHERE id IN (SELECT "
          "id FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= $3 AND "
          "(claimed_until IS NULL OR claimed_until <= $3) ORDER BY next_attempt_at LIMIT $4")
          .append(B::kRowLocks ? " FOR UPDATE SKIP LOCKED" : "")
          .append(") AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= $3) ")
          .append("RETURNING ")
          .append(kDeliveryColumns);
  return b_.write([&](Connection& conn) {
    return conn.fetch_all(sql, "claim deliveries", read_delivery, owner, lease_until, now, limit);
  });
}

template <class B>
Status SqlStore<B>::finish_delivery(std::string_view id, std::string_view owner,
                                    const DeliveryOutcome& o) {
  const char* status = o.kind == DeliveryOutcome::delivered ? "delivered"
                       : o.kind == DeliveryOutcome::failed  ? "failed"
                                                            : "pending";
  std::optional<Timestamp> delivered_at;
  if (o.kind == DeliveryOutcome::delivered) delivered_at = o.at;
  auto next = o.kind == DeliveryOutcome::retry || o.kind == DeliveryOutcome::release
                  ? o.next_attempt_at
                  : o.at;
  const std::int64_t attempted = o.kind == DeliveryOutcome::release ? 0 : 1;
  return b_.write([&](Connection& conn) -> Status {
    auto r = conn.execute(
        "UPDATE alert_deliveries SET status = $3, attempts = attempts + $7, claimed_by = NULL, "
        "claimed_until = NULL, delivered_at = $4, next_attempt_at = $5, last_error = $6 "
        "WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
        "finish delivery", id, owner, std::string_view(status), delivered_at, next, o.error,
        attempted);
    if (!r) return r.error();
    if (*r == 0)
      return make_error(Errc::conflict, "the delivery's claim was lost (another instance has it)");
    return {};
  });
}

template <class B>
Result<DeliveryPage> SqlStore<B>::query_deliveries(const DeliveryQuery& q) {
  static const std::string select =
      std::string("SELECT ").append(kDeliveryColumns).append(" FROM alert_deliveries");
  KeysetFilters<typename B::Params> filters;
  if (q.status) filters.add("status = ", *q.status);
  if (q.alert_id) filters.add("alert_id = ", *q.alert_id);
  auto page = read_keyset_page<Delivery>(b_, "query deliveries", select, std::move(filters),
                                         q.cursor, q.page_size, read_delivery, kUuidKey);
  if (!page) return page.error();
  return DeliveryPage{std::move(page->rows), std::move(page->next_cursor)};
}

// --- Sensor commands.
template <class B>
Status SqlStore<B>::insert_command(const SensorCommand& c, const AuditEntry* audit) {
  static const std::string sql = std::string("INSERT INTO sensor_commands (")
                                     .append(kCommandColumns)
                                     .append(") VALUES (")
                                     .append(param_list(1, 10))
                                     .append(")");
  return b_.transaction("insert sensor command", [&](Connection& conn) -> Status {
    auto r = conn.execute(sql, "insert sensor command", c.id, c.sensor_id, c.kind, c.command,
                          json_text(c.args), c.status, c.issued_at, c.issued_by, c.updated_at,
                          c.message);
    if (!r) return r.error();
    return write_audit(conn, audit);
  });
}

template <class B>
Result<std::vector<SensorCommand>> SqlStore<B>::list_commands(std::string_view sensor_id,
                                                              int limit) {
  static const std::string sql =
      std::string("SELECT ")
          .append(kCommandColumns)
          .append(
              " FROM sensor_commands WHERE sensor_id = $1 ORDER BY issued_at DESC, id DESC "
              "LIMIT $2");
  return b_.read([&](Connection& conn) {
    return conn.fetch_all(sql, "list sensor commands", read_command, sensor_id, limit);
  });
}

template <class B>
Status SqlStore<B>::set_command_result(std::string_view id, std::string_view sensor_id,
                                       std::string_view status, std::optional<std::string> message,
                                       Timestamp at) {
  return b_.write([&](Connection& conn) -> Status {
    auto r = conn.execute(
        "UPDATE sensor_commands SET status = $3, message = $4, updated_at = $5 "
        "WHERE id = $1 AND sensor_id = $2",
        "record command result", id, sensor_id, status, message, at);
    if (!r) return r.error();
    if (*r == 0) return make_error(Errc::not_found, "No such command for this sensor");
    return {};
  });
}

}  // namespace honeyman::store::detail
