#include "api/detail/common.hpp"

#include <charconv>

namespace honeyman::api::detail {

std::optional<std::string> QueryReader::text(std::string_view name) {
  auto it = params_.find_last(name);
  if (it == params_.end()) return std::nullopt;
  return std::string((*it).value);
}

int QueryReader::integer(std::string_view name, int fallback, int min, int max) {
  auto v = text(name);
  if (!v) return fallback;
  int out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc{} || end != v->data() + v->size()) {
    fail(name, "Input should be a valid integer", "int_parsing");
    return fallback;
  }
  if (out < min) {
    fail(name, "Input should be greater than or equal to " + std::to_string(min),
         "greater_than_equal");
    return fallback;
  }
  if (out > max) {
    fail(name, "Input should be less than or equal to " + std::to_string(max), "less_than_equal");
    return fallback;
  }
  return out;
}

std::optional<bool> QueryReader::boolean(std::string_view name) {
  auto v = text(name);
  if (!v) return std::nullopt;
  if (*v == "true" || *v == "1" || *v == "yes" || *v == "on") return true;
  if (*v == "false" || *v == "0" || *v == "no" || *v == "off") return false;
  fail(name, "Input should be a valid boolean", "bool_parsing");
  return std::nullopt;
}

std::optional<Timestamp> QueryReader::timestamp(std::string_view name) {
  auto v = text(name);
  if (!v) return std::nullopt;
  auto t = parse_timestamp(*v);
  if (!t) fail(name, "Input should be a valid datetime (RFC 3339)", "datetime_parsing");
  return t;
}

std::vector<std::string> QueryReader::list(std::string_view name) {
  std::vector<std::string> out;
  for (auto it = params_.find(name); it != params_.end(); it = params_.find(std::next(it), name)) {
    // params_view yields decoded params by value: keep the string alive while we split it.
    const std::string value = (*it).value;
    std::string_view v = value;
    while (!v.empty()) {
      auto comma = v.find(',');
      if (auto item = v.substr(0, comma); !item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return out;
}

void QueryReader::fail(std::string_view name, std::string msg, std::string type) {
  errors_.push_back({{"query", std::string(name)}, std::move(msg), std::move(type)});
}

Status QueryReader::finish() {
  if (errors_.empty()) return {};
  return validation_error(std::move(errors_));
}

std::optional<std::string> string_member(const json::object& body, std::string_view key,
                                         std::vector<FieldError>& errors, bool required,
                                         std::size_t max_length) {
  auto it = body.find(key);
  if (it == body.end() || (it->value().is_null() && !required)) {
    if (required) errors.push_back({{"body", std::string(key)}, "Field required", "missing"});
    return std::nullopt;
  }
  if (!it->value().is_string()) {
    errors.push_back({{"body", std::string(key)}, "Input should be a valid string", "string_type"});
    return std::nullopt;
  }
  std::string_view v = it->value().get_string();
  if (v.size() > max_length) {
    errors.push_back({{"body", std::string(key)},
                      "String should have at most " + std::to_string(max_length) + " characters",
                      "string_too_long"});
    return std::nullopt;
  }
  return std::string(v);
}

void refuse_unknown_keys(const json::object& body, std::initializer_list<std::string_view> allowed,
                         std::vector<FieldError>& errors) {
  for (const auto& member : body) {
    bool known = false;
    for (auto a : allowed) known = known || member.key() == a;
    if (!known)
      errors.push_back({{"body", std::string(member.key())},
                        "Extra inputs are not permitted",
                        "extra_forbidden"});
  }
}

Result<json::object> body_object(const RequestContext& ctx) {
  auto body = http::parse_json_body(ctx.request);
  if (!body) return body.error();
  if (!body->is_object())
    return validation_error({{{"body"}, "Input should be a valid dictionary", "dict_type"}});
  return std::move(body->as_object());
}

Result<std::string> sensor_id_param(const RequestContext& ctx) {
  auto id = ctx.path_param("sensor_id");
  if (!domain::is_valid_sensor_id(id))
    return validation_error({{{"path", "sensor_id"},
                              "Sensor ids are 1-64 characters of A-Z a-z 0-9 . _ -",
                              "string_pattern_mismatch"}});
  return std::string(id);
}

Result<std::string> uuid_param(const RequestContext& ctx, std::string_view name) {
  auto id = normalize_uuid(ctx.path_param(name));
  if (!id)
    return validation_error(
        {{{"path", std::string(name)}, "Input should be a valid UUID", "uuid_parsing"}});
  return *id;
}

json::object message(std::string_view text) {
  return json::object{{"message", text}};
}
Response ok(const json::value& body) {
  return http::json_response(http::StatusCode::ok, body);
}
Response created(const json::value& body) {
  return http::json_response(http::StatusCode::created, body);
}

store::Actor actor_of(const RequestContext& ctx) {
  const auto& p = ctx.principal;
  std::string role = p.kind == http::Principal::Kind::sensor ? "sensor"
                     : p.kind == http::Principal::Kind::none
                         ? "anonymous"
                         : std::string(http::to_string(p.grants));
  return {p.name, std::move(role), ctx.client_address};
}

void publish_threat_update(Services& s, const domain::Threat& threat, std::string_view by) {
  if (s.bus) s.bus->publish({bus::threat_update_event(threat, by, s.clock.now())});
}

}  // namespace honeyman::api::detail
