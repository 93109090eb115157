#include "api/detail/routes.hpp"

namespace honeyman::api {

void register_routes(http::Router& router, Services& services) {
  detail::add_ops_routes(router, services);
  detail::add_auth_routes(router, services);
  detail::add_sensor_routes(router, services);
  detail::add_threat_routes(router, services);
  detail::add_triage_routes(router, services);
  detail::add_user_routes(router, services);
  detail::add_export_route(router, services);
  detail::add_onboarding_routes(router, services);
  detail::add_analytics_routes(router, services);
  detail::add_alert_routes(router, services);
  detail::add_docs_routes(router, services);
}

}  // namespace honeyman::api
