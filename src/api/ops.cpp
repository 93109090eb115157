#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/routes.hpp"

namespace honeyman::api::detail {
namespace {

// GET /health and {prefix}/health (the field agent probes {base_url}/v2/health), answered with
// `response`, precomputed: /health is what load balancers hammer, so it allocates nothing.
void add_health_routes(http::Router& router, const ApiConfig& config) {
  auto health = std::make_shared<const Response>(
      ok(json::object{{"status", "ok"}, {"service", "honeyman"}, {"version", config.version}}));
  auto handler = [health](RequestContext&) -> asio::awaitable<Response> { co_return *health; };
  auto health_doc = route_doc("Operations", {json_answer(200, "Alive", schema_ref("Health"))});
  router.add({http::Verb::get, "/health", http::Access::anyone, http::RateClass::exempt, handler,
              "Liveness: the process answers", health_doc});
  router.add({http::Verb::get, config.prefix + "/health", http::Access::anyone,
              http::RateClass::exempt, handler, "Liveness, under the API prefix", health_doc});
}

http::RouteDoc ready_doc() {
  return route_doc("Operations",
                   {json_answer(200, "Ready", schema_ref("Readiness")),
                    json_answer(503, "A dependency does not answer", schema_ref("Readiness"))});
}

Response not_ready(json::object checks) {
  return http::json_response(http::StatusCode::service_unavailable,
                             json::object{{"status", "not_ready"}, {"checks", std::move(checks)}});
}

asio::awaitable<Response> ready(Services& s) {
  auto store = co_await run_blocking(s.pool, [&] { return s.store.ping(); });
  json::object checks{{"store", store ? "ok" : store.error().message}};
  bool all_ok = static_cast<bool>(store);
  if (s.mqtt) {  // the ingest connection; reconnecting in the background when down
    bool up = s.mqtt->connected();
    checks["mqtt"] = up ? "ok" : "disconnected (reconnecting)";
    all_ok = all_ok && up;
  }
  if (s.bus && s.redis_bus) {  // the subscription that brings other instances' events
    bool up = s.bus->connected();
    checks["redis"] = up ? "ok" : "disconnected (reconnecting)";
    all_ok = all_ok && up;
  }
  if (!all_ok) co_return not_ready(std::move(checks));
  co_return http::json_response(http::StatusCode::ok,
                                json::object{{"status", "ready"}, {"checks", std::move(checks)}});
}

}  // namespace

void add_ops_routes(http::Router& router, Services& s) {
  add_health_routes(router, s.config);
  router.add({http::Verb::get, "/ready", http::Access::anyone, http::RateClass::exempt,
              [&s](RequestContext&) { return ready(s); },
              "Readiness: 200 only when the store (and configured broker/Redis) answer",
              ready_doc()});
}

}  // namespace honeyman::api::detail

namespace honeyman::api {

void register_migration_routes(http::Router& router, const ApiConfig& config,
                               std::function<std::string()> state) {
  detail::add_health_routes(router, config);
  router.add({http::Verb::get, "/ready", http::Access::anyone, http::RateClass::exempt,
              [state = std::move(state)](http::RequestContext&) -> asio::awaitable<http::Response> {
                co_return detail::not_ready(boost::json::object{{"store", state()}});
              },
              "Readiness: 503 while the schema is migrated", detail::ready_doc()});
}

}  // namespace honeyman::api
