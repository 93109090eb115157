// http: the Beast HTTP/1.1 server, its router and the middleware every request passes through
// (limits, timeouts, CORS, rate limiting, authentication, RBAC, security headers). It knows
// nothing about the product's resources: `api` registers routes on a Router.
//
// Threads: the Server runs on the io_context it is given; run that context from N threads.
// Handlers are coroutines on those threads and must not block (use run_blocking for that).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>
#include <boost/url/params_view.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"

namespace honeyman::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Verb = boost::beast::http::verb;
using StatusCode = boost::beast::http::status;

// An IPv4 or IPv6 network: "10.0.0.0/8", "2001:db8::/32"; a bare address is a /32 or /128.
struct IpNetwork {
  boost::asio::ip::address network;                              // host bits cleared
  unsigned prefix = 0;                                           // bits
  bool contains(const boost::asio::ip::address& address) const;  // IPv4-mapped IPv6 as IPv4
};
// Comma-separated networks (spaces allowed, empty list allowed): TRUSTED_PROXIES.
// Errc::invalid_input naming the first entry that is not an address or network.
Result<std::vector<IpNetwork>> parse_networks(std::string_view list);

// Connection caps derived from the process's descriptor limit (RLIMIT_NOFILE): the total leaves
// descriptors for everything else (store, broker, Redis, logs; at least 128, or a tenth), one
// client gets an eighth of the total (8 to 1,024). A `total` given (non-zero) is kept and the
// per-client cap derived from it. docs/DECISIONS.md "Hardening (issue #11): http".
struct ConnectionLimits {
  std::size_t total = 0;
  std::size_t per_client = 0;
};
ConnectionLimits default_connection_limits(std::uint64_t open_files_limit, std::size_t total = 0);

struct ServerConfig {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8000;  // 0: an ephemeral port (tests); Server::listen() returns it
  std::size_t body_limit = 1024 * 1024;              // larger bodies: 413
  std::chrono::milliseconds header_timeout{10'000};  // to receive a request's headers and body
                                                     // (and a new connection's first byte)
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive connection with no request;
                                                     // also bounds writing one response
  std::vector<std::string> cors_origins;             // exact origins; "*" allows any
  bool rate_limit_enabled = true;
  int rate_limit_per_minute = 60;  // per client address, every rate-limited route
  // per client address, routes marked RateClass::login, and every failed credential check
  int login_rate_limit_per_minute = 10;
  std::string api_prefix = "/api/v2";
  // Open connections (WebSocket ones included). Beyond either cap the client's (then anyone's)
  // oldest idle keep-alive connection is closed to make room; with none idle the new connection
  // is answered 503 and closed. app derives both from RLIMIT_NOFILE unless configured.
  std::size_t max_connections = 896;
  std::size_t max_connections_per_client = 112;  // per address (IPv6: per /64); not for proxies
  // Peers whose X-Forwarded-For / Forwarded header names the client. Empty: the peer is the client.
  // Their X-Request-Id is also kept (others' is replaced).
  std::vector<IpNetwork> trusted_proxies;
  // One `info` line per request (ACCESS_LOG): request id, method, route pattern, status, bytes,
  // latency, principal, client; never the target (paths and queries may carry secrets).
  bool access_log = true;
};

// Who may call a route. Every route states one; the server enforces it before the handler.
enum class Access {
  anyone,             // no credential needed (one sent is still checked, except on exempt routes)
  viewer,             // any logged-in user (viewer, analyst or admin)
  analyst,            // analyst or admin
  admin,              // admin only
  sensor,             // a sensor API key (X-API-Key); the handler checks it is the right sensor
  sensor_or_analyst,  // a sensor API key, or an analyst/admin user
};
std::string_view to_string(Access a);

// exempt: neither rate-limited nor authenticated (credentials are ignored, so a probe costs no
// lookup and reveals nothing about a key); only for Access::anyone routes such as /health.
enum class RateClass { normal, login, exempt };

// The authenticated caller of a request.
struct Principal {
  enum class Kind { none, user, sensor };
  Kind kind = Kind::none;
  std::string id;    // user id, or the sensor_id for a sensor
  std::string name;  // username, or the sensor_id
  // Users only: what the user's role grants, as Access::viewer, ::analyst or ::admin (the
  // authenticator maps the product's roles onto these; http knows no roles of its own).
  Access grants = Access::viewer;
  std::string token_id;        // access token jti (users only)
  Timestamp token_expires_at;  // access token exp (users only)
};

// Does `principal` satisfy `access`? Pure; the RBAC matrix in one place.
bool allows(Access access, const Principal& principal);

// Resolves the credential of a request. Kind::none when the request carries none;
// Errc::unauthorized for a bad, expired or revoked one (the server then charges the client's
// login bucket). Not called for RateClass::exempt routes, nor while that bucket is empty.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual boost::asio::awaitable<Result<Principal>> authenticate(const Request& request) = 0;
};

