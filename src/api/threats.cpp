#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/request_bodies.hpp"
#include "api/detail/routes.hpp"
#include "api/detail/threat_query.hpp"

namespace honeyman::api::detail {

Result<HoneypotBatch> parse_honeypot_batch(const json::object& body,
                                           std::string_view api_key_sensor) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"type", "honeypot_id", "data"}, errors);
  auto type = string_member(body, "type", errors, true, 32);
  auto honeypot = string_member(body, "honeypot_id", errors, true, 64);
  if (type && *type != "threats")
    errors.push_back({{"body", "type"}, "Input should be 'threats'", "literal_error"});
  auto data = body.find("data");
  if (data == body.end())
    errors.push_back({{"body", "data"}, "Field required", "missing"});
  else if (!data->value().is_array())
    errors.push_back({{"body", "data"}, "Input should be a valid list", "list_type"});
  if (!errors.empty()) return validation_error(std::move(errors));
  if (*honeypot != api_key_sensor)
    return make_error(Errc::forbidden,
                      "honeypot_id '" + *honeypot + "' does not match the API key's sensor");
  return HoneypotBatch{std::move(*honeypot), &data->value()};
}

Result<std::optional<std::string>> parse_acknowledgement(const json::object& body) {
  std::vector<FieldError> errors;
  // acknowledged_by is accepted for old clients and ignored: the caller is recorded.
  refuse_unknown_keys(body, {"notes", "acknowledged_by"}, errors);
  auto notes = string_member(body, "notes", errors, false, 4096);
  if (!errors.empty()) return validation_error(std::move(errors));
  return notes;
}

namespace {

using Threats = std::vector<domain::Threat>;
using http::Principal;

// Normalises, checks and stores; the response is sent only after the commit.
// `message`: the request body, what the threats' ids are made of (a retried batch gets the same
// ids and is stored once; its answer is the same 201).
asio::awaitable<Result<Threats>> ingest(const json::value& payload, std::string_view message,
                                        const Principal& who, Services& s,
                                        const std::vector<std::string>& loc) {
  domain::IngestContext context;
  if (who.kind == Principal::Kind::sensor) context.authenticated_sensor_id = who.id;
  context.now = s.clock.now();
  context.message = message;
  context.clock_skew = s.config.clock_skew;
  auto threats = domain::normalize_threats(payload, context, loc);
  if (!threats) co_return threats.error();
  if (who.kind == Principal::Kind::user) {
    auto known =
        co_await run_blocking(s.pool, [&] { return s.threats.check_known_sensors(*threats); });
    if (!known) co_return known.error();
  }
  co_return co_await s.writer.async_store(std::move(*threats), asio::use_awaitable);
}

asio::awaitable<Response> create_threats(RequestContext& ctx, Services& s) {
  auto body = http::parse_json_body(ctx.request);
  if (!body) co_return http::error_response(body.error());
  // Named, not a braced temporary: GCC 12 miscompiles initializer lists inside co_await.
  const std::vector<std::string> loc{"body"};
  auto stored = co_await ingest(*body, ctx.request.body(), ctx.principal, s, loc);
  if (!stored) co_return http::error_response(stored.error());
  if (!body->is_array()) co_return created(domain::to_json(stored->front()));
  json::array out;
  for (const auto& t : *stored) out.push_back(domain::to_json(t));
  co_return created(out);
}

// The field agent's HTTP fallback: {"type": "threats", "honeypot_id": id, "data": [...]}.
asio::awaitable<Response> honeypot_data(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto batch = parse_honeypot_batch(*body, ctx.principal.id);
  if (!batch) co_return http::error_response(batch.error());
  const std::vector<std::string> loc{"body", "data"};
  auto stored = co_await ingest(*batch->data, ctx.request.body(), ctx.principal, s, loc);
  if (!stored) co_return http::error_response(stored.error());
  auto n = static_cast<std::int64_t>(stored->size());
  co_return created(json::object{
      {"status", "success"}, {"accepted", n}, {"message", std::to_string(n) + " threats stored"}});
}

asio::awaitable<Response> get_threat(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "threat_id");
  if (!id) co_return http::error_response(id.error());
  auto threat = co_await run_blocking(s.pool, [&] { return s.threats.find(*id); });
  if (!threat) co_return http::error_response(threat.error());
  co_return ok(domain::to_json(*threat));
}

