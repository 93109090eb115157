// SqlStore: the audit log (SPEC §7) — the record every change writes in its own transaction
// (write_audit), records with no change (failed logins), the paged query and retention.
// Included only where a backend instantiates SqlStore (see sql_store.hpp).
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "store/detail/keyset.hpp"
#include "store/detail/rows.hpp"
#include "store/detail/sql_store.hpp"

namespace honeyman::store::detail {

// Writes `audit`, when set, on `conn`: inside the caller's transaction, so the record commits
// with the change or not at all. `extra` joins its details (what a threat change changed).
template <class Connection>
Status write_audit(Connection& conn, const AuditEntry* audit, boost::json::object extra = {}) {
  if (audit == nullptr) return {};
  auto details = audit->details;
  for (auto& [key, value] : extra) details[key] = std::move(value);
  return status_of(conn.execute(
      "INSERT INTO audit_log (at, actor, actor_role, client_addr, action, target_type, "
      "target_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      "record audit", audit->at, audit->actor, audit->actor_role, audit->client_addr, audit->action,
      audit->target_type, audit->target_id, json_text(details)));
}

inline constexpr auto read_audit_entry = [](const auto& row) {
  return AuditEntry{row.i64(0),  row.time(1), row.text(2),
                    row.text(3), row.text(4), row.text(5),
                    row.text(6), row.text(7), parse_json_object(row.text(8))};
};

template <class B>
Status SqlStore<B>::record_audit(const AuditEntry& entry) {
  return b_.write([&](Connection& conn) { return write_audit(conn, &entry); });
}

// Newest first by id; every filter has an index ending with the id (SQLite: its rowid).
template <class B>
Result<AuditPage> SqlStore<B>::query_audit(const AuditQuery& q) {
  KeysetFilters<typename B::Params> filters;
  if (q.actor) filters.add("actor = ", *q.actor);
  if (q.action) filters.add("action = ", *q.action);
  if (q.target_type) filters.add("target_type = ", *q.target_type);
  if (q.target_id) filters.add("target_id = ", *q.target_id);
  if (q.start_time) filters.add("at >= ", *q.start_time);
  if (q.end_time) filters.add("at < ", *q.end_time);
  auto page = read_keyset_page<AuditEntry>(
      b_, "query audit",
      "SELECT id, at, actor, actor_role, client_addr, action, target_type, "
      "target_id, details FROM audit_log",
      std::move(filters), q.cursor, q.page_size, read_audit_entry, kIntegerKey);
  if (!page) return page.error();
  return AuditPage{std::move(page->rows), std::move(page->next_cursor)};
}

template <class B>
Result<std::int64_t> SqlStore<B>::delete_audit_before(Timestamp cutoff, int batch_limit) {
  if (batch_limit < 1) return make_error(Errc::invalid_input, "batch_limit must be >= 1");
  return b_.write([&](Connection& conn) {
    return conn.execute(
        "DELETE FROM audit_log WHERE id IN "
        "(SELECT id FROM audit_log WHERE at < $1 ORDER BY at, id LIMIT $2)",
        "delete old audit records", cutoff, batch_limit);
  });
}

}  // namespace honeyman::store::detail
