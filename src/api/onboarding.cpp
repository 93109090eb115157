// Onboarding (SPEC §2, 3 routes): an admin mints a single-use token; the sensor trades it for its
// identity (sensor row, API key, broker account) exactly once.
#include "api/detail/common.hpp"
#include "api/detail/qr_png.hpp"
#include "api/detail/response_cache.hpp"
#include "api/detail/routes.hpp"

namespace honeyman::api::detail {
namespace {

constexpr int kTokenBytes = 32;  // 256 bits: guessing is hopeless, hashing with SHA-256 is enough

// The API's public base URL (no trailing slash) including the prefix.
std::string api_base(const RequestContext& ctx, const Services& s) {
  std::string base = s.config.public_url;
  if (base.empty()) {
    auto host = ctx.request[boost::beast::http::field::host];
    base = "http://" + std::string(host.empty() ? "localhost" : host);
  }
  return base + s.config.prefix;
}

// --- POST /onboarding/tokens --------------------------------------------------------------------
asio::awaitable<Response> create_token(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  std::vector<FieldError> errors;
  refuse_unknown_keys(*body, {"sensor_name", "description", "validity_hours"}, errors);
  auto name = string_member(*body, "sensor_name", errors, true, 128);
  auto description = string_member(*body, "description", errors, false, 1024);
  if (name && name->empty())
    errors.push_back(
        {{"body", "sensor_name"}, "String should have at least 1 character", "string_too_short"});
  std::int64_t hours = 24;
  if (auto* v = body->if_contains("validity_hours"); v && !v->is_null()) {
    if (!v->is_int64() && !v->is_uint64())
      errors.push_back({{"body", "validity_hours"}, "Input should be a valid integer", "int_type"});
    else if (hours = v->is_int64() ? v->as_int64() : 169; hours < 1 || hours > 168)
      errors.push_back(
          {{"body", "validity_hours"}, "Input should be between 1 and 168", "value_error"});
  }
  if (!errors.empty()) co_return http::error_response(validation_error(std::move(errors)));

  auto token = random_token(kTokenBytes);
  store::OnboardingToken row;
  row.token_hash = sha256_hex(token);
  row.sensor_name = *name;
  row.description = description;
  row.created_by = ctx.principal.id;
  row.created_at = s.clock.now();
  row.expires_at = row.created_at + std::chrono::hours(hours);
  auto done = co_await run_blocking(s.pool, [&] { return s.store.create_onboarding_token(row); });
  if (!done) co_return http::error_response(done.error());
  co_return created(json::object{
      {"token", token},
      {"sensor_name", row.sensor_name},
      {"description", row.description ? json::value(*row.description) : json::value(nullptr)},
      {"expires_at", format_timestamp(row.expires_at)},
      {"qr_code_url", api_base(ctx, s) + "/onboarding/qrcode/" + token}});
}

// --- POST /onboarding/register ------------------------------------------------------------------
struct Registration {
  std::string token, sensor_id;
  domain::Sensor sensor;
};

std::optional<double> number_member(const json::object& o, std::string_view key,
                                    std::vector<std::string> loc, double min, double max,
                                    std::vector<FieldError>& errors) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  loc.emplace_back(key);
  if (!v->is_number()) {
    errors.push_back({loc, "Input should be a valid number", "float_type"});
    return std::nullopt;
  }
  double d = v->to_number<double>();
  if (d < min || d > max) {
    errors.push_back(
        {loc, "Input should be between " + std::to_string(min) + " and " + std::to_string(max),
         "value_error"});
    return std::nullopt;
  }
  return d;
}

void read_location(const json::object& body, domain::Sensor& s, std::vector<FieldError>& errors) {
  auto* v = body.if_contains("location");
  if (!v || v->is_null()) return;
  if (!v->is_object()) {
    errors.push_back({{"body", "location"}, "Input should be a valid dictionary", "dict_type"});
    return;
  }
  const auto& loc = v->as_object();
  for (const auto& m : loc) {
    std::string_view k = m.key();
    if (k != "latitude" && k != "longitude" && k != "accuracy" && k != "method" && k != "city" &&
        k != "country")
      errors.push_back({{"body", "location", std::string(k)},
                        "Extra inputs are not permitted",
                        "extra_forbidden"});
  }
  const std::vector<std::string> at{"body", "location"};
  s.latitude = number_member(loc, "latitude", at, -90, 90, errors);
  s.longitude = number_member(loc, "longitude", at, -180, 180, errors);
  s.location_accuracy = number_member(loc, "accuracy", at, 0, 1e7, errors);
  if (s.latitude.has_value() != s.longitude.has_value())
    errors.push_back({at, "latitude and longitude go together", "value_error"});
  for (auto [key, field] : {std::pair{"method", &s.location_method}, std::pair{"city", &s.city},
                            std::pair{"country", &s.country}}) {
    auto* f = loc.if_contains(key);
    if (!f || f->is_null()) continue;
    if (!f->is_string() || f->as_string().size() > 128)
      errors.push_back({{"body", "location", key},
                        "Input should be a string of at most 128 "
                        "characters",
                        "string_type"});
    else
      *field = std::string(f->as_string());
  }
}

Result<Registration> parse_registration(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body,
                      {"onboarding_token", "sensor_id", "capabilities", "platform", "architecture",
                       "agent_version", "python_version", "location"},
                      errors);
  Registration r;
  auto token = string_member(body, "onboarding_token", errors, true, 256);
  auto id = string_member(body, "sensor_id", errors, true, 64);
  if (id && !domain::is_valid_sensor_id(*id))
    errors.push_back({{"body", "sensor_id"},
                      "String should match pattern '^[A-Za-z0-9._-]{1,64}$'",
                      "string_pattern_mismatch"});
  r.sensor.platform = string_member(body, "platform", errors, false, 128);
  r.sensor.architecture = string_member(body, "architecture", errors, false, 128);
  r.sensor.agent_version = string_member(body, "agent_version", errors, false, 128);
  r.sensor.python_version = string_member(body, "python_version", errors, false, 128);
  if (auto* caps = body.if_contains("capabilities"); caps && !caps->is_null()) {
    if (!caps->is_object())
      errors.push_back(
          {{"body", "capabilities"}, "Input should be a valid dictionary", "dict_type"});
    else if (json::serialize(*caps).size() > domain::kMaxRawEventBytes)
      errors.push_back({{"body", "capabilities"}, "Too large", "value_error"});
    else
      r.sensor.capabilities = caps->as_object();
  }
  read_location(body, r.sensor, errors);
  if (!errors.empty()) return validation_error(std::move(errors));
  r.token = *token;
  r.sensor_id = *id;
  return r;
}