// A response body made while it is sent (exports of millions of rows). The server calls the
// producer with an empty `chunk` to fill; a chunk left empty ends the body. The next call comes
// only after the previous chunk has been written to the socket, so a slow reader slows the
// producer down and nothing queues (backpressure). Calls run on the connection's strand, one at
// a time; blocking work belongs on the BlockingPool (run_blocking). An error (or exception) after
// the head was sent can only abort the connection (it is reset, with a warning logged): the
// client sees a body without its final 0-length chunk. A failed or timed-out write (idle_timeout
// per chunk) ends the body too; the producer is then destroyed without another call.
using BodyProducer = std::function<boost::asio::awaitable<Status>(std::string& chunk)>;

struct RequestContext {
  const Request& request;
  Principal principal;
  std::vector<std::pair<std::string, std::string>> path_params;  // decoded `{name}` segments
  boost::urls::params_view query;                                // decoded query parameters
  // The client: the peer, or with TRUSTED_PROXIES the address a trusted proxy forwarded for.
  std::string client_address;

  // Set by a handler that streams its body: the Response it returns is then the head only
  // (status and headers; its body is ignored). HTTP/1.1 clients get Transfer-Encoding: chunked;
  // HTTP/1.0 ones the bare body, ended by closing the connection. HEAD and bodiless statuses are
  // answered with the head alone (the producer is never called).
  BodyProducer body_stream;

  // The decoded path parameter `name` ("" if the route has none of that name).
  std::string_view path_param(std::string_view name) const;
};

using Handler = std::function<boost::asio::awaitable<Response>(RequestContext&)>;

// What a route documents about itself, for the OpenAPI document (`api` builds it from the route
// table, so the two cannot drift). Schemas are JSON Schema 2020-12 objects or
// {"$ref": "#/components/schemas/<Name>"}; http only carries them.
struct ParamDoc {
  enum class In { path, query, header };
  std::string name;
  In in = In::query;
  boost::json::value schema;  // e.g. {"type": "integer", "minimum": 1}
  std::string description;
  bool required = false;    // path parameters always are
  bool repeatable = false;  // `?severity=a&severity=b` (and "a,b")
};

struct ResponseDoc {
  int status = 200;
  std::string description;
  // "" for a response without a body; several, comma-separated, when the body may be any of them
  std::string media_type = "application/json";
  boost::json::value schema;  // null: no schema given for the body
};

struct RouteDoc {
  std::string tag;          // the group the route is listed under
  std::string description;  // longer text (CommonMark) beyond the summary
  std::vector<ParamDoc> params;
  // The request body (JSON): null for routes that take none.
  boost::json::value request_schema;
  bool request_required = true;
  boost::json::object request_examples;  // name -> example body
  // The success answers (and route-specific errors); the error answers every route of its kind
  // gives (401/403 by access, 413/422 with a body or parameters, 429) are added by the builder.
  std::vector<ResponseDoc> responses;
};

struct Route {
  Verb method;
  std::string pattern;  // e.g. "/api/v2/sensors/{sensor_id}"; `{x}` matches one segment
  Access access;
  RateClass rate_class = RateClass::normal;
  Handler handler;
  std::string summary;  // one line, for docs and OpenAPI
  RouteDoc doc = {};
};

class Router {
 public:
  void add(Route route);
  struct Match {
    const Route* route = nullptr;  // null: no route for this method
    bool path_exists = false;      // some route has this path with another method (405)
    std::vector<std::pair<std::string, std::string>> params;
  };
  Match match(Verb method, std::string_view path) const;
  // "GET, POST" for the methods that have a route at `path` (the Allow header of a 405).
  std::string allowed_methods(std::string_view path) const;
  // The routes added (not the fallback).
  const std::vector<Route>& routes() const { return routes_; }

  // The route for every path that no route has with any method (a single-page app: its files
  // and its client-side routes such as /threats/abc), except paths equal to or below one of
  // `reserved` (whole segments, e.g. "/api/v2"), which keep their 404. It answers
  // `route.method` (and HEAD for GET: the server's rule); another method on such a path is a
  // 405. `route.pattern` is matched against nothing: it names the route in metrics and the access
  // log, one label for every path it answers. The handler finds the request's path as the path
  // parameter "path" (percent-decoded, as every path parameter). Not in routes(), so the OpenAPI
  // document does not list it. One at most (a second call replaces it); set it before a Server
  // uses this router.
  void set_fallback(Route route, std::vector<std::string> reserved);
  const Route* fallback() const { return fallback_ ? &*fallback_ : nullptr; }

 private:
  bool falls_back(std::string_view path) const;  // the fallback answers `path`

  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> patterns_;  // routes_[i].pattern split into segments
  std::optional<Route> fallback_;
  std::vector<std::vector<std::string>> reserved_;  // split like patterns_
};

