#include "http/detail/request_processor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

namespace honeyman::http::detail {
namespace asio = boost::asio;
using field = boost::beast::http::field;

namespace {

Response fail(Errc code, std::string message) {
  return error_response(make_error(code, std::move(message)));
}

Response rate_limited(std::string message, int retry_after) {
  auto error = make_error(Errc::rate_limited, std::move(message));
  error.retry_after_seconds = retry_after;
  return error_response(error);
}

bool origin_allowed(const ServerConfig& config, std::string_view origin) {
  for (const auto& allowed : config.cors_origins)
    if (allowed == "*" || allowed == origin) return true;
  return false;
}

bool has_no_body(StatusCode status) {
  auto code = static_cast<unsigned>(status);
  return code < 200 || status == StatusCode::no_content || status == StatusCode::not_modified;
}

// A streamed body's length is unknown: chunked on HTTP/1.1; HTTP/1.0 has no chunking, so the
// end of the body is the end of the connection (the session closes it).
void frame_stream(const Request& req, Response& res) {
  res.body().clear();
  res.erase(field::content_length);
  if (req.version() >= 11) res.set(field::transfer_encoding, "chunked");
}

// Content-Length always matches what is sent; a HEAD answer keeps the GET's length but no body.
void frame_payload(const Request& req, Response& res) {
  if (has_no_body(res.result())) {
    res.body().clear();
    res.erase(field::content_length);
    return;
  }
  res.prepare_payload();
  if (req.method() == Verb::head) res.body().clear();
}

// Path parameters are matched percent-encoded; handlers get them decoded.
bool decode_params(std::vector<std::pair<std::string, std::string>>& params) {
  for (auto& [name, value] : params) {
    auto encoded = boost::urls::make_pct_string_view(value);
    if (!encoded) return false;
    value = encoded->decode();
  }
  return true;
}

void log_exception(const Request& request, const Route& route) {
  auto method = std::string_view(request.method_string());
  try {
    throw;
  } catch (const std::exception& e) {
    spdlog::error("{} {}: unhandled exception: {}", method, route.pattern, e.what());
  } catch (...) {
    spdlog::error("{} {}: unhandled non-standard exception", method, route.pattern);
  }
}

// The access log line: the route pattern, never the target (paths and queries can carry
// secrets: the onboarding token is a path segment, the WebSocket token a query parameter).
void log_request(Verb method, unsigned status, std::uint64_t bytes, const Client& client,
                 std::string_view route, std::string_view request_id, std::string_view principal,
                 double seconds) {
  log_event(status >= 500 ? LogLevel::warn : LogLevel::info, "request",
            {{"request_id", request_id},
             {"method", method_label(method)},
             {"route", route},
             {"status", static_cast<std::int64_t>(status)},
             {"bytes", static_cast<std::int64_t>(bytes)},
             {"duration_ms", seconds * 1000.0},
             {"principal", principal},
             {"client", std::string_view(client.address)}});
}

// The request's id: a trusted proxy's well-formed X-Request-Id, else a new one.
std::string request_id_of(const Request& request, const Client& client) {
  if (client.via_trusted_proxy) {
    auto given = request["X-Request-Id"];
    if (acceptable_request_id(given)) return std::string(given);
  }
  return new_request_id();
}

bool carries_credential(const Request& request) {
  return !request[field::authorization].empty() || !request["X-API-Key"].empty();
}

}  // namespace

RequestProcessor::RequestProcessor(const ServerConfig& config, const Router& router,
                                   Authenticator& authenticator,
                                   std::unique_ptr<RateLimiter> limiter)
    : config_(config),
      router_(router),
      authenticator_(authenticator),
      limiter_(std::move(limiter)),
      metrics_(std::make_unique<RouteMetrics>(router)) {}

// One coroutine on purpose: Asio recycles only two coroutine frames per thread, so splitting this
// into nested awaitables would cost a malloc/free pair per extra level on every request.
asio::awaitable<Answer> RequestProcessor::handle(const Request& request, const Client& client) {
  Outcome outcome;
  BodyProducer stream;
  outcome.started = std::chrono::steady_clock::now();
  auto routed = route(request, client);
  outcome.route = routed.match.route;
  auto response = std::move(routed.response);
  if (!response) {
    const Route& route = *routed.match.route;
    // Exempt routes (probes) ignore credentials: no lookup to pay for, no answer to learn from.
    Result<Principal> principal = Principal{};
    if (route.rate_class != RateClass::exempt) {
      response = credential_budget_spent(request, client);
      if (!response) {
        principal = co_await authenticator_.authenticate(request);
        if (principal && config_.access_log) outcome.principal = principal->name;
        if (!principal && principal.error().code == Errc::unauthorized)
          charge_failed_credential(client);
      }
    }
    if (!response) response = authorize(route, principal);
    if (!response && !decode_params(routed.match.params))
      response = fail(Errc::bad_request, "Malformed path");
    if (!response) {
      RequestContext ctx{request,
                         std::move(*principal),
                         std::move(routed.match.params),
                         routed.target.params(),
                         client.address,
                         {}};
      try {
        response = co_await route.handler(ctx);
        stream = std::move(ctx.body_stream);
      } catch (...) {
        // A handler bug must not take the connection (or the process) down, and what() may
        // hold internals: the client only learns that it failed.
        log_exception(request, route);
        response = fail(Errc::internal, "Internal server error");
      }
    }
  }
  Answer answer{std::move(*response), std::move(stream), {}};
  finish(request, answer, client, outcome);
  co_return answer;
}

// Everything decided before authentication: CORS preflight, target syntax, 404/405, rate limit.
RequestProcessor::Routed RequestProcessor::route(const Request& request, const Client& client) {
  Routed out;
  if ((out.response = preflight(request))) return out;
  auto target = boost::urls::parse_origin_form(request.target());
  if (!target) {
    out.response = fail(Errc::bad_request, "Malformed request target");
    return out;
  }
  out.target = *target;
  out.match = route_for(request.method(), target->encoded_path());
  if (!out.match.route)
    out.response = no_route(out.match, target->encoded_path());
  else
    out.response = rate_limit(*out.match.route, client);
  return out;
}

void RequestProcessor::finish(const Request& request, Answer& answer, const Client& client,
                              const Outcome& outcome) const {
  auto& response = answer.response;
  auto id = request_id_of(request, client);
  response.set("X-Request-Id", id);
  response.version(request.version());
  add_cors(request, response);
  if (answer.stream && has_no_body(response.result())) answer.stream = nullptr;
  if (answer.stream && request.method() == Verb::head) {
    frame_stream(request, response);  // the GET's framing, without running the producer
    answer.stream = nullptr;
    record(request.method(), response.result_int(), 0, client, outcome, id);
    return;
  }
  if (!answer.stream) {
    frame_payload(request, response);
    record(request.method(), response.result_int(), response.body().size(), client, outcome, id);
    return;
  }
  frame_stream(request, response);
  // Logged when the body has been sent: its duration and bytes are the export's, not the head's.
  // The status is the one on the wire; a truncated body is the session's warning.
  answer.finished = [this, method = request.method(), status = response.result_int(), client,
                     outcome, id](std::uint64_t bytes) {
    record(method, status, bytes, client, outcome, id);
  };
}

void RequestProcessor::record(Verb method, unsigned status, std::uint64_t bytes,
                              const Client& client, const Outcome& outcome,
                              std::string_view request_id) const {
  auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - outcome.started).count();
  metrics_->record(outcome.route, method, status, seconds);
  if (config_.access_log)
    log_request(method, status, bytes, client,
                outcome.route ? std::string_view(outcome.route->pattern) : "unmatched", request_id,
                outcome.principal, seconds);
}

