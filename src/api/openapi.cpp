#include "api/detail/openapi.hpp"

#include <algorithm>
#include <boost/beast/http/verb.hpp>
#include <cctype>

#include "api/detail/assets.hpp"

namespace honeyman::api::detail {
namespace {

using http::Access;

// OpenAPI's path item keys are Beast's method names in lower case.
std::string verb_name(http::Verb v) {
  std::string name(boost::beast::http::to_string(v));
  for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

// "get" + "/api/v2/sensors/{sensor_id}/stats" -> "get_api_v2_sensors_sensor_id_stats": stable
// ids that client generators turn into method names (the whole path: /health and
// <prefix>/health are two operations).
std::string operation_id(const http::Route& route) {
  std::string_view path = route.pattern;
  std::string id(verb_name(route.method));
  for (char c : path) {
    if (c == '{' || c == '}') continue;
    id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  while (id.back() == '_') id.pop_back();
  std::string squeezed;
  for (char c : id)
    if (c != '_' || squeezed.empty() || squeezed.back() != '_') squeezed += c;
  return squeezed;
}

std::string_view role_text(Access a) {
  switch (a) {
    case Access::anyone:
      return "Public.";
    case Access::viewer:
      return "Role: viewer, analyst or admin (Bearer).";
    case Access::analyst:
      return "Role: analyst or admin (Bearer).";
    case Access::admin:
      return "Role: admin (Bearer).";
    case Access::sensor:
      return "Credential: the sensor's own API key (X-API-Key).";
    case Access::sensor_or_analyst:
      return "Credential: a sensor's API key (X-API-Key), or an analyst or admin (Bearer).";
  }
  return "";
}

json::array security(Access a) {
  json::object bearer{{"bearerAuth", json::array{}}};
  json::object key{{"apiKeyAuth", json::array{}}};
  switch (a) {
    case Access::anyone:
      return {};
    case Access::sensor:
      return {key};
    case Access::sensor_or_analyst:
      return {bearer, key};
    default:
      return {bearer};
  }
}

json::object error_answer(std::string description, std::string_view schema) {
  return {{"description", std::move(description)},
          {"content", {{"application/json", {{"schema", schema_ref(schema)}}}}}};
}

json::object parameter(const http::ParamDoc& p) {
  json::object o{{"name", p.name},
                 {"in", p.in == http::ParamDoc::In::path    ? "path"
                        : p.in == http::ParamDoc::In::query ? "query"
                                                            : "header"}};
  if (!p.description.empty()) o["description"] = p.description;
  o["required"] = p.in == http::ParamDoc::In::path || p.required;
  if (p.repeatable) {
    o["schema"] = json::object{{"type", "array"}, {"items", p.schema}};
    o["style"] = "form";
    o["explode"] = true;
  } else {
    o["schema"] = p.schema;
  }
  return o;
}

json::object operation(const http::Route& route) {
  const auto& doc = route.doc;
  json::object op;
  op["tags"] = json::array{doc.tag.empty() ? "Other" : doc.tag};
  op["summary"] = route.summary;
  std::string description(role_text(route.access));
  if (!doc.description.empty()) description = doc.description + "\n\n" + description;
  op["description"] = description;
  op["operationId"] = operation_id(route);
  op["x-access"] = to_string(route.access);
  op["security"] = security(route.access);  // [] on public routes: no credential needed

  json::array params;
  for (const auto& p : doc.params) params.push_back(parameter(p));
  if (!params.empty()) op["parameters"] = std::move(params);

  bool takes_body = !doc.request_schema.is_null();
  if (takes_body) {
    json::object media{{"schema", doc.request_schema}};
    if (!doc.request_examples.empty()) {
      json::object examples;
      for (const auto& [name, value] : doc.request_examples)
        examples[name] = json::object{{"value", value}};
      media["examples"] = std::move(examples);
    }
    op["requestBody"] = json::object{{"required", doc.request_required},
                                     {"content", {{"application/json", std::move(media)}}}};
  }

  json::object responses;
  for (const auto& r : doc.responses) {
    json::object answer{{"description", r.description}};
    json::object content;
    for (std::string_view types = r.media_type; !types.empty();) {
      auto comma = std::min(types.find(','), types.size());
      auto type = types.substr(0, comma);
      while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
      json::object media;
      if (!r.schema.is_null()) media["schema"] = r.schema;
      if (!type.empty()) content[type] = std::move(media);
      types.remove_prefix(std::min(comma + 1, types.size()));
    }
    if (!content.empty()) answer["content"] = std::move(content);
    responses[std::to_string(r.status)] = std::move(answer);
  }
  auto add = [&](int status, std::string text, std::string_view schema = "Error") {
    auto key = std::to_string(status);
    if (!responses.contains(key)) responses[key] = error_answer(std::move(text), schema);
  };
  if (route.rate_class != http::RateClass::exempt) {
    add(401, route.access == Access::anyone
                 ? "A credential was sent and is not valid (public routes check one if sent)"
                 : "No credential, or a bad, expired or revoked one");
    if (route.access != Access::anyone)
      add(403, "The credential is valid but does not grant this route");
  }
  if (takes_body) add(413, "Body larger than MAX_REQUEST_BODY_BYTES");
  if (takes_body || !doc.params.empty())
    add(422, "Validation failed: one entry per problem", "ValidationError");
  if (route.rate_class != http::RateClass::exempt)
    add(429, route.rate_class == http::RateClass::login
                 ? "LOGIN_RATE_LIMIT_PER_MINUTE spent (Retry-After says when to retry)"
                 : "RATE_LIMIT_PER_MINUTE spent (Retry-After says when to retry)");
  responses["default"] = error_answer("Any other error: {\"detail\": text}", "Error");
  op["responses"] = std::move(responses);
  return op;
}

std::string wire_example(std::string_view name) {
  auto asset = find_asset("wire/" + std::string(name));
  return asset ? std::string(asset->data) : std::string("{}");
}

std::string description(const ApiConfig& config) {
  const std::string& p = config.prefix;
  return R"(The REST API of the Honeyman dashboard backend: threat events and heartbeats from a fleet of
sensors (USB, WiFi, BLE, network and AirDrop detectors), their storage, analytics, onboarding, and a
live WebSocket feed.

## Credentials
- **Users**: `Authorization: Bearer <access_token>` from `POST )" +
         p + R"(/auth/login` (use **Authorize** above:
  paste the `access_token`). Roles: `admin` > `analyst` > `viewer`; each operation states what it needs.
- **Sensors**: `X-API-Key: <key>`, given once at registration (or by `honeyman sensor add`); good only
  for that sensor's own routes and payloads.

## Errors
`{"detail": "text"}`, except validation errors (422): `{"detail": [{"loc": [...], "msg", "type"}]}`
as FastAPI writes them. 429 carries `Retry-After`. Every answer of a route carries `X-Request-Id` (also in the access log).

## Live feed (WebSocket)
`GET )" + p +
         R"(/ws?token=<access token>[&since=<threat id>]` upgrades to a WebSocket (RFC 6455, JSON text
frames); `Authorization: Bearer` works too. A missing or bad token is answered **401** before the
upgrade, a `since` that is not a UUID **422**, more than `WS_MAX_CONNECTIONS_PER_USER` connections **429**.

Server to client:
- `{"type": "welcome", "message": "...", "version": "..."}` first;
- `{"type": "threat", "data": {id, timestamp, sensor_id, threat_type, severity, detector_type,
  threat_score, device_name, latitude, longitude}, "timestamp": <commit time>}` for every stored threat
  (from any instance), only after its transaction committed;
- `{"type": "sensor_status", "data": {sensor_id, is_online, last_heartbeat}, "timestamp": ...}` on
  each online/offline change;
- `{"type": "heartbeat", "timestamp": ..., "connections": N}` every `WS_HEARTBEAT_INTERVAL`;
- `{"type": "echo", "data": "<text>"}` for a client text that is not a command (at most
  `WS_ECHO_MAX_BYTES`), `{"type": "subscribed", "filter": {...}}`, `{"type": "error", "detail": ...}`.

Client to server: `{"type": "subscribe", "filter": {"severity": [...], "sensor_id": [...],
"detector_type": [...]}}` replaces the filter (each list optional; empty allows all).

Resume: `?since=<id of the last threat seen>` replays what was stored after it (at most
`WS_REPLAY_LIMIT`), then continues live with no gap and no duplicate. Close codes: 1013 too slow
(send queue full: reconnect with `since`), 1008 token expired or revoked, 1001 server shutdown.
The server pings every `WS_IDLE_TIMEOUT`/2 and drops a client that answers none for `WS_IDLE_TIMEOUT`.

## Appendix: MQTT (sensors)
Sensors publish with QoS 1 to Mosquitto, with the account registration gave them (each may publish
only under its own id):

| topic | payload |
|---|---|
| `honeyman/sensors/<id>/threats` | one threat or an array, canonical or field-agent format (as `POST )" +
         p + R"(/threats`) |
| `honeyman/sensors/<id>/heartbeat` | a heartbeat, agent or canonical format |
| `honeyman/sensors/<id>/status` | the agent's registration message |

Commands reach sensors on `honeyman/control/<id>` and `honeyman/dashboard/commands/<id>`. The id in
the topic is the sensor; a payload naming another, malformed JSON, wrong types and messages over
256 KiB are refused and kept as dead letters with their reason (`honeyman dead-letters`). A message
delivered twice stores nothing twice.

A threat as the field agent publishes it:
```json
)" + wire_example("agent-threat.json") +
         R"(
```
A heartbeat:
```json
)" + wire_example("agent-heartbeat.json") +
         R"(
```
A registration (status) message:
```json
)" + wire_example("agent-registration.json") +
         R"(
```
)";
}

json::array tags() {
  return {
      {{"name", "Auth"}, {"description", "Log in, rotate tokens, log out."}},
      {{"name", "Sensors"}, {"description", "The fleet: list, edit, statistics, heartbeats."}},
      {{"name", "Threats"},
       {"description", "Query, ingest (both wire formats, exactly once), acknowledge, delete."}},
      {{"name", "Analytics"}, {"description", "Fleet figures over time windows."}},
      {{"name", "Onboarding"}, {"description", "One-time tokens, QR codes, sensor registration."}},
      {{"name", "Alerting"},
       {"description",
        "Rules, destinations (webhook, Slack, PagerDuty, syslog), fired alerts and "
        "their delivery outbox."}},
      {{"name", "Operations"}, {"description", "Health, readiness."}},
      {{"name", "Documentation"}, {"description", "This document and its viewers."}},
  };
}

// Schema objects carry "example" in their source for readability; OpenAPI 3.1 (JSON Schema
// 2020-12) spells it "examples": [...].
void modernise_examples(json::value& v) {
  if (auto* o = v.if_object()) {
    if (auto it = o->find("example"); it != o->end()) {
      json::value example = it->value();
      o->erase(it);
      (*o)["examples"] = json::array{std::move(example)};
    }
    for (auto& [key, child] : *o)
      if (key != "examples" && key != "const" && key != "default") modernise_examples(child);
  } else if (auto* a = v.if_array()) {
    for (auto& child : *a) modernise_examples(child);
  }
}

}  // namespace

json::value schema_ref(std::string_view name) {
  return json::object{{"$ref", "#/components/schemas/" + std::string(name)}};
}

json::value array_of(json::value item) {
  return json::object{{"type", "array"}, {"items", std::move(item)}};
}

http::ParamDoc path_param(std::string name, json::value schema, std::string description) {
  return {std::move(name),
          http::ParamDoc::In::path,
          std::move(schema),
          std::move(description),
          true,
          false};
}

http::ParamDoc query_param(std::string name, json::value schema, std::string description,
                           bool repeatable) {
  return {
      std::move(name), http::ParamDoc::In::query, std::move(schema), std::move(description), false,
      repeatable};
}

http::ResponseDoc json_answer(int status, std::string description, json::value schema) {
  return {status, std::move(description), "application/json", std::move(schema)};
}

http::ResponseDoc error_answer(int status, std::string description) {
  return json_answer(status, std::move(description), schema_ref("Error"));
}

http::RouteDoc route_doc(std::string tag, std::vector<http::ResponseDoc> responses,
                         std::vector<http::ParamDoc> params, json::value request_schema) {
  http::RouteDoc doc;
  doc.tag = std::move(tag);
  doc.responses = std::move(responses);
  doc.params = std::move(params);
  doc.request_schema = std::move(request_schema);
  return doc;
}

json::value wire_sample(std::string_view file_name) {
  auto asset = find_asset("wire/" + std::string(file_name));
  return asset ? json::parse(asset->data) : json::value(nullptr);
}

http::ParamDoc sensor_id_path() {
  return path_param("sensor_id", schema_ref("SensorId"), "The sensor's id");
}

void add_threat_query_doc(http::RouteDoc& doc, bool with_sensor_filter) {
  json::value text{{"type", "string"}};
  auto& p = doc.params;
  if (with_sensor_filter)
    p.push_back(query_param("sensor_id", schema_ref("SensorId"),
                            "Sensors (repeat, or separate with commas)", true));
  p.push_back(query_param("detector_type", {{"type", "string"}},
                          "Detectors, case-insensitive (repeat or comma-separate)", true));
  p.push_back(query_param("threat_type", {{"type", "string"}}, "Threat types", true));
  p.push_back(query_param("severity", schema_ref("Severity"), "Severities", true));
  p.push_back(query_param("start_time", {{"type", "string"}, {"format", "date-time"}},
                          "Inclusive; RFC 3339, no offset means UTC"));
  p.push_back(query_param("end_time", {{"type", "string"}, {"format", "date-time"}},
                          "Exclusive; not before start_time"));
  p.push_back(query_param("is_acknowledged", {{"type", "boolean"}}, "Acknowledged or not"));
  p.push_back(query_param("status", schema_ref("ThreatStatus"), "Triage status", true));
  p.push_back(query_param("assignee", {{"type", "string"}},
                          "Assigned to this username; empty: assigned to nobody"));
  p.push_back(query_param("sort_by",
                          {{"type", "string"},
                           {"enum",
                            {"timestamp", "severity", "threat_score", "threat_type", "sensor_id",
                             "detector_type", "created_at"}},
                           {"default", "timestamp"}},
                          "Sort key"));
  p.push_back(query_param(
      "sort_order", {{"type", "string"}, {"enum", {"asc", "desc"}}, {"default", "desc"}}, "Order"));
  p.push_back(query_param(
      "page", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000000}, {"default", 1}},
      "Offset paging: page * page_size may not exceed 100,000 (use cursor beyond)"));
  p.push_back(query_param("page_size",
                          {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 50}},
                          "Threats per page"));
  p.push_back(query_param("cursor", {{"type", "string"}, {"maxLength", 512}},
                          "Keyset paging: the previous answer's next_cursor (page is ignored)"));
  doc.responses.push_back(json_answer(200, "A page of threats", schema_ref("ThreatList")));
}

