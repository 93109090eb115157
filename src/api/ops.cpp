#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/routes.hpp"

namespace honeyman::api::detail {
namespace {

// Precomputed: /health is what load balancers hammer, so it allocates nothing per request.
Response health_response(const Services& s) {
  return ok(json::object{{"status", "ok"}, {"service", "honeyman"}, {"version", s.config.version}});
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
  if (s.bus) {  // Redis: the subscription that brings other instances' events
    bool up = s.bus->connected();
    checks["redis"] = up ? "ok" : "disconnected (reconnecting)";
    all_ok = all_ok && up;
  }
  co_return http::json_response(
      all_ok ? http::StatusCode::ok : http::StatusCode::service_unavailable,
      json::object{{"status", all_ok ? "ready" : "not_ready"}, {"checks", std::move(checks)}});
}

}  // namespace

void add_ops_routes(http::Router& router, Services& s) {
  auto health = std::make_shared<const Response>(health_response(s));
  auto handler = [health](RequestContext&) -> asio::awaitable<Response> { co_return *health; };
  auto health_doc = route_doc("Operations", {json_answer(200, "Alive", schema_ref("Health"))});
  router.add({http::Verb::get, "/health", http::Access::anyone, http::RateClass::exempt, handler,
              "Liveness: the process answers", health_doc});
  // The field agent probes {base_url}/v2/health.
  router.add({http::Verb::get, s.config.prefix + "/health", http::Access::anyone,
              http::RateClass::exempt, handler, "Liveness, under the API prefix", health_doc});
  router.add({http::Verb::get, "/ready", http::Access::anyone, http::RateClass::exempt,
              [&s](RequestContext&) { return ready(s); },
              "Readiness: 200 only when the store (and configured broker/Redis) answer",
              route_doc("Operations", {json_answer(200, "Ready", schema_ref("Readiness")),
                                       json_answer(503, "A dependency does not answer",
                                                   schema_ref("Readiness"))})});
}

}  // namespace honeyman::api::detail
