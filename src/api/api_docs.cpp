// The API's own documentation: the OpenAPI document, Swagger UI at <prefix>/docs and ReDoc at
// <prefix>/redoc (as FastAPI serves them), with their scripts compiled into the binary: no CDN,
// no internet. Each page gets a Content-Security-Policy that allows just what its viewer needs.
#include <boost/beast/http/field.hpp>
#include <mutex>

#include "api/detail/assets.hpp"
#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/routes.hpp"

namespace honeyman::api::detail {
namespace {

using field = boost::beast::http::field;
using http::Access;
using http::RateClass;
using http::Verb;

// Swagger UI styles elements inline and draws icons from data: URIs; "Try it out" calls this
// server (connect-src 'self'). The validator badge, which would call validator.swagger.io, is
// switched off in the initialiser.
constexpr std::string_view kSwaggerCsp =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";
// ReDoc also injects <style> elements and runs its search index in a worker made from a blob.
constexpr std::string_view kRedocCsp =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

Response text_response(std::string_view content_type, std::string body) {
  Response res{http::StatusCode::ok, 11};
  res.set(field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response page(std::string_view csp, std::string body) {
  auto res = text_response("text/html; charset=utf-8", std::move(body));
  res.set("Content-Security-Policy", csp);
  res.set(field::cache_control, "no-cache");
  return res;
}

// Scripts and styles named with the server's version: a new version is a new URL, so browsers
// may keep them a day without ever running an old viewer against a new document.
std::string asset_url(const ApiConfig& c, std::string_view name) {
  return c.prefix + "/docs/assets/" + std::string(name) + "?v=" + c.version;
}

// A viewer's page: its style sheet (if any), the element it renders into, its script and the
// initialiser that points it at the document. No inline script: script-src 'self' holds.
std::string viewer_page(const ApiConfig& c, std::string_view viewer, std::string_view element,
                        std::string_view stylesheet, std::string_view script,
                        std::string_view initialiser) {
  std::string style;
  if (!stylesheet.empty())
    style = "<link rel=\"stylesheet\" href=\"" + asset_url(c, stylesheet) + "\">\n";
  return R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Honeyman API - )" +
         std::string(viewer) + R"(</title>
<link rel="icon" href="data:,">
)" + style +
         R"(</head>
<body>
<div id=")" +
         std::string(element) +
         R"("></div>
<script src=")" +
         asset_url(c, script) +
         R"("></script>
<script src=")" +
         asset_url(c, initialiser) +
         R"("></script>
</body>
</html>
)";
}

std::string swagger_init(const ApiConfig& c) {
  return R"(window.ui = SwaggerUIBundle({
  url: ")" +
         c.prefix +
         R"(/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  displayRequestDuration: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
)";
}

std::string redoc_init(const ApiConfig& c) {
  return R"(Redoc.init(")" + c.prefix +
         R"(/openapi.json", {hideDownloadButton: false, expandResponses: "200,201"},
  document.getElementById("redoc"));
)";
}

bool accepts_gzip(const http::Request& request) {
  auto accept = std::string_view(request[field::accept_encoding]);
  return accept.find("gzip") != std::string_view::npos;
}

struct StaticFile {
  std::string_view name;
  std::string_view content_type;
};
constexpr StaticFile kFiles[] = {
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
    {"swagger-ui.css", "text/css; charset=utf-8"},
    {"redoc.standalone.js", "text/javascript; charset=utf-8"},
    {"swagger-init.js", "text/javascript; charset=utf-8"},
    {"redoc-init.js", "text/javascript; charset=utf-8"},
};

Response asset(const RequestContext& ctx, const ApiConfig& c) {
  auto name = ctx.path_param("name");
  for (const auto& file : kFiles) {
    if (file.name != name) continue;
    Response res;
    if (name == "swagger-init.js") {
      res = text_response(file.content_type, swagger_init(c));
    } else if (name == "redoc-init.js") {
      res = text_response(file.content_type, redoc_init(c));
    } else {
      auto bytes = find_asset(name);
      if (!bytes) break;
      bool gzip = accepts_gzip(ctx.request);
      res = text_response(file.content_type, std::string(gzip ? bytes->gzip : bytes->data));
      if (gzip) res.set(field::content_encoding, "gzip");
      res.set(field::vary, "Accept-Encoding");
    }
    res.set(field::cache_control, "public, max-age=86400");
    return res;
  }
  return http::error_response(make_error(Errc::not_found, "No such documentation file"));
}

}  // namespace

void add_docs_routes(http::Router& router, Services& s) {
  const auto& c = s.config;
  // Built at the first request, when every route (also those added after this call) is known;
  // then the same bytes for everyone.
  struct Cached {
    std::once_flag once;
    std::string body;
  };
  auto cached = std::make_shared<Cached>();
  auto openapi = [cached, &router, &s](RequestContext&) -> asio::awaitable<Response> {
    std::call_once(cached->once,
                   [&] { cached->body = to_json_text(openapi_document(router, s.config)); });
    Response res = text_response("application/json", cached->body);
    co_return res;
  };
  http::RouteDoc doc;
  doc.tag = "Documentation";
  doc.responses = {
      json_answer(200, "This document (OpenAPI 3.1)", json::object{{"type", "object"}})};
  router.add({Verb::get, c.prefix + "/openapi.json", Access::anyone, RateClass::normal, openapi,
              "The OpenAPI 3.1 document of this API", doc});

  auto html = [](std::string description) {
    http::RouteDoc d;
    d.tag = "Documentation";
    d.responses = {{200, std::move(description), "text/html", json::object{{"type", "string"}}}};
    return d;
  };
  auto swagger = std::make_shared<const Response>(
      page(kSwaggerCsp, viewer_page(c, "Swagger UI", "swagger-ui", "swagger-ui.css",
                                    "swagger-ui-bundle.js", "swagger-init.js")));
  router.add({Verb::get, c.prefix + "/docs", Access::anyone, RateClass::normal,
              [swagger](RequestContext&) -> asio::awaitable<Response> { co_return *swagger; },
              "Swagger UI: read and try the API in a browser",
              html("Swagger UI; Authorize with a Bearer token, then Try it out")});
  auto redoc = std::make_shared<const Response>(page(
      kRedocCsp, viewer_page(c, "ReDoc", "redoc", "", "redoc.standalone.js", "redoc-init.js")));
  router.add({Verb::get, c.prefix + "/redoc", Access::anyone, RateClass::normal,
              [redoc](RequestContext&) -> asio::awaitable<Response> { co_return *redoc; },
              "ReDoc: the API reference as one page", html("ReDoc")});

  http::RouteDoc files;
  files.tag = "Documentation";
  json::array names;
  for (const auto& f : kFiles) names.emplace_back(f.name);
  files.params = {path_param("name", json::object{{"type", "string"}, {"enum", std::move(names)}},
                             "A script or style sheet of the viewers")};
  files.responses = {{200, "The file (gzip-encoded when the client accepts it)",
                      "text/javascript, text/css", json::object{{"type", "string"}}},
                     json_answer(404, "No such file", schema_ref("Error"))};
  router.add({Verb::get, c.prefix + "/docs/assets/{name}", Access::anyone, RateClass::normal,
              [&c](RequestContext& ctx) -> asio::awaitable<Response> { co_return asset(ctx, c); },
              "Scripts and styles of Swagger UI and ReDoc", files});
}

}  // namespace honeyman::api::detail
