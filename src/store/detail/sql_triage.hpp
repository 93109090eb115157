// SqlStore: the SOC workflow (SPEC §7) — threat lifecycle (update, history, bulk) and the audit
// log. Included only where a backend instantiates SqlStore (see sql_store.hpp).
#pragma once

#include "store/detail/sql_store.hpp"

namespace honeyman::store::detail {

// TODO(#14): being implemented; every method answers Errc::internal until then.
inline Error not_yet(std::string_view what) {
  return make_error(Errc::internal, std::string(what) + ": not implemented yet");
}

template <class B>
Result<domain::Threat> SqlStore<B>::update_threat(std::string_view, const ThreatChange&,
                                                  std::string_view, Timestamp, const AuditEntry*) {
  return not_yet("update_threat");
}
template <class B>
Result<std::vector<HistoryEntry>> SqlStore<B>::threat_history(std::string_view) {
  return not_yet("threat_history");
}
template <class B>
Result<BulkOutcome> SqlStore<B>::bulk_update_threats(const ThreatSelection&, const ThreatChange&,
                                                     std::string_view, Timestamp, std::int64_t,
                                                     const AuditEntry*) {
  return not_yet("bulk_update_threats");
}
template <class B>
Status SqlStore<B>::record_audit(const AuditEntry&) {
  return not_yet("record_audit");
}
template <class B>
Result<AuditPage> SqlStore<B>::query_audit(const AuditQuery&) {
  return not_yet("query_audit");
}
template <class B>
Result<std::int64_t> SqlStore<B>::delete_audit_before(Timestamp, int) {
  return not_yet("delete_audit_before");
}
template <class B>
Result<std::int64_t> SqlStore<B>::latest_threat_seq() {
  return b_.read([](Connection& conn) { return B::latest_threat_seq(conn); });
}
template <class B>
Result<UserPage> SqlStore<B>::list_users(const UserQuery&) {
  return not_yet("list_users");
}
template <class B>
Status SqlStore<B>::delete_user(std::string_view, const AuditEntry*) {
  return not_yet("delete_user");
}

}  // namespace honeyman::store::detail
