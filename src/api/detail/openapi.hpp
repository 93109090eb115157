// The OpenAPI 3.1 document, built from the route table: each route states its parameters, body
// and answers (http::RouteDoc) where it is registered, with the helpers below; the builder adds
// what follows from the route's Access and RateClass (security, 401/403/429) and from what it
// takes (422 for parameters or a body, 413 for a body).
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "api/api.hpp"

namespace honeyman::api::detail {

namespace json = boost::json;

// {"$ref": "#/components/schemas/<name>"}
json::value schema_ref(std::string_view name);
json::value array_of(json::value item);

http::ParamDoc path_param(std::string name, json::value schema, std::string description);
http::ParamDoc query_param(std::string name, json::value schema, std::string description,
                           bool repeatable = false);
http::ResponseDoc json_answer(int status, std::string description, json::value schema);
// An error answer particular to a route ({"detail": text}).
http::ResponseDoc error_answer(int status, std::string description);
http::RouteDoc route_doc(std::string tag, std::vector<http::ResponseDoc> responses,
                         std::vector<http::ParamDoc> params = {},
                         json::value request_schema = nullptr);
http::ParamDoc sensor_id_path();
// A sample payload of ../shared/wire (as deployed sensors send it), compiled in: an example.
json::value wire_sample(std::string_view file_name);

// The query parameters and answers shared by GET /threats and GET /sensors/{id}/threats.
void add_threat_query_doc(http::RouteDoc& doc, bool with_sensor_filter);

json::object component_schemas();
// The whole document for `router`'s routes (API_PREFIX and version from `config`).
json::object openapi_document(const http::Router& router, const ApiConfig& config);

}  // namespace honeyman::api::detail