asio::awaitable<Response> acknowledge(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "threat_id");
  if (!id) co_return http::error_response(id.error());
  std::optional<std::string> notes;
  if (!ctx.request.body().empty()) {
    auto body = body_object(ctx);
    if (!body) co_return http::error_response(body.error());
    auto parsed = parse_acknowledgement(*body);
    if (!parsed) co_return http::error_response(parsed.error());
    notes = std::move(*parsed);
  }
  auto by = actor_of(ctx);
  auto threat = co_await run_blocking(
      s.pool, [&] { return s.threats.acknowledge(*id, std::move(notes), by); });
  if (!threat) co_return http::error_response(threat.error());
  publish_threat_update(s, *threat, by.name);
  co_return ok(domain::to_json(*threat));
}

asio::awaitable<Response> delete_threat(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "threat_id");
  if (!id) co_return http::error_response(id.error());
  auto by = actor_of(ctx);
  auto done = co_await run_blocking(s.pool, [&] { return s.threats.remove(*id, by); });
  if (!done) co_return http::error_response(done.error());
  co_return ok(message("Threat deleted"));
}

}  // namespace

void add_threat_routes(http::Router& router, Services& s) {
  const auto base = s.config.prefix + "/threats";
  const auto one = base + "/{threat_id}";
  using http::Access;
  using http::RateClass;
  using http::Verb;
  auto bind = [&s](auto fn) { return [&s, fn](RequestContext& c) { return fn(c, s); }; };
  auto query_doc = route_doc("Threats", {});
  add_threat_query_doc(query_doc, true);
  router.add({Verb::get, base, Access::viewer, RateClass::normal,
              [&s](RequestContext& c) { return query_threats_response(c, s, {}); },
              "Query threats: filters, sort, offset or keyset paging", query_doc});
  json::value one_or_many = {{"oneOf",
                              {schema_ref("ThreatInput"),
                               {{"type", "array"},
                                {"minItems", 1},
                                {"maxItems", 1000},
                                {"items", schema_ref("ThreatInput")}}}}};
  auto create_doc = route_doc(
      "Threats",
      {json_answer(201, "Stored (sent after the commit): a Threat, or an array for an array",
                   {{"oneOf", {schema_ref("Threat"), array_of(schema_ref("Threat"))}}}),
       error_answer(403, "With a sensor key: the payload names another sensor"),
       error_answer(503, "The ingest queue is full; retry (the same body stores nothing twice)")},
      {}, one_or_many);
  create_doc.description =
      "Canonical or field-agent format, all or nothing. A retried request (the same body) stores "
      "nothing twice and is answered like the first.";
  create_doc.request_examples = {{"agent", wire_sample("agent-threat.json")},
                                 {"canonical", wire_sample("canonical-threat.json")}};
  router.add({Verb::post, base, Access::sensor_or_analyst, RateClass::normal, bind(create_threats),
              "Ingest one threat or an array (either wire format)", create_doc});
  auto threat_id =
      path_param("threat_id", {{"type", "string"}, {"format", "uuid"}}, "The threat's id");
  auto no_threat = error_answer(404, "No such threat");
  router.add(
      {Verb::get, one, Access::viewer, RateClass::normal, bind(get_threat), "One threat",
       route_doc("Threats", {json_answer(200, "The threat", schema_ref("Threat")), no_threat},
                 {threat_id})});
  auto ack_doc = route_doc(
      "Threats",
      {json_answer(200, "The threat, acknowledged by the caller", schema_ref("Threat")), no_threat},
      {threat_id}, schema_ref("AcknowledgeRequest"));
  ack_doc.request_required = false;
  router.add({Verb::put, one + "/acknowledge", Access::analyst, RateClass::normal,
              bind(acknowledge), "Acknowledge a threat as the calling user", ack_doc});
  router.add({Verb::delete_, one, Access::analyst, RateClass::normal, bind(delete_threat),
              "Delete a threat",
              route_doc("Threats", {json_answer(200, "Deleted", schema_ref("Message")), no_threat},
                        {threat_id})});
  auto honeypot_doc = route_doc("Threats",
                                {json_answer(201, "Stored", schema_ref("HoneypotAccepted")),
                                 error_answer(403, "honeypot_id or a threat names another sensor"),
                                 error_answer(503, "The ingest queue is full; retry")},
                                {}, schema_ref("HoneypotData"));
  honeypot_doc.request_examples = {{"agent", wire_sample("agent-http-batch.json")}};
  router.add({Verb::post, s.config.prefix + "/honeypot/data", Access::sensor, RateClass::normal,
              bind(honeypot_data), "Field agent HTTP fallback (X-API-Key)", honeypot_doc});
}

}  // namespace honeyman::api::detail
