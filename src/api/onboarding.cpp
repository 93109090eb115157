// Onboarding (SPEC §2, 3 routes): an admin mints a single-use token; the sensor trades it for its
// identity (sensor row, API key, broker account) exactly once.
#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/qr_png.hpp"
#include "api/detail/request_bodies.hpp"
#include "api/detail/response_cache.hpp"
#include "api/detail/routes.hpp"

namespace honeyman::api::detail {
namespace {

// A Host header fit to put in a URL: a name or address and an optional port, nothing else.
bool plain_host(std::string_view host) {
  return !host.empty() && host.size() <= 255 &&
         host.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
             ".-:[]") == std::string_view::npos;
}

// The API's public base URL (no trailing slash) including the prefix: PUBLIC_API_URL, or outside
// production the request's Host header. Errc::unavailable in production without PUBLIC_API_URL:
// the Host header is whatever the client sent, and these URLs tell sensors where to send their
// credentials and data.
Result<std::string> api_base(const RequestContext& ctx, const Services& s) {
  std::string base = s.config.public_url;
  if (base.empty()) {
    if (s.config.require_public_url)
      return make_error(Errc::unavailable,
                        "PUBLIC_API_URL is not set: in production the URLs handed to sensors "
                        "(onboarding answers, QR codes) come from it, never from the request's "
                        "Host header; set it to the API's URL as sensors reach it, e.g. "
                        "https://honeyman.example.org");
    auto host = ctx.request[boost::beast::http::field::host];
    base = "http://" + std::string(plain_host(host) ? host : "localhost");
  }
  return base + s.config.prefix;
}

// --- POST /onboarding/tokens --------------------------------------------------------------------
asio::awaitable<Response> create_token(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto parsed = parse_token_request(*body);
  if (!parsed) co_return http::error_response(parsed.error());
  auto base = api_base(ctx, s);  // before minting: a token nobody can be handed is not made
  if (!base) co_return http::error_response(base.error());
  service::TokenRequest request = std::move(*parsed);
  request.created_by = ctx.principal.id;
  auto by = actor_of(ctx);
  auto issued =
      co_await run_blocking(s.pool, [&] { return s.onboarding.create_token(request, by); });
  if (!issued) co_return http::error_response(issued.error());
  const auto& row = issued->row;
  co_return created(json::object{
      {"token", issued->token},
      {"sensor_name", row.sensor_name},
      {"description", row.description ? json::value(*row.description) : json::value(nullptr)},
      {"expires_at", format_timestamp(row.expires_at)},
      {"qr_code_url", *base + "/onboarding/qrcode/" + issued->token}});
}

// --- POST /onboarding/register ------------------------------------------------------------------
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

}  // namespace

Result<service::TokenRequest> parse_token_request(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"sensor_name", "description", "validity_hours"}, errors);
  auto name = string_member(body, "sensor_name", errors, true, 128);
  auto description = string_member(body, "description", errors, false, 1024);
  if (name && name->empty())
    errors.push_back(
        {{"body", "sensor_name"}, "String should have at least 1 character", "string_too_short"});
  std::int64_t hours = 24;
  if (auto* v = body.if_contains("validity_hours"); v && !v->is_null()) {
    if (!v->is_int64() && !v->is_uint64())
      errors.push_back({{"body", "validity_hours"}, "Input should be a valid integer", "int_type"});
    else if (hours = v->is_int64() ? v->as_int64() : 169;
             hours < service::OnboardingService::kMinValidityHours ||
             hours > service::OnboardingService::kMaxValidityHours)
      errors.push_back(
          {{"body", "validity_hours"}, "Input should be between 1 and 168", "value_error"});
  }
  if (!errors.empty()) return validation_error(std::move(errors));
  service::TokenRequest request;
  request.sensor_name = *name;
  request.description = description;
  request.validity_hours = static_cast<int>(hours);
  return request;
}

Result<service::RegistrationRequest> parse_registration(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body,
                      {"onboarding_token", "sensor_id", "capabilities", "platform", "architecture",
                       "agent_version", "python_version", "location"},
                      errors);
  service::RegistrationRequest r;
  auto token = string_member(body, "onboarding_token", errors, true, 256);
  auto id = string_member(body, "sensor_id", errors, true, 64);
  if (id && !domain::is_valid_sensor_id(*id))
    errors.push_back({{"body", "sensor_id"},
                      "String should match pattern '^[A-Za-z0-9._-]{1,64}$'",
                      "string_pattern_mismatch"});
  r.details.platform = string_member(body, "platform", errors, false, 128);
  r.details.architecture = string_member(body, "architecture", errors, false, 128);
  r.details.agent_version = string_member(body, "agent_version", errors, false, 128);
  r.details.python_version = string_member(body, "python_version", errors, false, 128);
  if (auto* caps = body.if_contains("capabilities"); caps && !caps->is_null()) {
    if (!caps->is_object())
      errors.push_back(
          {{"body", "capabilities"}, "Input should be a valid dictionary", "dict_type"});
    else if (to_json_text(*caps).size() > domain::kMaxRawEventBytes)
      errors.push_back({{"body", "capabilities"}, "Too large", "value_error"});
    else
      r.details.capabilities = caps->as_object();
  }
  read_location(body, r.details, errors);
  if (!errors.empty()) return validation_error(std::move(errors));
  r.onboarding_token = *token;
  r.sensor_id = *id;
  return r;
}

