#include <set>

#include "service/service.hpp"

namespace honeyman::service {

ThreatService::ThreatService(store::Store& store, const Clock& clock)
    : store_(store), clock_(clock) {}

Result<store::ThreatPage> ThreatService::query(const store::ThreatQuery& query) {
  return store_.query_threats(query);
}

Result<domain::Threat> ThreatService::find(std::string_view threat_id) {
  return store_.find_threat(threat_id);
}

Result<domain::Threat> ThreatService::acknowledge(std::string_view threat_id,
                                                  std::string_view username,
                                                  std::optional<std::string> notes) {
  return store_.acknowledge_threat(threat_id, username, std::move(notes), clock_.now());
}

Status ThreatService::remove(std::string_view threat_id) {
  return store_.delete_threat(threat_id);
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
