#include "service/service.hpp"

namespace honeyman::service {
namespace {

namespace json = boost::json;

template <class T>
json::value or_null(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

// The audit record's details of a sensor update: the new value of each field set.
json::object describe(const domain::SensorUpdate& u) {
  json::object out;
  if (u.name) out["name"] = *u.name;
  if (u.description) out["description"] = or_null(*u.description);
  if (u.city) out["city"] = or_null(*u.city);
  if (u.country) out["country"] = or_null(*u.country);
  if (u.is_active) out["is_active"] = *u.is_active;
  if (u.latitude) out["latitude"] = or_null(*u.latitude);
  if (u.longitude) out["longitude"] = or_null(*u.longitude);
  if (u.enabled_detectors) {
    json::array detectors;
    for (const auto& d : *u.enabled_detectors) detectors.push_back(json::string(d));
    out["enabled_detectors"] = std::move(detectors);
  }
  return out;
}

}  // namespace

SensorService::SensorService(store::Store& store, const Clock& clock,
                             std::chrono::seconds heartbeat_interval, broker::Admin* admin,
                             auth::AuthService* auth)
    : store_(store),
      clock_(clock),
      heartbeat_interval_(heartbeat_interval),
      admin_(admin),
      auth_(auth) {}

Error SensorService::broker_failure(const Error& e) const {
  return make_error(Errc::unavailable, "cannot update the sensor's broker account: " + e.message);
}

Result<store::SensorPage> SensorService::list(const SensorFilter& filter) {
  store::SensorQuery query;
  query.is_active = filter.is_active;
  query.is_online = filter.is_online;
  query.now = clock_.now();
  query.online_since = query.now - 3 * heartbeat_interval_;
  query.page = filter.page;
  query.page_size = filter.page_size;
  return store_.list_sensors(query);
}

Result<domain::Sensor> SensorService::find(std::string_view sensor_id) {
  return store_.find_sensor(sensor_id, clock_.now());
}

Result<domain::SensorStats> SensorService::stats(std::string_view sensor_id) {
  return store_.sensor_stats(sensor_id, clock_.now());
}

Result<domain::Sensor> SensorService::update(std::string_view sensor_id,
                                             const domain::SensorUpdate& update,
                                             const store::Actor& by) {
  // The broker account follows is_active first, so a failure leaves the two in agreement.
  if (update.is_active && admin_) {
    if (auto known = find(sensor_id); !known) return known.error();
    if (auto done = admin_->set_sensor_enabled(sensor_id, *update.is_active); !done)
      return broker_failure(done.error());
  }
  auto now = clock_.now();
  auto audit = store::audit_entry(by, now, "sensor.update", "sensor", std::string(sensor_id),
                                  describe(update));
  auto sensor = store_.update_sensor(sensor_id, update, now, &audit);
  if (!sensor) return sensor.error();
  if (update.is_active && !*update.is_active && auth_) auth_->forget_sensor_keys(sensor_id);
  return sensor;
}

Status SensorService::remove(std::string_view sensor_id, const store::Actor& by) {
  // Broker account first: if the broker is unreachable nothing is deleted and the caller may
  // retry; deleting an account that does not exist is success.
  if (admin_) {
    if (auto known = find(sensor_id); !known) return known.error();
    if (auto revoked = admin_->delete_sensor_account(sensor_id); !revoked)
      return broker_failure(revoked.error());
  }
  auto audit =
      store::audit_entry(by, clock_.now(), "sensor.delete", "sensor", std::string(sensor_id));
  if (auto done = store_.delete_sensor(sensor_id, &audit); !done) return done;
  if (auth_) auth_->forget_sensor_keys(sensor_id);
  return {};
}

Status SensorService::record_heartbeat(const domain::Heartbeat& heartbeat) {
  auto unknown = store_.record_heartbeats({heartbeat});
  if (!unknown) return unknown.error();
  if (!unknown->empty()) return make_error(Errc::not_found, "Sensor not found");
  return {};
}

Result<AddedSensor> SensorService::add(const NewSensor& request, const store::Actor& by) {
  if (!domain::is_valid_sensor_id(request.sensor_id))
    return validation_error({{{"body", "sensor_id"},
                              "sensor ids are 1-64 characters of A-Z a-z 0-9 . _ -",
                              "string_pattern_mismatch"}});
  if (request.name.empty() || request.name.size() > 128)
    return validation_error(
        {{{"body", "name"}, "the name must be 1-128 characters", "string_length"}});
  auto now = clock_.now();
  domain::Sensor sensor;
  sensor.id = uuid_v4();
  sensor.sensor_id = request.sensor_id;
  sensor.name = request.name;
  sensor.description = request.description;
  sensor.transport_protocol = "http";
  sensor.created_at = sensor.updated_at = now;
  sensor.registered_at = now;
  AddedSensor out{{}, auth::new_api_key()};
  auto audit = store::audit_entry(by, now, "sensor.create", "sensor", sensor.sensor_id,
                                  {{"name", sensor.name}, {"transport_protocol", "http"}});
  auto created = store_.create_sensor(sensor, auth::hash_secret(out.api_key), &audit);
  if (!created) return created.error();
  out.sensor = std::move(*created);
  return out;
}

Result<std::string> SensorService::revoke_key(std::string_view sensor_id, bool issue_new,
                                              const store::Actor& by) {
  std::string key = issue_new ? auth::new_api_key() : std::string();
  auto audit = store::audit_entry(by, clock_.now(), "sensor.revoke_key", "sensor",
                                  std::string(sensor_id), {{"new_key_issued", issue_new}});
  auto done =
      store_.set_sensor_api_key(sensor_id, key.empty() ? "" : auth::hash_secret(key), &audit);
  if (!done) return done.error();
  if (auth_) auth_->forget_sensor_keys(sensor_id);
  return key;
}

}  // namespace honeyman::service