// ---------------------------------------------------------------------------------------------
// Response helpers: the one error convention on the wire.
Response json_response(StatusCode status, const boost::json::value& body);
// {"detail": message} or, for Errc::invalid_input, {"detail": [{loc, msg, type}, ...]};
// status from http_status(); adds Retry-After for Errc::rate_limited.
Response error_response(const Error& error);
StatusCode http_status(Errc code);
// Parses a JSON request body, FastAPI-compatible: invalid JSON (including trailing data or
// nesting deeper than 64) is Errc::invalid_input with loc ["body", <offset>], type
// "json_invalid"; an empty body is Errc::invalid_input {"body"} "missing"; a Content-Type other
// than application/json (parameters such as charset allowed) is Errc::bad_request.
Result<boost::json::value> parse_json_body(const Request& request);

// An Upgrade endpoint (WebSocket): the HTTP session hands over its connection's socket and the
// request that asked for the upgrade; the handler answers (101 or a refusal) and owns the
// connection from then on. It runs on the connection's strand, in a coroutine of its own: the
// HTTP session and its buffers are gone by then (an upgraded connection may stay open for hours;
// docs/PERFORMANCE.md, issue #17). No timeout is set on the socket. Rate limits and routing do
// not apply; the handler authenticates itself. The server's graceful shutdown does not wait for
// it. The connection counts against the connection caps until the handler returns.
// `client_address` is the one RequestContext would carry.
using UpgradeHandler = std::function<boost::asio::awaitable<void>(
    boost::asio::ip::tcp::socket socket, Request request, std::string client_address)>;

// Requests one instance allowed under one rate-limit key (a client address, or "login|" and the
// address), exchanged between instances so that limits hold across them.
struct RateUsage {
  std::string key;
  int per_minute = 0;  // the limit the requests were allowed under
  int count = 0;
};

// ---------------------------------------------------------------------------------------------
class Server {
 public:
  // Keeps references to `router`, `authenticator` and `io`: they must outlive the Server and any
  // coroutine still running on `io` (let shutdown's `done` run, or stop `io`, before destroying
  // them). The destructor stops accepting.
  Server(const ServerConfig& config, const Router& router, Authenticator& authenticator,
         boost::asio::io_context& io);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (SO_REUSEADDR) and listens; returns the bound port. Errc::unavailable when the address
  // is taken, Errc::invalid_input when `host` does not resolve.
  Result<std::uint16_t> listen();
  // Upgrade requests (`Connection: upgrade`, `Upgrade: websocket`) to `path` (exact, without the
  // query) go to `handler`. Call before start().
  void add_upgrade(std::string path, UpgradeHandler handler);
  // Starts accepting on the io_context (returns at once).
  void start();
  // Graceful stop: stop accepting (new connections are refused), close idle keep-alive
  // connections at once, let in-flight requests finish and answer them with Connection: close;
  // after `grace`, close the rest. Safe to call from any thread; `done` runs on the io_context
  // once every connection is closed (or shortly after the forced close).
  void shutdown(std::chrono::milliseconds grace, std::function<void()> done);
  std::size_t open_connections() const;  // thread-safe

  // Cluster-wide rate limits (thread-safe; RateLimitSharing below is their one user). After
  // track_rate_usage(), take_rate_usage() returns what this instance allowed per key since its
  // previous call; add_rate_usage() charges what other instances allowed to this one's buckets
  // (a bucket may go below zero, down to -limit: the client then waits until the whole cluster's
  // use has refilled).
  void track_rate_usage();
  std::vector<RateUsage> take_rate_usage();
  void add_rate_usage(const std::vector<RateUsage>& usage);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Rate limits across instances. Every `period` (200 ms) each instance sends what it allowed per
// key since the previous exchange, and charges what the others allowed to its own buckets. A
// burst can pass on every instance within one period; over time the cluster allows the limit,
// not the limit per instance (docs/DECISIONS.md "Rate limits across instances").
//
// The transport is the caller's: `send` reaches every other instance (app connects bus's Redis
// text channel `honeyman:ratelimit`) and must not block; what arrives goes to receive(). A lost
// message only lets a few requests too many through, so an unreliable transport is fine.
//
// Thread-safety: receive() and exchange() may be called from any thread. Keeps a reference to
// `server`, which must outlive this object; the timer runs on `io`.
class RateLimitSharing {
 public:
  using Send = std::function<void(std::string message)>;
  RateLimitSharing(Server& server, boost::asio::io_context& io, Send send,
                   std::chrono::milliseconds period = std::chrono::milliseconds(200));
  ~RateLimitSharing();  // stop()s
  RateLimitSharing(const RateLimitSharing&) = delete;
  RateLimitSharing& operator=(const RateLimitSharing&) = delete;

  // Starts tracking the server's usage and the periodic exchange (returns at once).
  void start();
  // Sends what this instance allowed since the previous exchange, if anything (the timer's work;
  // callable directly).
  void exchange();
  // A message from another instance: its usage is charged to this instance's buckets. Malformed
  // messages, entries out of bounds and this instance's own messages are ignored.
  void receive(std::string_view message);
  // Stops the timer (no more exchanges); receive() still works. Idempotent.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace honeyman::http
