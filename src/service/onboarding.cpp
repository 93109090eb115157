#include <spdlog/spdlog.h>

#include "service/service.hpp"

namespace honeyman::service {
namespace {

constexpr int kTokenBytes = 32;     // 256 bits: guessing is hopeless, SHA-256 is enough to store
constexpr int kPasswordBytes = 24;  // the broker account's password, 192 bits
constexpr std::size_t kMaxSensorName = 128;

Error bad_token() {
  return make_error(Errc::unauthorized, "Invalid, expired or already used onboarding token");
}

}  // namespace

OnboardingService::OnboardingService(store::Store& store, const Clock& clock,
                                     broker::BrokerConfig broker, broker::Admin* admin)
    : store_(store), clock_(clock), broker_(std::move(broker)), admin_(admin) {}

Result<IssuedToken> OnboardingService::create_token(const TokenRequest& request,
                                                    const store::Actor& by) {
  std::vector<FieldError> errors;
  if (request.sensor_name.empty())
    errors.push_back(
        {{"body", "sensor_name"}, "String should have at least 1 character", "string_too_short"});
  else if (request.sensor_name.size() > kMaxSensorName)
    errors.push_back(
        {{"body", "sensor_name"}, "String should have at most 128 characters", "string_too_long"});
  if (request.validity_hours < kMinValidityHours || request.validity_hours > kMaxValidityHours)
    errors.push_back(
        {{"body", "validity_hours"}, "Input should be between 1 and 168", "value_error"});
  if (!errors.empty()) return validation_error(std::move(errors));

  IssuedToken issued{random_token(kTokenBytes), {}};
  auto& row = issued.row;
  row.token_hash = sha256_hex(issued.token);
  row.sensor_name = request.sensor_name;
  row.description = request.description;
  row.created_by = request.created_by;
  row.created_at = clock_.now();
  row.expires_at = row.created_at + std::chrono::hours(request.validity_hours);
  // The target is the token's hash prefix: enough to tell tokens apart, useless as a credential.
  auto audit = store::audit_entry(
      by, row.created_at, "onboarding.token_create", "onboarding_token",
      row.token_hash.substr(0, 16),
      {{"sensor_name", row.sensor_name}, {"validity_hours", request.validity_hours}});
  if (auto done = store_.create_onboarding_token(row, &audit); !done) return done.error();
  return issued;
}

Result<store::OnboardingToken> OnboardingService::usable_token(std::string_view token) {
  auto row = store_.find_onboarding_token(sha256_hex(token));
  if (!row && row.error().code != Errc::not_found) return row.error();
  if (!row || row->used_at || row->expires_at <= clock_.now())
    return make_error(Errc::not_found, "Onboarding token not found or no longer valid");
  return row;
}

Status OnboardingService::check_reserved(const std::string& sensor_id) const {
  // The sensor id becomes a broker account name: the server's own accounts are not for taking.
  if (sensor_id == broker_.username || sensor_id == broker_.admin_username)
    return make_error(Errc::conflict, "sensor_id '" + sensor_id + "' is reserved");
  return {};
}

// Compensation: best effort, as a failed undo must not hide the error that caused it.
void OnboardingService::undo_registration(const std::string& sensor_id, bool with_account) {
  if (with_account)
    if (auto done = admin_->delete_sensor_account(sensor_id); !done)
      spdlog::warn("onboarding: broker account '{}' left behind: {}", sensor_id,
                   done.error().message);
  if (auto done = store_.delete_sensor(sensor_id); !done)
    spdlog::warn("onboarding: sensor '{}' left behind: {}", sensor_id, done.error().message);
}

Result<RegisteredSensor> OnboardingService::register_sensor(RegistrationRequest request,
                                                            std::string_view client_addr) {
  const auto& id = request.sensor_id;
  if (!domain::is_valid_sensor_id(id))
    return validation_error({{{"body", "sensor_id"},
                              "String should match pattern '^[A-Za-z0-9._-]{1,64}$'",
                              "string_pattern_mismatch"}});
  if (broker_.enabled() && !admin_)
    return make_error(Errc::unavailable,
                      "MQTT is configured without MQTT_ADMIN_USERNAME: the server cannot "
                      "create broker accounts");
  auto now = clock_.now();
  auto hash = sha256_hex(request.onboarding_token);
  auto token = store_.find_onboarding_token(hash);
  if (!token && token.error().code == Errc::not_found) return bad_token();
  if (!token) return token.error();
  if (token->used_at || token->expires_at <= now) return bad_token();
  if (auto free = check_reserved(id); !free) return free.error();

  RegisteredSensor out{std::move(request.details), auth::new_api_key(), std::nullopt};
  auto& sensor = out.sensor;
  sensor.id = uuid_v4();
  sensor.sensor_id = id;
  sensor.name = token->sensor_name;
  sensor.description = token->description;
  sensor.transport_protocol = broker_.enabled() ? "mqtt" : "http";
  sensor.created_at = sensor.updated_at = now;
  sensor.registered_at = now;
  if (sensor.latitude) sensor.location_method = sensor.location_method.value_or("registration");
  auto created = store_.create_sensor(sensor, auth::hash_secret(out.api_key));
  if (!created && created.error().code == Errc::conflict)
    return make_error(Errc::conflict, "sensor_id '" + id + "' is already registered");
  if (!created) return created.error();
  sensor = std::move(*created);

  if (admin_) {
    auto password = random_token(kPasswordBytes);
    if (auto account = admin_->create_sensor_account(id, password); !account) {
      undo_registration(id, false);
      if (account.error().code == Errc::conflict)
        return make_error(Errc::conflict, "sensor_id '" + id +
                                              "' cannot be registered: " + account.error().message);
      return make_error(Errc::unavailable,
                        "cannot create the sensor's broker account: " + account.error().message);
    }
    out.mqtt_password = std::move(password);
  }
  // Spent last and atomically: of two registrations with one token, the one that loses here
  // removes what it made.
  store::Actor sensor_actor{id, "sensor", std::string(client_addr)};
  auto audit = store::audit_entry(sensor_actor, clock_.now(), "sensor.register", "sensor", id,
                                  {{"onboarding_token", hash.substr(0, 16)},
                                   {"sensor_name", sensor.name},
                                   {"transport_protocol", sensor.transport_protocol}});
  if (auto spent = store_.consume_onboarding_token(hash, id, audit.at, &audit); !spent) {
    undo_registration(id, admin_ != nullptr);
    return spent.error().code == Errc::unauthorized ? bad_token() : spent.error();
  }
  return out;
}

}  // namespace honeyman::service