// HEAD is answered by the GET route when there is no HEAD route of its own.
Router::Match RequestProcessor::route_for(Verb method, std::string_view path) const {
  auto match = router_.match(method, path);
  if (match.route || method != Verb::head) return match;
  auto get = router_.match(Verb::get, path);
  get.path_exists = get.path_exists || match.path_exists;
  return get;
}

Response RequestProcessor::no_route(const Router::Match& match, std::string_view path) const {
  if (!match.path_exists) return fail(Errc::not_found, "Not Found");
  auto res = json_response(StatusCode::method_not_allowed,
                           boost::json::object{{"detail", "Method Not Allowed"}});
  res.set(field::allow, router_.allowed_methods(path));
  return res;
}

std::optional<Response> RequestProcessor::authorize(const Route& route,
                                                    const Result<Principal>& principal) {
  if (!principal) return error_response(principal.error());
  if (allows(route.access, *principal)) return std::nullopt;
  if (principal->kind == Principal::Kind::none)
    return fail(Errc::unauthorized, "Not authenticated");
  return fail(Errc::forbidden, "Insufficient permissions");
}

std::optional<Response> RequestProcessor::rate_limit(const Route& route, const Client& client) {
  if (!config_.rate_limit_enabled || route.rate_class == RateClass::exempt) return std::nullopt;
  const bool login = route.rate_class == RateClass::login;
  const int limit = login ? config_.login_rate_limit_per_minute : config_.rate_limit_per_minute;
  // Login attempts have their own, smaller bucket: failed logins must not eat the API budget.
  auto retry =
      login ? limiter_->check("login|" + client.key, limit) : limiter_->check(client.key, limit);
  if (!retry) return std::nullopt;
  return rate_limited("Rate limit exceeded: " + std::to_string(limit) + " requests per minute",
                      *retry);
}

