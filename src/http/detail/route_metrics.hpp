// The HTTP metrics: honeyman_http_requests_total{route,method,status} and
// honeyman_http_request_duration_seconds{route,method}, labelled with the route's pattern (never
// the path: ids and tokens are in paths) or "unmatched". Each route's series are found once and
// kept in a slot per status, so recording a request costs atomic loads and the increments.
// Also the request id (X-Request-Id) rules.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "http/http.hpp"
#include "metrics/metrics.hpp"

namespace honeyman::http::detail {

class RouteMetrics {
 public:
  // Keeps a reference to `router`; its routes must not change afterwards (a route added later is
  // recorded on the slow path). The fallback route, if any, has a slot after the routes.
  explicit RouteMetrics(const Router& router);
  // Thread-safe. `route` null: an unrouted request (404, 405, preflight, bad target).
  void record(const Route* route, Verb method, unsigned status, double seconds);

  static constexpr std::size_t kStatusSlots = 20;

 private:
  struct PerRoute {
    metrics::Histogram duration;
    std::array<std::atomic<metrics::Counter>, kStatusSlots> by_status{};
  };
  metrics::Counter slow_counter(const Route* route, Verb method, unsigned status) const;
  std::size_t slot_of_route(const Route* route) const;

  const Router& router_;
  metrics::CounterFamily requests_;
  metrics::HistogramFamily duration_;
  const Route* fallback_;  // the router's at construction
  std::size_t count_;      // slots: the routes, then the fallback's
  std::unique_ptr<PerRoute[]> routes_;
};

// The method as a label: the verb's name for the methods HTTP defines, else "other" (an unknown
// method's text is the client's choice).
std::string_view method_label(Verb method);

// A client's X-Request-Id is kept only from a trusted proxy and only when it is 1..128 of
// [A-Za-z0-9._:-] (no log or header injection); otherwise a new one: a random per-process prefix
// and a counter, "<12 url-safe characters>-<hex>".
bool acceptable_request_id(std::string_view id);
std::string new_request_id();

}  // namespace honeyman::http::detail
