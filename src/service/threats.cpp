#include <set>

#include "service/service.hpp"

namespace honeyman::service {

ThreatService::ThreatService(store::Store& store, const Clock& clock, std::int64_t bulk_max_rows)
    : store_(store), clock_(clock), bulk_max_rows_(bulk_max_rows) {}

Result<store::ThreatPage> ThreatService::query(const store::ThreatQuery& query) {
  return store_.query_threats(query);
}

Result<domain::Threat> ThreatService::find(std::string_view threat_id) {
  return store_.find_threat(threat_id);
}

Result<domain::Threat> ThreatService::acknowledge(std::string_view threat_id,
                                                  std::optional<std::string> notes,
                                                  const store::Actor& by) {
  auto now = clock_.now();
  auto audit = store::audit_entry(by, now, "threat.acknowledge", "threat", std::string(threat_id));
  return store_.acknowledge_threat(threat_id, by.name, std::move(notes), now, &audit);
}

// An assignee must be someone who can work the threat: an active user (any role: a viewer may
// be handed a threat to follow).
Status ThreatService::check_assignee(const store::ThreatChange& change) {
  if (!change.assignee || !*change.assignee) return {};
  auto user = store_.find_user_by_name(**change.assignee);
  if (!user && user.error().code != Errc::not_found) return user.error();
  if (!user || !user->is_active)
    return validation_error(
        {{{"body", "assignee"}, "no active user '" + **change.assignee + "'", "value_error"}});
  return {};
}

Result<domain::Threat> ThreatService::update(std::string_view threat_id,
                                             const store::ThreatChange& change,
                                             const store::Actor& by) {
  if (auto ok = check_assignee(change); !ok) return ok.error();
  auto now = clock_.now();
  auto audit = store::audit_entry(by, now, "threat.update", "threat", std::string(threat_id));
  if (change.note) audit.details["note"] = *change.note;
  return store_.update_threat(threat_id, change, by.name, now, &audit);
}

Result<std::vector<store::HistoryEntry>> ThreatService::history(std::string_view threat_id) {
  return store_.threat_history(threat_id);
}

Result<store::BulkOutcome> ThreatService::bulk_update(const store::ThreatSelection& selection,
                                                      const store::ThreatChange& change,
                                                      const store::Actor& by) {
  if (selection.ids.empty() == !selection.filter)
    return validation_error(
        {{{"body"}, "give either `ids` or `filter`, not both and not neither", "value_error"}});
  if (selection.ids.size() > kMaxBulkIds)
    return validation_error(
        {{{"body", "ids"}, "at most " + std::to_string(kMaxBulkIds) + " ids", "too_long"}});
  if (change.empty())
    return validation_error(
        {{{"body", "set"}, "set at least one of `status` and `assignee`", "value_error"}});
  if (auto ok = check_assignee(change); !ok) return ok.error();
  auto now = clock_.now();
  boost::json::object details;
  details["selection"] = selection.filter ? "filter" : "ids";
  if (!selection.ids.empty()) details["ids"] = static_cast<std::int64_t>(selection.ids.size());
  if (change.status) details["status"] = domain::to_string(*change.status);
  if (change.assignee)
    details["assignee"] =
        *change.assignee ? boost::json::value(**change.assignee) : boost::json::value(nullptr);
  if (change.note) details["note"] = *change.note;
  auto audit = store::audit_entry(by, now, "threat.bulk_update", "threat", "", details);
  auto outcome =
      store_.bulk_update_threats(selection, change, by.name, now, bulk_max_rows_, &audit);
  if (!outcome && outcome.error().code == Errc::invalid_input && outcome.error().fields.empty())
    return validation_error({{{"body", "filter"}, outcome.error().message, "too_many_rows"}});
  return outcome;
}

Status ThreatService::remove(std::string_view threat_id, const store::Actor& by) {
  auto audit =
      store::audit_entry(by, clock_.now(), "threat.delete", "threat", std::string(threat_id));
  return store_.delete_threat(threat_id, &audit);
}

Status ThreatService::check_known_sensors(const std::vector<domain::Threat>& threats) {
  std::set<std::string_view> ids;
  for (const auto& t : threats) ids.insert(t.sensor_id);
  const auto now = clock_.now();
  for (auto id : ids) {
    auto sensor = store_.find_sensor(id, now);
    if (!sensor && sensor.error().code == Errc::not_found)
      return validation_error(
          {{{"body", "sensor_id"}, "Unknown sensor '" + std::string(id) + "'", "value_error"}});
    if (!sensor) return sensor.error();
  }
  return {};
}

}  // namespace honeyman::service
