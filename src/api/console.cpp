// The web console (web/, built by Vite into web/dist) at /: its files from memory
// (console_files.hpp), the single-page app's own routes (/threats, /sensors/abc) answered with
// index.html, and without a built console a page that says how to build one. It is the router's
// fallback route: paths no API route has, outside the API prefix and the root routes; public and
// never rate-limited (a console load is a handful of files, all from memory); one metrics label.
#include <algorithm>
#include <boost/beast/http/field.hpp>

#include "api/api.hpp"
#include "api/detail/console_files.hpp"

namespace honeyman::api {
namespace {

namespace asio = boost::asio;
using field = boost::beast::http::field;
using detail::ConsoleFile;
using detail::ConsoleFiles;
using detail::Encoding;
using http::RequestContext;
using http::Response;
using http::StatusCode;

// The console's own: scripts, styles, images, fonts and API calls (fetch and the live feed's
// WebSocket: CSP3's 'self' covers same-origin ws/wss) from this origin only; no inline code, no
// eval, no plugins, no framing. It replaces http's default-src 'none' on the pages.
constexpr std::string_view kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
// Files under assets/ carry their content's hash in their names: a new build is a new URL.
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";

// Not the API's JSON 404: these are a browser's requests for files.
Response not_found() {
  Response res{StatusCode::not_found, 11};
  res.set(field::content_type, "text/plain; charset=utf-8");
  res.body() = "Not Found\n";
  return res;
}

Response not_built(const std::string& docs_url) {
  Response res{StatusCode::not_found, 11};
  res.set(field::content_type, "text/html; charset=utf-8");
  res.body() = R"(<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Honeyman: the web console is not built</title></head>
<body>
<h1>The web console is not built</h1>
<p>This server found no built console to serve. Build it from the source tree with
<code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code> (or
<code>scripts/build-web</code>), then restart the server, or point <code>WEB_DIR</code> at a built
console.</p>
<p>The API is served as usual; its documentation is at <a href=")" +
               detail::html_escape(docs_url) + R"(">)" + detail::html_escape(docs_url) +
               R"(</a>.</p>
</body>
</html>
)";
  return res;
}

Response file_response(const ConsoleFile& file, const http::Request& request) {
  auto encoding = detail::choose_encoding(request[field::accept_encoding], !file.br.empty(),
                                          !file.gzip.empty());
  auto etag = detail::etag_of(file, encoding);
  const bool fresh = detail::etag_matches(request[field::if_none_match], etag);
  Response res{fresh ? StatusCode::not_modified : StatusCode::ok, 11};
  res.set(field::etag, etag);
  res.set(field::vary, "Accept-Encoding");
  res.set(field::cache_control, file.immutable ? kImmutable : std::string_view("no-cache"));
  // Also on a 304: a browser updates the stored response's headers from it, and http's default
  // policy (default-src 'none') would then block the page's own scripts.
  if (file.html) res.set("Content-Security-Policy", kConsoleCsp);
  if (fresh) return res;
  res.set(field::content_type, file.content_type);
  if (encoding != Encoding::identity)
    res.set(field::content_encoding, encoding == Encoding::br ? "br" : "gzip");
  res.body() = std::string(detail::body_of(file, encoding));
  return res;
}

// Only names loaded from the directory are ever served, so no path can reach another file; these
// are refused before any lookup all the same.
bool plausible(std::string_view path) {
  if (path.find_first_of(std::string_view("\\\0", 2)) != std::string_view::npos) return false;
  for (std::size_t i = 0; i < path.size();) {
    auto end = std::min(path.find('/', i), path.size());
    auto segment = path.substr(i, end - i);
    if (segment == "." || segment == "..") return false;
    i = end + 1;
  }
  return true;
}

// `files` null: no console (not built).
Response serve(const ConsoleFiles* files, const std::string& docs_url, const RequestContext& ctx) {
  auto path = ctx.path_param("path");
  if (!plausible(path)) return not_found();
  auto name = path.substr(std::min(path.find_first_not_of('/'), path.size()));
  if (files)
    if (const auto* file = files->find(name)) return file_response(*file, ctx.request);
  // A file that is not there is a 404; anything else is one of the app's routes, which its
  // index.html renders.
  if (detail::names_a_file(name)) return not_found();
  if (!files) return not_built(docs_url);
  return file_response(*files->find("index.html"), ctx.request);
}

}  // namespace

Result<Console> load_console(const std::filesystem::path& dir, std::string_view api_prefix) {
  auto files = detail::load_console_files(dir, api_prefix);
  if (!files) return files.error();
  Console console;
  console.file_count = files->files.size();
  console.bytes = files->bytes;
  console.prefix_meta = files->prefix_meta;
  console.files = std::make_shared<const ConsoleFiles>(std::move(*files));
  return console;
}

void register_console(http::Router& router, const ApiConfig& config, Console console) {
  auto handler = [files = std::move(console.files), docs = config.prefix + "/docs"](
                     RequestContext& ctx) -> asio::awaitable<Response> {
    co_return serve(files.get(), docs, ctx);
  };
  // The root routes are reserved too: /metrics exists only with METRICS_TOKEN, and stays a 404
  // without it.
  router.set_fallback({http::Verb::get, "console", http::Access::anyone, http::RateClass::exempt,
                       std::move(handler), "The web console: its files and its pages"},
                      {config.prefix, "/health", "/ready", "/metrics"});
}

}  // namespace honeyman::api