namespace {

// The answer the agent configures itself from; the MQTT fields are null when no broker account
// was made (HTTP-only sensor).
json::object connection_data(const service::RegisteredSensor& r, const std::string& base,
                             const Services& s) {
  const auto& b = s.config.broker;
  const auto& id = r.sensor.sensor_id;
  bool mqtt = r.mqtt_password.has_value();
  auto maybe = [&](json::value v) { return mqtt ? v : json::value(nullptr); };
  json::object topics{{"threats", broker::sensor_topic(id, broker::TopicKind::threats)},
                      {"heartbeat", broker::sensor_topic(id, broker::TopicKind::heartbeat)},
                      {"status", broker::sensor_topic(id, broker::TopicKind::status)},
                      {"control", broker::control_topic(id)},
                      {"commands", broker::dashboard_command_topic(id)}};
  return json::object{{"sensor_id", id},
                      {"mqtt_broker", maybe(json::value(b.public_host))},
                      {"mqtt_port", maybe(json::value(b.public_port))},
                      {"mqtt_username", maybe(json::value(id))},
                      {"mqtt_password", maybe(json::value(r.mqtt_password.value_or("")))},
                      {"mqtt_use_tls", b.use_tls},
                      {"mqtt_topics", std::move(topics)},
                      {"api_endpoint", base},
                      {"fallback_http_url", base + "/honeypot/data"},
                      {"api_key", r.api_key}};
}

asio::awaitable<Response> register_route(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto request = parse_registration(*body);
  if (!request) co_return http::error_response(request.error());
  auto base = api_base(ctx, s);  // before the token is spent on an answer that cannot be given
  if (!base) co_return http::error_response(base.error());
  auto done = co_await run_blocking(s.pool, [&] {
    return s.onboarding.register_sensor(std::move(*request), ctx.client_address);
  });
  if (!done) co_return http::error_response(done.error());
  sensors_changed(s);
  co_return created(connection_data(*done, *base, s));
}

// --- GET /onboarding/qrcode/{token} -------------------------------------------------------------
asio::awaitable<Response> qrcode(RequestContext& ctx, Services& s) {
  std::string token(ctx.path_param("token"));
  auto base = api_base(ctx, s);
  if (!base) co_return http::error_response(base.error());
  auto row = co_await run_blocking(s.pool, [&] { return s.onboarding.usable_token(token); });
  if (!row) co_return http::error_response(row.error());
  json::object data{{"api_endpoint", *base},
                    {"register_url", *base + "/onboarding/register"},
                    {"onboarding_token", token},
                    {"sensor_name", row->sensor_name}};
  auto png = qr_png(to_json_text(data));
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
  auto no_public_url = error_answer(503, "Production without PUBLIC_API_URL");
  router.add({Verb::post, base + "/tokens", Access::admin, RateClass::normal, bind(create_token),
              "Mint a single-use onboarding token",
              route_doc("Onboarding",
                        {json_answer(201, "The token, shown once", schema_ref("OnboardingToken")),
                         no_public_url},
                        {}, schema_ref("OnboardingTokenRequest"))});
  // The token is 256 random bits: guessing is hopeless, so the normal limit applies.
  auto register_doc = route_doc(
      "Onboarding",
      {json_answer(201, "The sensor's credentials, shown once", schema_ref("Registration")),
       error_answer(401, "Unknown, expired or used token"),
       error_answer(409, "sensor_id taken or reserved, or a foreign broker account of that name"),
       error_answer(503, "The broker cannot be reached, or production without PUBLIC_API_URL")},
      {}, schema_ref("RegistrationRequest"));
  register_doc.description =
      "The onboarding token is the credential. A failure leaves nothing behind and does not "
      "spend the token.";
  router.add({Verb::post, base + "/register", Access::anyone, RateClass::normal,
              bind(register_route), "Register a sensor with an onboarding token (once)",
              register_doc});
  router.add({Verb::get, base + "/qrcode/{token}", Access::anyone, RateClass::normal, bind(qrcode),
              "QR code (PNG) of the registration data",
              route_doc("Onboarding",
                        {{200, "PNG of {api_endpoint, register_url, onboarding_token, sensor_name}",
                          "image/png",
                          json::object{{"type", "string"}, {"contentMediaType", "image/png"}}},
                         error_answer(404, "Unknown, expired or used token"),
                         no_public_url},
                        {path_param("token", {{"type", "string"}}, "The onboarding token")})});
}

}  // namespace honeyman::api::detail
