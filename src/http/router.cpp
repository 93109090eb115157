// Route table and the RBAC matrix. Routes are few (~40), so matching is a linear scan over
// pre-split patterns; the request path is split into views on the stack, without allocating.
// A path no route has may go to the fallback route (set_fallback), unless it is reserved.
#include <algorithm>
#include <array>
#include <boost/beast/http/verb.hpp>
#include <cassert>

#include "http/http.hpp"

namespace honeyman::http {
namespace {

constexpr std::size_t kMaxSegments = 32;  // deeper paths match no route (404)

// The segments of a path: "/a/b/" and "/a//b" both give {"a", "b"}, so a trailing slash
// names the same resource.
struct Segments {
  std::array<std::string_view, kMaxSegments> part;
  std::size_t size = 0;
  bool too_long = false;
};

Segments split(std::string_view path) {
  Segments out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto end = std::min(path.find('/', i), path.size());
    if (out.size == kMaxSegments) {
      out.too_long = true;
      break;
    }
    out.part[out.size++] = path.substr(i, end - i);
    i = end;
  }
  return out;
}

bool is_param(std::string_view s) {
  return s.size() > 2 && s.front() == '{' && s.back() == '}';
}

// -1 when `pattern` does not match. Otherwise a score in which a literal segment outweighs
// everything to its right, so "/threats/stats" beats "/threats/{id}" and, between two
// patterns, the one whose first literal-vs-parameter difference is a literal wins.
long match_score(const std::vector<std::string>& pattern, const Segments& path) {
  if (path.too_long || pattern.size() != path.size) return -1;
  long score = 0;
  for (std::size_t i = 0; i < path.size; ++i) {
    score <<= 1;
    if (is_param(pattern[i])) continue;
    if (pattern[i] != path.part[i]) return -1;
    score |= 1;
  }
  return score;
}

}  // namespace

std::string_view to_string(Access a) {
  switch (a) {
    case Access::anyone:
      return "anyone";
    case Access::viewer:
      return "viewer";
    case Access::analyst:
      return "analyst";
    case Access::admin:
      return "admin";
    case Access::sensor:
      return "sensor";
    case Access::sensor_or_analyst:
      return "sensor_or_analyst";
  }
  return "unknown";
}

bool allows(Access access, const Principal& p) {
  const bool user = p.kind == Principal::Kind::user;
  const bool sensor = p.kind == Principal::Kind::sensor;
  const bool analyst = user && (p.grants == Access::analyst || p.grants == Access::admin);
  switch (access) {
    case Access::anyone:
      return true;
    case Access::viewer:
      return user;
    case Access::analyst:
      return analyst;
    case Access::admin:
      return user && p.grants == Access::admin;
    case Access::sensor:
      return sensor;
    case Access::sensor_or_analyst:
      return sensor || analyst;
  }
  return false;
}

std::string_view RequestContext::path_param(std::string_view name) const {
  for (const auto& [key, value] : path_params)
    if (key == name) return value;
  return {};
}

void Router::add(Route route) {
  auto parts = split(route.pattern);
  assert(!parts.too_long);
  // Exempt routes are never authenticated: anything but a public one would refuse everyone.
  assert(route.rate_class != RateClass::exempt || route.access == Access::anyone);
  patterns_.emplace_back(parts.part.begin(), parts.part.begin() + parts.size);
  routes_.push_back(std::move(route));
}

void Router::set_fallback(Route route, std::vector<std::string> reserved) {
  assert(route.rate_class != RateClass::exempt || route.access == Access::anyone);
  reserved_.clear();
  for (const auto& prefix : reserved) {
    auto parts = split(prefix);
    assert(!parts.too_long);
    reserved_.emplace_back(parts.part.begin(), parts.part.begin() + parts.size);
  }
  fallback_ = std::move(route);
}

bool Router::falls_back(std::string_view path) const {
  if (!fallback_) return false;
  const auto parts = split(path);
  for (const auto& prefix : reserved_) {
    if (prefix.size() > parts.size) continue;
    if (std::equal(prefix.begin(), prefix.end(), parts.part.begin())) return false;
  }
  return true;
}

Router::Match Router::match(Verb method, std::string_view path) const {
  const auto parts = split(path);
  Match out;
  long best = -1;
  std::size_t best_index = 0;
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    long score = match_score(patterns_[r], parts);
    if (score < 0) continue;
    if (routes_[r].method != method) {
      out.path_exists = true;
    } else if (score > best) {
      best = score;
      best_index = r;
    }
  }
  if (best < 0 && !out.path_exists && falls_back(path)) {
    if (fallback_->method != method) {
      out.path_exists = true;
    } else {
      out.route = &*fallback_;
      out.params.emplace_back("path", path);
    }
  }
  if (best < 0) return out;
  out.route = &routes_[best_index];
  const auto& pattern = patterns_[best_index];
  for (std::size_t i = 0; i < parts.size; ++i)
    if (is_param(pattern[i]))
      out.params.emplace_back(pattern[i].substr(1, pattern[i].size() - 2), parts.part[i]);
  return out;
}

std::string Router::allowed_methods(std::string_view path) const {
  const auto parts = split(path);
  std::vector<Verb> seen;
  std::string out;
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    auto method = routes_[r].method;
    if (match_score(patterns_[r], parts) < 0 ||
        std::find(seen.begin(), seen.end(), method) != seen.end())
      continue;
    seen.push_back(method);
    if (!out.empty()) out += ", ";
    out += boost::beast::http::to_string(method);
  }
  if (out.empty() && falls_back(path)) out = boost::beast::http::to_string(fallback_->method);
  return out;
}

}  // namespace honeyman::http