json::object openapi_document(const http::Router& router, const ApiConfig& config) {
  json::object paths;
  for (const auto& route : router.routes()) {
    auto& item = paths[route.pattern];
    if (!item.is_object()) item = json::object{};
    item.as_object()[verb_name(route.method)] = operation(route);
  }
  json::value schemas = component_schemas();
  modernise_examples(schemas);
  json::object doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = json::object{
      {"title", "Honeyman API"},
      {"version", config.version},
      {"summary", "Threat sensor fleet: ingest, storage, analytics, live feed"},
      {"description", description(config)},
  };
  // Relative: "Try it out" calls the server that served the document, whatever its address.
  doc["servers"] = json::array{{{"url", "/"}, {"description", "This server"}}};
  doc["tags"] = tags();
  doc["paths"] = std::move(paths);
  doc["components"] = json::object{
      {"schemas", std::move(schemas)},
      {"securitySchemes",
       {{"bearerAuth",
         {{"type", "http"},
          {"scheme", "bearer"},
          {"bearerFormat", "JWT"},
          {"description", "A user's access_token from POST " + config.prefix + "/auth/login"}}},
        {"apiKeyAuth",
         {{"type", "apiKey"},
          {"in", "header"},
          {"name", "X-API-Key"},
          {"description", "A sensor's API key (registration or `honeyman sensor add`)"}}}}}};
  return doc;
}

}  // namespace honeyman::api::detail
