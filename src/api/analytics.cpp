// GET /analytics/{overview,trends,top-threats,top-sensors,map,velocity} (SPEC §2 Analytics).
// The store answers exact counts from rollups; this file picks windows, zero-fills trend buckets
// and derives rates, percentages and the velocity trend.
#include <algorithm>
#include <cmath>

#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/response_cache.hpp"
#include "api/detail/routes.hpp"

namespace honeyman::api::detail {
namespace {

using namespace std::chrono_literals;
using domain::Severity;
using store::TrendBucket;

// At most this many trend buckets per answer (e.g. 208 days of hourly points).
constexpr std::int64_t kMaxTrendPoints = 5000;
constexpr const char* kTooManyBuckets =
    "The window holds more than 5000 buckets; use a longer period or a shorter window";
// Top lists and the map default to the last day, like the overview.
constexpr auto kDefaultWindow = 24h;

double round_to(double v, double unit) {
  return std::round(v / unit) * unit;
}

// start_time / end_time (end defaults to now, start to end - `length`); start after end is 422.
store::TimeWindow read_window(QueryReader& q, Timestamp now, std::chrono::microseconds length) {
  auto start = q.timestamp("start_time");
  auto end = q.timestamp("end_time");
  store::TimeWindow w{start.value_or(Timestamp{}), end.value_or(now)};
  if (!start) w.start = w.end - length;
  if (w.start > w.end) q.fail("end_time", "end_time must not be before start_time", "value_error");
  return w;
}

json::object severity_json(const store::SeverityCounts& c) {
  json::object out;
  for (auto s : domain::kAllSeverities) out[domain::to_string(s)] = c[s];
  return out;
}

// The most frequent severity; ties go to the graver one.
Severity dominant(const store::SeverityCounts& c) {
  Severity best = Severity::critical;
  for (auto s : domain::kAllSeverities)
    if (c[s] > c[best]) best = s;
  return best;
}

asio::awaitable<Response> overview(RequestContext&, Services& s) {
  auto now = s.clock.now();
  auto online_since = now - 3 * s.config.heartbeat_interval;
  auto o = co_await run_blocking(s.pool, [&] { return s.store.fleet_overview(now, online_since); });
  if (!o) co_return http::error_response(o.error());
  auto day = o->last_24h.total();
  co_return ok(
      json::object{{"total_sensors", o->total_sensors},
                   {"active_sensors", o->active_sensors},
                   {"online_sensors", o->online_sensors},
                   {"total_threats", o->total_threats},
                   {"threats_last_24h", day},
                   {"threats_last_7d", o->last_7d},
                   {"critical_threats", o->last_24h[Severity::critical]},
                   {"high_threats", o->last_24h[Severity::high]},
                   {"threat_velocity", static_cast<double>(o->last_hour)},
                   {"avg_threat_score", day == 0 ? 0.0 : round_to(o->score_sum_24h / day, 0.001)}});
}

struct Period {
  TrendBucket bucket;
  std::string_view name;
  std::chrono::microseconds default_window;
};

std::optional<Period> parse_period(std::string_view p) {
  if (p == "hourly" || p == "hour") return Period{TrendBucket::hour, "hourly", 24h};
  if (p == "daily" || p == "day") return Period{TrendBucket::day, "daily", 30 * 24h};
  if (p == "weekly" || p == "week") return Period{TrendBucket::week, "weekly", 90 * 24h};
  return std::nullopt;
}

// One point per bucket from the first bucket touching the window to the last, zeros included.
json::array zero_filled(const std::vector<store::TrendPoint>& points, const store::TrendQuery& q) {
  json::array out;
  auto length = store::trend_bucket_length(q.bucket);
  auto it = points.begin();
  for (auto b = store::trend_bucket_start(q.bucket, q.window.start); b < q.window.end;
       b += length) {
    store::SeverityCounts counts;
    if (it != points.end() && it->bucket_start == b) counts = (it++)->counts;
    out.push_back(json::object{{"timestamp", format_timestamp(b)},
                               {"count", counts.total()},
                               {"severity", severity_json(counts)}});
  }
  return out;
}

asio::awaitable<Response> trends(RequestContext& ctx, Services& s) {
  QueryReader q(ctx.query);
  auto period = parse_period(q.text("period").value_or("hourly"));
  if (!period) {
    q.fail("period", "Input should be 'hourly', 'daily' or 'weekly' (or 'hour', 'day', 'week')",
           "enum");
    period = parse_period("hourly");
  }
  store::TrendQuery query;
  query.bucket = period->bucket;
  query.window = read_window(q, s.clock.now(), period->default_window);
  query.sensor_id = q.text("sensor_id");
  if (query.sensor_id && !domain::is_valid_sensor_id(*query.sensor_id))
    q.fail("sensor_id", "Sensor ids are 1-64 characters of A-Z a-z 0-9 . _ -",
           "string_pattern_mismatch");
  auto span = query.window.end - store::trend_bucket_start(query.bucket, query.window.start);
  if (span / store::trend_bucket_length(query.bucket) > kMaxTrendPoints)
    q.fail("start_time", kTooManyBuckets, "value_error");
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  auto points = co_await run_blocking(s.pool, [&] { return s.store.threat_trend(query); });
  if (!points) co_return http::error_response(points.error());
  co_return ok(json::object{{"period", period->name},
                            {"start_time", format_timestamp(query.window.start)},
                            {"end_time", format_timestamp(query.window.end)},
                            {"data_points", zero_filled(*points, query)}});
}

asio::awaitable<Response> top_threats(RequestContext& ctx, Services& s) {
  QueryReader q(ctx.query);
  int limit = q.integer("limit", 10, 1, 50);
  auto window = read_window(q, s.clock.now(), kDefaultWindow);
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  auto ranking =
      co_await run_blocking(s.pool, [&] { return s.store.top_threat_types(window, limit); });
  if (!ranking) co_return http::error_response(ranking.error());
  json::array out;
  for (const auto& t : ranking->top) {
    auto n = t.counts.total();
    out.push_back(json::object{
        {"threat_type", t.threat_type},
        {"count", n},
        {"percentage", round_to(100.0 * static_cast<double>(n) /
                                    static_cast<double>(std::max<std::int64_t>(ranking->total, 1)),
                                0.01)},
        {"severity", domain::to_string(dominant(t.counts))}});
  }
  co_return ok(json::value(std::move(out)));
}

json::value optional_json(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

asio::awaitable<Response> top_sensors(RequestContext& ctx, Services& s) {
  QueryReader q(ctx.query);
  int limit = q.integer("limit", 10, 1, 50);
  auto window = read_window(q, s.clock.now(), kDefaultWindow);
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  const std::vector<Severity> all;
  auto counts =
      co_await run_blocking(s.pool, [&] { return s.store.sensor_threat_counts(window, all); });
  if (!counts) co_return http::error_response(counts.error());
  json::array out;
  for (const auto& c : *counts) {
    if (out.size() == static_cast<std::size_t>(limit)) break;
    out.push_back(json::object{{"sensor_id", c.sensor_id},
                               {"sensor_name", optional_json(c.name)},
                               {"threat_count", c.counts.total()},
                               {"city", optional_json(c.city)},
                               {"country", optional_json(c.country)}});
  }
  co_return ok(json::value(std::move(out)));
}

asio::awaitable<Response> threat_map(RequestContext& ctx, Services& s) {
  QueryReader q(ctx.query);
  auto window = read_window(q, s.clock.now(), kDefaultWindow);
  std::vector<Severity> severities;
  for (const auto& name : q.list("severity")) {
    if (auto severity = domain::parse_severity(name))
      severities.push_back(*severity);
    else
      q.fail("severity", "Input should be 'critical', 'high', 'medium', 'low' or 'info'", "enum");
  }
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  auto counts = co_await run_blocking(
      s.pool, [&] { return s.store.sensor_threat_counts(window, severities); });
  if (!counts) co_return http::error_response(counts.error());
  json::array out;
  for (const auto& c : *counts) {
    if (!c.latitude || !c.longitude) continue;  // nowhere to put it on a map
    out.push_back(json::object{{"sensor_id", c.sensor_id},
                               {"latitude", *c.latitude},
                               {"longitude", *c.longitude},
                               {"city", optional_json(c.city)},
                               {"country", optional_json(c.country)},
                               {"threat_count", c.counts.total()},
                               {"severity_breakdown", severity_json(c.counts)}});
  }
  co_return ok(json::value(std::move(out)));
}

// increasing / decreasing when the last hour is 20 % above / below the 24 h hourly average.
std::string_view velocity_trend(double current, double average) {
  if (current > average * 1.2) return "increasing";
  if (current < average * 0.8) return "decreasing";
  return "stable";
}

asio::awaitable<Response> velocity(RequestContext&, Services& s) {
  auto now = s.clock.now();
  auto online_since = now - 3 * s.config.heartbeat_interval;
  auto o = co_await run_blocking(s.pool, [&] { return s.store.fleet_overview(now, online_since); });
  if (!o) co_return http::error_response(o.error());
  store::TrendQuery hours;
  hours.bucket = TrendBucket::hour;
  hours.window = {now - 7 * 24h, now + 1us};
  auto points = co_await run_blocking(s.pool, [&] { return s.store.threat_trend(hours); });
  if (!points) co_return http::error_response(points.error());
  const store::TrendPoint* peak = nullptr;  // the busiest clock hour; the latest on ties
  for (const auto& p : *points)
    if (peak == nullptr || p.counts.total() >= peak->counts.total()) peak = &p;
  auto current = static_cast<double>(o->last_hour);
  auto avg_24h = static_cast<double>(o->last_24h.total()) / 24.0;
  auto avg_7d = static_cast<double>(o->last_7d) / (7 * 24.0);
  json::object out{{"current_rate", current},
                   {"avg_rate_24h", round_to(avg_24h, 0.01)},
                   {"avg_rate_7d", round_to(avg_7d, 0.01)},
                   {"peak_rate", peak ? static_cast<double>(peak->counts.total()) : 0.0},
                   {"trend", velocity_trend(current, avg_24h)}};
  out["peak_timestamp"] =
      peak ? json::value(format_timestamp(peak->bucket_start)) : json::value(nullptr);
  co_return ok(json::value(std::move(out)));
}

}  // namespace

void add_analytics_routes(http::Router& router, Services& s) {
  const auto base = s.config.prefix + "/analytics";
  using http::Access;
  using http::RateClass;
  using http::Verb;
  // Dashboards poll these every few seconds; one answer per second per instance is plenty.
  auto cache = std::make_shared<ResponseCache>(s.config.analytics_cache_ttl);
  auto bind = [&s, cache](CachedHandler fn) {
    return [&s, cache, fn](RequestContext& c) { return cached(c, s, *cache, fn); };
  };
  json::value time = {{"type", "string"}, {"format", "date-time"}};
  auto window = [&] {
    return std::vector<http::ParamDoc>{
        query_param("start_time", time, "Inclusive (RFC 3339; default: end_time minus the window)"),
        query_param("end_time", time, "Exclusive (default: now)")};
  };
  auto limit = query_param("limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 50}},
                           "How many (default 10)");
  auto doc = [](std::string text, json::value schema, std::vector<http::ParamDoc> params = {}) {
    auto d = route_doc("Analytics", {json_answer(200, std::move(text), std::move(schema))},
                       std::move(params));
    d.description = "Answers are reused per instance and URL for ANALYTICS_CACHE_MS (1 s).";
    return d;
  };
  auto trend_params = window();
  trend_params.insert(trend_params.begin(),
                      query_param("period",
                                  {{"type", "string"},
                                   {"enum", {"hourly", "daily", "weekly", "hour", "day", "week"}},
                                   {"default", "hourly"}},
                                  "Bucket size (default windows: 24 h, 30 d, 90 d)"));
  trend_params.push_back(query_param("sensor_id", schema_ref("SensorId"), "One sensor only"));
  auto top_params = window();
  top_params.insert(top_params.begin(), limit);
  auto map_params = window();
  map_params.push_back(query_param("severity", schema_ref("Severity"), "Severities", true));
  router.add({Verb::get, base + "/overview", Access::viewer, RateClass::normal, bind(overview),
              "Fleet overview: sensors, threat counts, velocity, average score",
              doc("The figures", schema_ref("Overview"))});
  router.add({Verb::get, base + "/trends", Access::viewer, RateClass::normal, bind(trends),
              "Threat counts per hour, day or week, zero-filled",
              doc("Buckets from start_time to end_time", schema_ref("Trends"), trend_params)});
  router.add({Verb::get, base + "/top-threats", Access::viewer, RateClass::normal,
              bind(top_threats), "Most frequent threat types in a window",
              doc("By count, then name", array_of(schema_ref("TopThreat")), top_params)});
  router.add({Verb::get, base + "/top-sensors", Access::viewer, RateClass::normal,
              bind(top_sensors), "Sensors with the most threats in a window",
              doc("By count, then sensor id", array_of(schema_ref("TopSensor")), top_params)});
  router.add({Verb::get, base + "/map", Access::viewer, RateClass::normal, bind(threat_map),
              "Threat counts per located sensor with a severity breakdown",
              doc("Located sensors with threats, by count", array_of(schema_ref("MapPoint")),
                  map_params)});
  router.add({Verb::get, base + "/velocity", Access::viewer, RateClass::normal, bind(velocity),
              "Threats per hour now, on average, at the peak, and the trend",
              doc("Rates in threats per hour", schema_ref("Velocity"))});
}

}  // namespace honeyman::api::detail
