// What happens to a complete request, separate from socket I/O (the reader enforces size and
// time limits before this runs): CORS, routing, rate limiting, authentication, RBAC, the
// handler, payload framing. No sockets, so tests can drive it directly. The standard security
// headers are added when the response is written (detail/wire.hpp).
#pragma once

#include <boost/url/url_view.hpp>
#include <memory>

#include "http/detail/rate_limiter.hpp"
#include "http/detail/route_metrics.hpp"
#include "http/http.hpp"

namespace honeyman::http::detail {

// Who sent a request (detail/client_address.hpp).
struct Client {
  std::string address;             // logs and RequestContext::client_address
  std::string key;                 // rate limits (an IPv6 client counts by its /64)
  bool via_trusted_proxy = false;  // the peer is a TRUSTED_PROXIES proxy (X-Request-Id is kept)
};

// What the processor answers: a complete response, or a head and the producer of its body
// (RequestContext::body_stream), framed for streaming (chunked on HTTP/1.1). A streamed request
// is logged and counted once, when the session calls `finished` with the bytes it sent.
struct Answer {
  Response response;
  BodyProducer stream;
  std::function<void(std::uint64_t body_bytes)> finished;
};

class RequestProcessor {
 public:
  // Keeps references to `config`, `router` and `authenticator`: they must outlive it.
  RequestProcessor(const ServerConfig& config, const Router& router, Authenticator& authenticator,
                   std::unique_ptr<RateLimiter> limiter);

  // Never throws: handler exceptions become 500. Thread-safe (the limiter is; everything else is
  // read-only).
  boost::asio::awaitable<Answer> handle(const Request& request, const Client& client);

 private:
  struct Routed {
    std::optional<Response> response;  // set: answer with this, the route is not called
    Router::Match match;
    boost::urls::url_view target;
  };
  Routed route(const Request& request, const Client& client);
  static std::optional<Response> authorize(const Route& route, const Result<Principal>& principal);
  struct Outcome {
    const Route* route = nullptr;  // null: unrouted
    std::string request_id;
    std::string principal;  // user name or sensor id; empty: anonymous
    std::chrono::steady_clock::time_point started;
  };
  void finish(const Request& request, Answer& answer, const Client& client,
              const Outcome& outcome) const;
  void record(Verb method, unsigned status, std::uint64_t bytes, const Client& client,
              const Outcome& outcome, std::string_view request_id) const;
  Router::Match route_for(Verb method, std::string_view path) const;
  Response no_route(const Router::Match& match, std::string_view path) const;
  std::optional<Response> rate_limit(const Route& route, const Client& client);
  // Credential guessing costs the client's login bucket: while it is empty, a request carrying
  // a credential is refused (429) unchecked; every credential refused as unauthorized takes a
  // token.
  std::optional<Response> credential_budget_spent(const Request& request, const Client& client);
  void charge_failed_credential(const Client& client);
  std::optional<Response> preflight(const Request& request) const;
  void add_cors(const Request& request, Response& response) const;

  const ServerConfig& config_;
  const Router& router_;
  Authenticator& authenticator_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<RouteMetrics> metrics_;
};

}  // namespace honeyman::http::detail
