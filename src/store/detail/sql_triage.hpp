// SqlStore: the SOC workflow (SPEC §7) — threat lifecycle: acknowledgement, update, history and
// bulk change. Included only where a backend instantiates SqlStore (see sql_store.hpp).
//
// Triage writes of every instance are serialised (PostgreSQL: a transaction-scoped advisory
// lock; SQLite: its single writer): a change reads the state it records as "old" and writes the
// new one with no other triage change in between, so the history is a true sequence. They are
// people's actions, few a second; the lock is never held by ingest or queries.
#pragma once

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "store/detail/rows.hpp"
#include "store/detail/sql_audit.hpp"
#include "store/detail/sql_store.hpp"

namespace honeyman::store::detail {

inline constexpr std::int64_t kTriageLock = 0x486f6e65794d0003;  // "HoneyM" 3

template <class B, class Connection>
Status serialise_triage(Connection& conn) {
  if constexpr (B::kRowLocks)
    return status_of(conn.execute("SELECT pg_advisory_xact_lock(CAST($1 AS bigint))",
                                  "serialise triage", kTriageLock));
  else
    return {};  // the write transaction holds the whole database
}

// What a triage change needs to know of a threat before changing it.
struct TriageState {
  Timestamp timestamp;
  domain::ThreatStatus status = domain::ThreatStatus::new_;
  std::optional<std::string> assignee, acknowledged_by;
};

template <class Connection>
Result<TriageState> triage_state(Connection& conn, const std::string& key) {
  return found_or(conn.fetch_one(
                      "SELECT timestamp, status, assignee, acknowledged_by FROM threats "
                      "WHERE id = $1",
                      "read threat",
                      [](const auto& row) {
                        return TriageState{row.time(0), status_of_code(row.i64(1)), row.opt_text(2),
                                           row.opt_text(3)};
                      },
                      key),
                  "Threat not found");
}

inline boost::json::value json_of(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return boost::json::value(*s);
}
inline boost::json::value json_of(domain::ThreatStatus s) {
  return boost::json::value(std::string(domain::to_string(s)));
}

// {field: [old, new]} for a field whose value changes; nothing when it stays.
template <class T>
void note_change(boost::json::object& changes, std::string_view field, const T& old_value,
                 const T& new_value) {
  if (old_value == new_value) return;
  changes[field] = boost::json::array{json_of(old_value), json_of(new_value)};
}

template <class Connection>
Status append_history(Connection& conn, const std::string& key, const TriageState& threat,
                      Timestamp at, std::string_view actor, const boost::json::object& changes,
                      const std::optional<std::string>& note) {
  return status_of(conn.execute(
      "INSERT INTO threat_history (threat_id, threat_timestamp, at, actor, changes, note) "
      "VALUES ($1, $2, $3, $4, $5, $6)",
      "append threat history", key, threat.timestamp, at, actor, json_text(changes), note));
}

template <class Connection>
Result<domain::Threat> read_threat_by_key(Connection& conn, const std::string& key) {
  static const std::string sql =
      std::string("SELECT ").append(kThreatColumns).append(" FROM threats WHERE id = $1");
  return found_or(conn.fetch_one(sql, "read threat", read_threat, key), "Threat not found");
}

// An acknowledgement moves only a `new` threat on; one further along keeps its status and gains
// the acknowledgement's who, when and notes.
template <class B>
Result<domain::Threat> SqlStore<B>::acknowledge_threat(std::string_view id,
                                                       std::string_view username,
                                                       std::optional<std::string> notes,
                                                       Timestamp at, const AuditEntry* audit) {
  static const std::string sql =
      std::string(
          "UPDATE threats SET status = $1, is_acknowledged = true, acknowledged_at = $2, "
          "acknowledged_by = $3, acknowledgement_notes = $4, updated_at = $2 WHERE id = $5 "
          "RETURNING ")
          .append(kThreatColumns);
  auto key = B::threat_id(id);
  if (!key) return make_error(Errc::not_found, "Threat not found");
  return b_.transaction("acknowledge threat", [&](Connection& conn) -> Result<domain::Threat> {
    if (auto s = serialise_triage<B>(conn); !s) return s.error();
    auto old = triage_state(conn, *key);
    if (!old) return old.error();
    auto status = old->status == domain::ThreatStatus::new_ ? domain::ThreatStatus::acknowledged
                                                            : old->status;
    auto threat = found_or(conn.fetch_one(sql, "acknowledge threat", read_threat, stored(status),
                                          at, username, notes, *key),
                           "Threat not found");
    if (!threat) return threat.error();
    boost::json::object changes;
    note_change(changes, "status", old->status, status);
    note_change(changes, "acknowledged_by", old->acknowledged_by,
                std::optional<std::string>(username));
    if (!changes.empty() || notes)
      if (auto s = append_history(conn, *key, *old, at, username, changes, notes); !s)
        return s.error();
    if (auto s = write_audit(conn, audit, {{"changes", changes}}); !s) return s.error();
    return threat;
  });
}

// Leaving `new` records who and when as the acknowledgement, unless one is recorded already;
// going back to `new` clears is_acknowledged but keeps that record (history).
template <class B>
Result<domain::Threat> SqlStore<B>::update_threat(std::string_view id, const ThreatChange& change,
                                                  std::string_view actor, Timestamp at,
                                                  const AuditEntry* audit) {
  auto key = B::threat_id(id);
  if (!key) return make_error(Errc::not_found, "Threat not found");
  return b_.transaction("update threat", [&](Connection& conn) -> Result<domain::Threat> {
    if (auto s = serialise_triage<B>(conn); !s) return s.error();
    auto old = triage_state(conn, *key);
    if (!old) return old.error();
    auto status = change.status.value_or(old->status);
    auto assignee = change.assignee.value_or(old->assignee);
    boost::json::object changes;
    note_change(changes, "status", old->status, status);
    note_change(changes, "assignee", old->assignee, assignee);
    if (!changes.empty()) {
      auto acknowledged = status != domain::ThreatStatus::new_;
      auto updated = conn.execute(
          "UPDATE threats SET status = $1, assignee = $2, is_acknowledged = $3, "
          "acknowledged_at = CASE WHEN $3 THEN coalesce(acknowledged_at, $4) "
          "ELSE acknowledged_at END, "
          "acknowledged_by = CASE WHEN $3 THEN coalesce(acknowledged_by, $5) "
          "ELSE acknowledged_by END, "
          "updated_at = $4 WHERE id = $6",
          "update threat", stored(status), assignee, acknowledged, at, actor, *key);
      if (!updated) return updated.error();
    }
    if (!changes.empty() || change.note)
      if (auto s = append_history(conn, *key, *old, at, actor, changes, change.note); !s)
        return s.error();
    if (auto s = write_audit(conn, audit, {{"changes", changes}}); !s) return s.error();
    return read_threat_by_key(conn, *key);
  });
}

template <class B>
Result<std::vector<HistoryEntry>> SqlStore<B>::threat_history(std::string_view id) {
  auto key = B::threat_id(id);
  if (!key) return make_error(Errc::not_found, "Threat not found");
  return b_.snapshot("threat history", [&](Connection& conn) -> Result<std::vector<HistoryEntry>> {
    if (auto old = triage_state(conn, *key); !old) return old.error();
    return conn.fetch_all(
        "SELECT at, actor, changes, note FROM threat_history WHERE threat_id = $1 ORDER BY id",
        "threat history",
        [](const auto& row) {
          return HistoryEntry{row.time(0), row.text(1), parse_json_object(row.text(2)),
                              row.opt_text(3)};
        },
        *key);
  });
}

// ---------------------------------------------------------------------------------------------
// The bulk change: a WHERE clause over `threats` (the list filters, or the ids) extended with
// the change's own parameters. Every statement gets its own copy, numbered on from the
// selection's parameters, since PostgreSQL refuses parameters a statement does not use.
template <class Filter>
class BulkStatement {
 public:
  explicit BulkStatement(const Filter& selection) : f_(selection) {}
  // CAST($n AS type) for a new parameter: a type both databases read, where PostgreSQL could
  // not infer one.
  template <class T>
  std::string add(const T& value, std::string_view type) {
    f_.params.add(value);
    return "CAST(" + param(f_.params.size()) + " AS " + std::string(type) + ")";
  }
  void where(std::string condition) { f_.conditions.push_back(std::move(condition)); }
  std::string where() const { return f_.where(); }
  const auto& params() const { return f_.params; }

