#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/response_cache.hpp"
#include "api/detail/routes.hpp"
#include "api/detail/threat_query.hpp"

namespace honeyman::api::detail {
namespace {

json::object sensor_json(const domain::Sensor& sensor, const Services& s) {
  return domain::to_json(sensor, s.clock.now(), s.config.heartbeat_interval);
}

asio::awaitable<Response> list_sensors(RequestContext& ctx, Services& s) {
  QueryReader q(ctx.query);
  service::SensorFilter filter;
  filter.page = q.integer("page", 1, 1, 1'000'000);
  filter.page_size = q.integer("page_size", 50, 1, 100);
  filter.is_active = q.boolean("is_active");
  filter.is_online = q.boolean("is_online");
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  auto page = co_await run_blocking(s.pool, [&] { return s.sensors.list(filter); });
  if (!page) co_return http::error_response(page.error());
  json::array sensors;
  sensors.reserve(page->sensors.size());
  for (const auto& sensor : page->sensors) sensors.push_back(sensor_json(sensor, s));
  co_return ok(json::object{{"sensors", std::move(sensors)},
                            {"total", page->total},
                            {"page", filter.page},
                            {"page_size", filter.page_size}});
}

asio::awaitable<Response> get_sensor(RequestContext& ctx, Services& s) {
  auto id = sensor_id_param(ctx);
  if (!id) co_return http::error_response(id.error());
  auto sensor = co_await run_blocking(s.pool, [&] { return s.sensors.find(*id); });
  if (!sensor) co_return http::error_response(sensor.error());
  co_return ok(sensor_json(*sensor, s));
}

asio::awaitable<Response> update_sensor(RequestContext& ctx, Services& s) {
  auto id = sensor_id_param(ctx);
  if (!id) co_return http::error_response(id.error());
  auto body = http::parse_json_body(ctx.request);
  if (!body) co_return http::error_response(body.error());
  auto update = domain::parse_sensor_update(*body);
  if (!update) co_return http::error_response(update.error());
  auto by = actor_of(ctx);
  auto sensor = co_await run_blocking(s.pool, [&] { return s.sensors.update(*id, *update, by); });
  if (!sensor) co_return http::error_response(sensor.error());
  sensors_changed(s);
  co_return ok(sensor_json(*sensor, s));
}

asio::awaitable<Response> delete_sensor(RequestContext& ctx, Services& s) {
  auto id = sensor_id_param(ctx);
  if (!id) co_return http::error_response(id.error());
  auto by = actor_of(ctx);
  auto done = co_await run_blocking(s.pool, [&] { return s.sensors.remove(*id, by); });
  if (!done) co_return http::error_response(done.error());
  sensors_changed(s);
  co_return ok(message("Sensor " + *id + " deleted; its threats are kept as history"));
}

asio::awaitable<Response> sensor_stats(RequestContext& ctx, Services& s) {
  auto id = sensor_id_param(ctx);
  if (!id) co_return http::error_response(id.error());
  auto stats = co_await run_blocking(s.pool, [&] { return s.sensors.stats(*id); });
  if (!stats) co_return http::error_response(stats.error());
  co_return ok(domain::to_json(*stats));
}

asio::awaitable<Response> heartbeat(RequestContext& ctx, Services& s) {
  auto id = sensor_id_param(ctx);
  if (!id) co_return http::error_response(id.error());
  if (ctx.principal.id != *id)
    co_return http::error_response(
        make_error(Errc::forbidden, "This API key belongs to another sensor"));
  auto body = http::parse_json_body(ctx.request);
  if (!body) co_return http::error_response(body.error());
  domain::IngestContext context;
  context.authenticated_sensor_id = *id;
  context.now = s.clock.now();
  auto hb = domain::normalize_heartbeat(*body, context);
  if (!hb) co_return http::error_response(hb.error());
  auto done = co_await run_blocking(s.pool, [&] { return s.sensors.record_heartbeat(*hb); });
  if (!done) co_return http::error_response(done.error());
  co_return ok(json::object{{"message", "Heartbeat recorded"},
                            {"sensor_id", *id},
                            {"timestamp", format_timestamp(hb->timestamp)},
                            {"is_online", hb->is_online}});
}

asio::awaitable<Response> sensor_threats(RequestContext& ctx, Services& s) {
  auto id = sensor_id_param(ctx);
  if (!id) co_return http::error_response(id.error());
  co_return co_await query_threats_response(ctx, s, *id);
}

}  // namespace

void add_sensor_routes(http::Router& router, Services& s) {
  const auto base = s.config.prefix + "/sensors";
  const auto one = base + "/{sensor_id}";
  using http::Access;
  using http::RateClass;
  using http::Verb;
  auto bind = [&s](auto fn) { return [&s, fn](RequestContext& c) { return fn(c, s); }; };
  // Dashboards poll the list; counts and online flags may lag by the TTL, edits made through this
  // instance show at once (sensors_changed).
  s.sensor_list_cache = std::make_shared<ResponseCache>(s.config.sensor_list_cache_ttl);
  auto list = [&s](RequestContext& c) { return cached(c, s, *s.sensor_list_cache, list_sensors); };
  auto no_sensor = error_answer(404, "No such sensor");
  auto list_doc = route_doc(
      "Sensors", {json_answer(200, "A page of sensors", schema_ref("SensorList"))},
      {query_param("page", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000000}}, "Page"),
       query_param("page_size", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}},
                   "Sensors per page (default 50)"),
       query_param("is_active", {{"type", "boolean"}}, "Active (or disabled) sensors only"),
       query_param("is_online", {{"type", "boolean"}},
                   "Heard from within 3 heartbeat intervals (or not)")});
  list_doc.description = "Answers are reused per instance and URL for SENSORS_CACHE_MS (1 s).";
  router.add({Verb::get, base, Access::viewer, RateClass::normal, list,
              "List sensors, newest first", list_doc});
  router.add(
      {Verb::get, one, Access::viewer, RateClass::normal, bind(get_sensor), "One sensor",
       route_doc("Sensors", {json_answer(200, "The sensor", schema_ref("Sensor")), no_sensor},
                 {sensor_id_path()})});
  auto update_doc =
      route_doc("Sensors",
                {json_answer(200, "The sensor as changed", schema_ref("Sensor")), no_sensor,
                 error_answer(503, "The broker cannot be reached (is_active changes its account)")},
                {sensor_id_path()}, schema_ref("SensorUpdate"));
  router.add({Verb::put, one, Access::admin, RateClass::normal, bind(update_sensor),
              "Partial update of a sensor", update_doc});
  router.add({Verb::delete_, one, Access::admin, RateClass::normal, bind(delete_sensor),
              "Delete a sensor and revoke its credentials (threats stay)",
              route_doc("Sensors",
                        {json_answer(200, "Deleted", schema_ref("Message")), no_sensor,
                         error_answer(503, "The broker cannot be reached: nothing was deleted")},
                        {sensor_id_path()})});
  router.add({Verb::get, one + "/stats", Access::viewer, RateClass::normal, bind(sensor_stats),
              "Threat statistics of a sensor",
              route_doc("Sensors",
                        {json_answer(200, "The statistics", schema_ref("SensorStats")), no_sensor},
                        {sensor_id_path()})});
  json::value heartbeat_answer = {{"type", "object"},
                                  {"required", {"message", "sensor_id", "timestamp", "is_online"}},
                                  {"properties",
                                   {{"message", {{"type", "string"}}},
                                    {"sensor_id", schema_ref("SensorId")},
                                    {"timestamp", schema_ref("Timestamp")},
                                    {"is_online", {{"type", "boolean"}}}}},
                                  {"additionalProperties", false}};
  auto heartbeat_doc = route_doc("Sensors",
                                 {json_answer(200, "Recorded", heartbeat_answer), no_sensor,
                                  error_answer(403, "The key belongs to another sensor")},
                                 {sensor_id_path()}, schema_ref("Heartbeat"));
  heartbeat_doc.request_examples = {{"agent", wire_sample("agent-heartbeat.json")},
                                    {"canonical", wire_sample("canonical-heartbeat.json")}};
  router.add({Verb::post, one + "/heartbeat", Access::sensor, RateClass::normal, bind(heartbeat),
              "Heartbeat from the sensor itself (X-API-Key)", heartbeat_doc});
  auto threats_doc = route_doc("Sensors", {}, {sensor_id_path()});
  add_threat_query_doc(threats_doc, false);
  router.add({Verb::get, one + "/threats", Access::viewer, RateClass::normal, bind(sensor_threats),
              "Threats of one sensor; same filters as /threats", threats_doc});
}

}  // namespace honeyman::api::detail
