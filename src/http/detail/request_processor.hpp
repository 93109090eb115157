// What happens to a complete request, separate from socket I/O (the reader enforces size and
// time limits before this runs): CORS, routing, rate limiting, authentication, RBAC, the
// handler, payload framing. No sockets, so tests can drive it directly. The standard security
// headers are added when the response is written (detail/wire.hpp).
#pragma once

#include <boost/url/url_view.hpp>
#include <memory>

#include "http/detail/rate_limiter.hpp"
#include "http/http.hpp"

namespace honeyman::http::detail {

class RequestProcessor {
 public:
  // Keeps references to `config`, `router` and `authenticator`: they must outlive it.
  RequestProcessor(const ServerConfig& config, const Router& router, Authenticator& authenticator,
                   std::unique_ptr<RateLimiter> limiter);

  // Never throws: handler exceptions become 500. `client` is the peer address, the rate-limit
  // key. Thread-safe (the limiter is; everything else is read-only).
  boost::asio::awaitable<Response> handle(const Request& request, const std::string& client);

 private:
  struct Routed {
    std::optional<Response> response;  // set: answer with this, the route is not called
    Router::Match match;
    boost::urls::url_view target;
  };
  Routed route(const Request& request, const std::string& client);
  static std::optional<Response> authorize(const Route& route, const Result<Principal>& principal);
  void finish(const Request& request, Response& response, const Route* route,
              const std::string& client) const;
  Router::Match route_for(Verb method, std::string_view path) const;
  Response no_route(const Router::Match& match, std::string_view path) const;
  std::optional<Response> rate_limit(const Route& route, const std::string& client);
  std::optional<Response> preflight(const Request& request) const;
  void add_cors(const Request& request, Response& response) const;

  const ServerConfig& config_;
  const Router& router_;
  Authenticator& authenticator_;
  std::unique_ptr<RateLimiter> limiter_;
};

}  // namespace honeyman::http::detail