 private:
  Filter f_;
};

// The status's name from its stored number, in SQL. The names are the program's constants.
inline std::string status_name_sql() {
  std::string out = "CASE status";
  for (auto s : domain::kAllThreatStatuses)
    out.append(" WHEN ")
        .append(std::to_string(static_cast<int>(s)))
        .append(" THEN '")
        .append(domain::to_string(s))
        .append("'");
  return out + " END";
}

// The SQL of a bulk change's fields: what each sets, when a row changes, and (for the history,
// `with_json`) each field's old and new JSON value.
struct BulkFields {
  std::vector<std::string> assignments;  // "status = CAST($n AS smallint)"
  std::vector<JsonChange> json;
  std::string changed;  // "(status <> $n OR assignee IS DISTINCT FROM $m)"
};

template <class Filter>
BulkFields bulk_fields(BulkStatement<Filter>& st, const ThreatChange& change, bool with_json) {
  BulkFields out;
  std::vector<std::string> conditions;
  if (change.status) {
    auto s = st.add(stored(*change.status), "smallint");
    out.assignments.push_back("status = " + s);
    conditions.push_back("status <> " + s);
    if (with_json)
      out.json.push_back({"status", conditions.back(), status_name_sql(),
                          st.add(std::string(domain::to_string(*change.status)), "text")});
  }
  if (change.assignee) {
    auto a = st.add(*change.assignee, "text");
    out.assignments.push_back("assignee = " + a);
    conditions.push_back("assignee IS DISTINCT FROM " + a);
    if (with_json) out.json.push_back({"assignee", conditions.back(), "assignee", a});
  }
  for (const auto& c : conditions) out.changed.append(out.changed.empty() ? "(" : " OR ").append(c);
  out.changed += ")";
  return out;
}

// The history rows of the rows that change, each with its own {field: [old, new]}.
template <class B, class Filter>
Result<std::int64_t> insert_bulk_history(typename B::Connection& conn, const Filter& selection,
                                         const ThreatChange& change, std::string_view actor,
                                         Timestamp at) {
  BulkStatement<Filter> st(selection);
  auto fields = bulk_fields(st, change, true);
  st.where(fields.changed);
  auto sql =
      "INSERT INTO threat_history (threat_id, threat_timestamp, at, actor, changes, note) "
      "SELECT id, timestamp, " +
      st.add(at, "bigint") + ", " + st.add(actor, "text") + ", " + B::changes_json(fields.json) +
      ", " + st.add(change.note, "text") + " FROM threats" + st.where();
  return conn.execute(per_call(sql), "bulk update threats", st.params());
}

// As update_threat, row by row: leaving `new` records the acknowledgement when none is.
template <class B, class Filter>
Result<std::int64_t> update_bulk_rows(typename B::Connection& conn, const Filter& selection,
                                      const ThreatChange& change, std::string_view actor,
                                      Timestamp at) {
  BulkStatement<Filter> st(selection);
  auto fields = bulk_fields(st, change, false);
  st.where(fields.changed);
  auto when = st.add(at, "bigint");
  auto set = "updated_at = " + when;
  for (const auto& a : fields.assignments) set += ", " + a;
  if (change.status) {
    auto acknowledged = st.add(*change.status != domain::ThreatStatus::new_, "boolean");
    auto by = st.add(actor, "text");
    set += ", is_acknowledged = " + acknowledged + ", acknowledged_at = CASE WHEN " + acknowledged +
           " THEN coalesce(acknowledged_at, " + when +
           ") ELSE acknowledged_at END, acknowledged_by = CASE WHEN " + acknowledged +
           " THEN coalesce(acknowledged_by, " + by + ") ELSE acknowledged_by END";
  }
  auto sql = "UPDATE threats SET " + set + st.where();
  return conn.execute(per_call(sql), "bulk update threats", st.params());
}

// Counted first, up to max_rows + 1: a selection that is too large changes nothing.
template <class B>
Result<BulkOutcome> SqlStore<B>::bulk_update_threats(const ThreatSelection& selection,
                                                     const ThreatChange& change,
                                                     std::string_view actor, Timestamp at,
                                                     std::int64_t max_rows,
                                                     const AuditEntry* audit) {
  std::vector<std::string> ids;
  for (const auto& id : selection.ids)
    if (auto key = B::threat_id(id)) ids.push_back(*key);  // not a threat id: matches nothing
  auto filter = selection.filter ? B::row_filter(*selection.filter) : B::ids_filter(ids);
  return b_.transaction("bulk update threats", [&](Connection& conn) -> Result<BulkOutcome> {
    if (auto s = serialise_triage<B>(conn); !s) return s.error();
    BulkStatement<decltype(filter)> count(filter);
    auto limit = count.add(std::clamp<std::int64_t>(max_rows, 0, INT64_MAX - 1) + 1, "bigint");
    auto matched = conn.fetch_one(
        per_call("SELECT count(*) FROM (SELECT 1 FROM threats" + count.where() + " LIMIT " + limit +
                 ") m"),
        "bulk update threats", [](const auto& row) { return row.i64(0); }, count.params());
    if (!matched) return matched.error();
    BulkOutcome out{matched->value_or(0), 0};
    if (out.matched > max_rows)
      return make_error(Errc::invalid_input, "The selection matches more than " +
                                                 std::to_string(max_rows) +
                                                 " threats; narrow the filter");
    if (!change.empty() && out.matched > 0) {
      auto history = insert_bulk_history<B>(conn, filter, change, actor, at);
      if (!history) return history.error();
      auto changed = update_bulk_rows<B>(conn, filter, change, actor, at);
      if (!changed) return changed.error();
      out.changed = *changed;
    }
    if (auto s = write_audit(conn, audit, {{"matched", out.matched}, {"changed", out.changed}}); !s)
      return s.error();
    return out;
  });
}

// The export cut-off: how the newest seq is found cheaply is the backend's.
template <class B>
Result<std::int64_t> SqlStore<B>::latest_threat_seq() {
  return b_.read([](Connection& conn) { return B::latest_threat_seq(conn); });
}

}  // namespace honeyman::store::detail