std::optional<Response> RequestProcessor::credential_budget_spent(const Request& request,
                                                                  const Client& client) {
  if (!config_.rate_limit_enabled || !carries_credential(request)) return std::nullopt;
  const int limit = config_.login_rate_limit_per_minute;
  auto retry = limiter_->peek("login|" + client.key, limit);
  if (!retry) return std::nullopt;
  return rate_limited("Too many failed credential checks: " + std::to_string(limit) + " per minute",
                      *retry);
}

void RequestProcessor::charge_failed_credential(const Client& client) {
  if (config_.rate_limit_enabled)
    limiter_->check("login|" + client.key, config_.login_rate_limit_per_minute);
}

std::optional<Response> RequestProcessor::preflight(const Request& request) const {
  if (request.method() != Verb::options) return std::nullopt;
  auto origin = request[field::origin];
  if (origin.empty() || request[field::access_control_request_method].empty()) return std::nullopt;
  if (!origin_allowed(config_, origin)) return fail(Errc::bad_request, "Disallowed CORS origin");
  Response res{StatusCode::no_content, 11};
  res.set(field::access_control_allow_methods, "GET, POST, PUT, DELETE, OPTIONS");
  res.set(field::access_control_allow_headers, "Authorization, Content-Type, X-API-Key");
  res.set(field::access_control_max_age, "600");
  return res;
}

// A listed origin is echoed with credentials allowed; "*" allows any origin but, as browsers
// require, without credentials. Other origins get no CORS headers and the browser blocks them.
void RequestProcessor::add_cors(const Request& request, Response& response) const {
  auto origin = request[field::origin];
  if (origin.empty()) return;
  const auto& list = config_.cors_origins;
  if (std::find(list.begin(), list.end(), origin) != list.end()) {
    response.set(field::access_control_allow_origin, origin);
    response.set(field::access_control_allow_credentials, "true");
    // Added to the handler's own Vary (e.g. Accept-Encoding of a precompressed file).
    auto vary = response[field::vary];
    response.set(field::vary,
                 vary.empty() ? std::string("Origin") : std::string(vary) + ", Origin");
  } else if (std::find(list.begin(), list.end(), "*") != list.end()) {
    response.set(field::access_control_allow_origin, "*");
  } else {
    return;
  }
  response.set(field::access_control_expose_headers, "Retry-After, X-Request-Id");
}

}  // namespace honeyman::http::detail
