// GET /metrics: the Prometheus exposition (metrics::scrape()). Outside the API prefix, where
// Prometheus looks by default. Exempt from rate limits and from the server's authentication:
// the route checks its own credential, a static Bearer token (METRICS_TOKEN), so a scraper needs
// no user account and a wrong token costs no login budget.
#include <boost/beast/http/field.hpp>

#include "api/api.hpp"
#include "api/detail/openapi.hpp"
#include "metrics/metrics.hpp"

namespace honeyman::api {
namespace {

bool bearer_matches(const http::Request& request, const std::string& token) {
  std::string_view header = request[boost::beast::http::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || !header.starts_with(kBearer)) return false;
  return constant_time_equal(header.substr(kBearer.size()), token);
}

}  // namespace

void register_metrics_route(http::Router& router, std::string token) {
  auto handler = [token = std::move(token)](
                     http::RequestContext& ctx) -> boost::asio::awaitable<http::Response> {
    if (!token.empty() && !bearer_matches(ctx.request, token))
      co_return http::error_response(make_error(Errc::unauthorized, "Not authenticated"));
    http::Response res{http::StatusCode::ok, 11};
    res.set(boost::beast::http::field::content_type, metrics::kContentType);
    res.set(boost::beast::http::field::cache_control, "no-store");
    res.body() = metrics::scrape();
    co_return res;
  };
  auto doc = detail::route_doc(
      "Operations", {{200, "The Prometheus text exposition format (version 0.0.4)", "text/plain",
                      boost::json::object{{"type", "string"}}},
                     detail::error_answer(401, "No or a wrong METRICS_TOKEN")});
  doc.description =
      "Served here only when METRICS_TOKEN is set: send it as `Authorization: Bearer <token>` "
      "(not a user's token). With METRICS_LISTEN the same document is served, without a "
      "credential, on that address instead. docs/API.md lists the metrics.";
  router.add({http::Verb::get, "/metrics", http::Access::anyone, http::RateClass::exempt,
              std::move(handler),
              "Prometheus metrics (METRICS_TOKEN bearer token, or the METRICS_LISTEN listener)",
              std::move(doc)});
}

}  // namespace honeyman::api
