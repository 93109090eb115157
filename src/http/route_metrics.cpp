#include "http/detail/route_metrics.hpp"

#include <charconv>

namespace honeyman::http::detail {
namespace {

// The statuses this server answers; any other is counted on the slow path.
constexpr std::array<unsigned, RouteMetrics::kStatusSlots> kStatuses = {
    101, 200, 201, 204, 304, 400, 401, 403, 404, 405,
    409, 413, 422, 429, 431, 500, 501, 502, 503, 504};

std::size_t slot_of(unsigned status) {
  for (std::size_t i = 0; i < kStatuses.size(); ++i)
    if (kStatuses[i] == status) return i;
  return kStatuses.size();
}

}  // namespace

std::string_view method_label(Verb method) {
  switch (method) {
    case Verb::get:
    case Verb::head:
    case Verb::post:
    case Verb::put:
    case Verb::delete_:
    case Verb::options:
    case Verb::patch:
    case Verb::trace:
    case Verb::connect:
      return boost::beast::http::to_string(method);
    default:
      return "other";
  }
}

RouteMetrics::RouteMetrics(const Router& router)
    : router_(router),
      requests_(metrics::counter("honeyman_http_requests_total",
                                 "HTTP requests answered, by route pattern, method and status.")),
      duration_(metrics::histogram(
          "honeyman_http_request_duration_seconds",
          "Time from a request read to its response ready, by route pattern and method.",
          metrics::latency_buckets())),
      fallback_(router.fallback()),
      count_(router.routes().size() + (fallback_ ? 1 : 0)),
      routes_(std::make_unique<PerRoute[]>(count_)) {
  for (std::size_t i = 0; i < count_; ++i) {
    const auto& r = i < router.routes().size() ? router.routes()[i] : *fallback_;
    routes_[i].duration =
        duration_.with({{"route", r.pattern}, {"method", std::string(method_label(r.method))}});
  }
}

// The route's slot: its place in routes(), the fallback's after them; count_ when it has none.
std::size_t RouteMetrics::slot_of_route(const Route* route) const {
  if (!route) return count_;
  if (fallback_ && route == fallback_) return count_ - 1;
  const auto& routes = router_.routes();
  if (routes.empty()) return count_;
  auto offset = route - routes.data();
  if (offset < 0 || static_cast<std::size_t>(offset) >= routes.size()) return count_;
  return static_cast<std::size_t>(offset);
}

metrics::Counter RouteMetrics::slow_counter(const Route* route, Verb method,
                                            unsigned status) const {
  return requests_.with({{"route", route ? route->pattern : std::string("unmatched")},
                         {"method", std::string(method_label(method))},
                         {"status", std::to_string(status)}});
}

void RouteMetrics::record(const Route* route, Verb method, unsigned status, double seconds) {
  if (!metrics::enabled()) return;
  std::size_t index = slot_of_route(route);
  // A HEAD answered by the GET route counts under HEAD: slow path, like unrouted requests.
  if (index == count_ || method != route->method) {
    slow_counter(route, method, status).inc();
    duration_
        .with({{"route", route ? route->pattern : std::string("unmatched")},
               {"method", std::string(method_label(method))}})
        .observe(seconds);
    return;
  }
  auto& per = routes_[index];
  per.duration.observe(seconds);
  auto slot = slot_of(status);
  if (slot == kStatusSlots) return slow_counter(route, method, status).inc();
  auto counter = per.by_status[slot].load(std::memory_order_acquire);
  if (!counter) {
    counter = slow_counter(route, method, status);  // the same series if two threads race here
    per.by_status[slot].store(counter, std::memory_order_release);
  }
  counter.inc();
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string new_request_id() {
  static const std::string prefix = random_token(9) + "-";  // 12 characters
  static std::atomic<std::uint64_t> next{1};
  auto n = next.fetch_add(1, std::memory_order_relaxed);
  char digits[17];
  auto end = std::to_chars(digits, digits + sizeof digits, n, 16).ptr;
  std::string id;
  id.reserve(prefix.size() + static_cast<std::size_t>(end - digits));
  id += prefix;
  id.append(digits, end);
  return id;
}

}  // namespace honeyman::http::detail
