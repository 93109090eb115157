#pragma once

#include "api/api.hpp"

namespace honeyman::api::detail {

void add_ops_routes(http::Router& router, Services& s);
void add_auth_routes(http::Router& router, Services& s);
void add_sensor_routes(http::Router& router, Services& s);
void add_threat_routes(http::Router& router, Services& s);
void add_triage_routes(http::Router& router, Services& s);
void add_user_routes(http::Router& router, Services& s);
void add_export_route(http::Router& router, Services& s);  // GET /threats/export (export.cpp)
void add_onboarding_routes(http::Router& router, Services& s);
void add_analytics_routes(http::Router& router, Services& s);
void add_alert_routes(http::Router& router, Services& s);  // alerting and sensor commands
void add_docs_routes(http::Router& router, Services& s);

}  // namespace honeyman::api::detail