const Error kBadToken =
    make_error(Errc::unauthorized, "Invalid, expired or already used onboarding token");

// Creates sensor → broker account → spends the token; undoes the earlier steps when a later
// one fails, so a failed registration leaves nothing behind and the token stays usable unless
// it was spent by a concurrent registration.
Result<std::string> register_sensor(Registration& r, const std::string& password,
                                    const std::string& api_key, Services& s) {
  auto now = s.clock.now();
  auto hash = sha256_hex(r.token);
  auto token = s.store.find_onboarding_token(hash);
  if (!token && token.error().code == Errc::not_found) return kBadToken;
  if (!token) return token.error();
  if (token->used_at || token->expires_at <= now) return kBadToken;
  const auto& broker = s.config.broker;
  if (r.sensor_id == broker.username || r.sensor_id == broker.admin_username)
    return make_error(Errc::conflict, "sensor_id '" + r.sensor_id + "' is reserved");

  auto& sensor = r.sensor;
  sensor.id = uuid_v4();
  sensor.sensor_id = r.sensor_id;
  sensor.name = token->sensor_name;
  sensor.description = token->description;
  sensor.transport_protocol = broker.enabled() ? "mqtt" : "http";
  sensor.created_at = sensor.updated_at = now;
  sensor.registered_at = now;
  if (sensor.latitude) sensor.location_method = sensor.location_method.value_or("registration");
  auto created = s.store.create_sensor(sensor, auth::hash_secret(api_key));
  if (!created && created.error().code == Errc::conflict)
    return make_error(Errc::conflict, "sensor_id '" + r.sensor_id + "' is already registered");
  if (!created) return created.error();

  if (s.broker_admin) {
    auto account = s.broker_admin->create_sensor_account(r.sensor_id, password);
    if (!account) {
      (void)s.store.delete_sensor(r.sensor_id);
      return make_error(Errc::unavailable,
                        "cannot create the sensor's broker account: " + account.error().message);
    }
  }
  auto spent = s.store.consume_onboarding_token(hash, r.sensor_id, s.clock.now());
  if (!spent) {
    if (s.broker_admin) (void)s.broker_admin->delete_sensor_account(r.sensor_id);
    (void)s.store.delete_sensor(r.sensor_id);
    return spent.error().code == Errc::unauthorized ? kBadToken : spent.error();
  }
  return r.sensor_id;
}

json::object connection_data(const Registration& r, const std::string& password,
                             const std::string& api_key, const std::string& base,
                             const Services& s) {
  const auto& b = s.config.broker;
  bool mqtt = b.enabled() && s.broker_admin;
  auto maybe = [&](json::value v) { return mqtt ? v : json::value(nullptr); };
  json::object topics{
      {"threats", broker::sensor_topic(r.sensor_id, broker::TopicKind::threats)},
      {"heartbeat", broker::sensor_topic(r.sensor_id, broker::TopicKind::heartbeat)},
      {"status", broker::sensor_topic(r.sensor_id, broker::TopicKind::status)},
      {"control", broker::control_topic(r.sensor_id)},
      {"commands", broker::dashboard_command_topic(r.sensor_id)}};
  return json::object{{"sensor_id", r.sensor_id},
                      {"mqtt_broker", maybe(json::value(b.public_host))},
                      {"mqtt_port", maybe(json::value(b.public_port))},
                      {"mqtt_username", maybe(json::value(r.sensor_id))},
                      {"mqtt_password", maybe(json::value(password))},
                      {"mqtt_use_tls", b.use_tls},
                      {"mqtt_topics", std::move(topics)},
                      {"api_endpoint", base},
                      {"fallback_http_url", base + "/honeypot/data"},
                      {"api_key", api_key}};
}

asio::awaitable<Response> register_route(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto reg = parse_registration(*body);
  if (!reg) co_return http::error_response(reg.error());
  if (s.config.broker.enabled() && !s.broker_admin)
    co_return http::error_response(
        make_error(Errc::unavailable,
                   "MQTT is configured without MQTT_ADMIN_USERNAME: the server cannot "
                   "create broker accounts"));
  auto password = random_token(24);
  auto api_key = auth::new_api_key();
  auto done =
      co_await run_blocking(s.pool, [&] { return register_sensor(*reg, password, api_key, s); });
  if (!done) co_return http::error_response(done.error());
  sensors_changed(s);
  co_return created(connection_data(*reg, password, api_key, api_base(ctx, s), s));
}

// --- GET /onboarding/qrcode/{token} -------------------------------------------------------------
asio::awaitable<Response> qrcode(RequestContext& ctx, Services& s) {
  std::string token(ctx.path_param("token"));
  auto hash = sha256_hex(token);
  auto row = co_await run_blocking(s.pool, [&] { return s.store.find_onboarding_token(hash); });
  const auto not_found =
      make_error(Errc::not_found, "Onboarding token not found or no longer valid");
  if (!row && row.error().code != Errc::not_found) co_return http::error_response(row.error());
  if (!row || row->used_at || row->expires_at <= s.clock.now())
    co_return http::error_response(not_found);
  auto base = api_base(ctx, s);
  json::object data{{"api_endpoint", base},
                    {"register_url", base + "/onboarding/register"},
                    {"onboarding_token", token},
                    {"sensor_name", row->sensor_name}};
  auto png = qr_png(json::serialize(data));
  if (!png) co_return http::error_response(png.error());
  Response res{http::StatusCode::ok, 11};
  res.set(boost::beast::http::field::content_type, "image/png");
  res.set(boost::beast::http::field::cache_control, "no-store");
  res.body() = std::move(*png);
  res.prepare_payload();
  co_return res;
}

}  // namespace

void add_onboarding_routes(http::Router& router, Services& s) {
  const auto base = s.config.prefix + "/onboarding";
  using http::Access;
  using http::RateClass;
  using http::Verb;
  auto bind = [&s](auto fn) { return [&s, fn](RequestContext& c) { return fn(c, s); }; };
  router.add({Verb::post, base + "/tokens", Access::admin, RateClass::normal, bind(create_token),
              "Mint a single-use onboarding token"});
  // The token is 256 random bits: guessing is hopeless, so the normal limit applies.
  router.add({Verb::post, base + "/register", Access::anyone, RateClass::normal,
              bind(register_route), "Register a sensor with an onboarding token (once)"});
  router.add({Verb::get, base + "/qrcode/{token}", Access::anyone, RateClass::normal, bind(qrcode),
              "QR code (PNG) of the registration data"});
}

}  // namespace honeyman::api::detail
